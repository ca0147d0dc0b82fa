"""The UI's route class: errors become HTML pages, a missing login becomes a redirect.

The API renders VeilError as SPEC's JSON error shape; a person in a browser should see a page
instead, with the same status code and the same message from the service.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from veil.errors import VeilError
from veil.web.deps import LoginRequired, SessionEnded, runtime_of
from veil.web.flash import Toast, set_flash
from veil.web.templating import Page, render

_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    422: "Check the form",
    429: "Too many requests",
}


@dataclass(frozen=True, kw_only=True)
class ErrorPage(Page):
    template: ClassVar[str] = "error.html"
    status: int
    title: str
    message: str


def error_page(request: Request, status: int, message: str) -> Response:
    title = _TITLES.get(status, "Something went wrong")
    page = ErrorPage(status=status, title=title, message=message)
    return render(request, page, status_code=status)


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


def session_ended_redirect(request: Request, back: str) -> RedirectResponse:
    response = RedirectResponse(f"/login?next={quote(back, safe='/')}", status_code=303)
    toast = Toast(
        "info", "Your session ended, so that was not done. Sign in to go back to the page."
    )
    set_flash(request, response, runtime_of(request), toast)
    return response


class WebRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def web_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SessionEnded as ended:
                return session_ended_redirect(request, ended.back)
            except LoginRequired:
                return login_redirect(request)
            except VeilError as exc:
                return error_page(request, exc.status, exc.message)
            except RequestValidationError:
                return error_page(request, 400, "The form was incomplete. Go back and try again.")

        return web_handler
