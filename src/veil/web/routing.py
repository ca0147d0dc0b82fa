"""The UI's route class: errors become HTML pages, a missing login becomes a redirect.

The API renders VeilError as SPEC's JSON error shape; a person in a browser should see a page
instead, with the same status code and the same message from the service. That holds for
unexpected errors (500) and for the router's own answers on a UI address too (a GET of a
form's POST-only URL: 405), see `install_web_error_pages`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ClassVar
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from veil.errors import VeilError
from veil.web.deps import LoginRequired, SessionEnded
from veil.web.flash import Toast, redirect_with_toast
from veil.web.templating import Page, render

log = logging.getLogger("veil.web")

_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Use the page's button",
    409: "Conflict",
    410: "Gone",
    422: "Check the form",
    429: "Too many requests",
}


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
    toast = Toast(
        "info", "Your session ended, so that was not done. Sign in to go back to the page."
    )
    return redirect_with_toast(request, f"/login?next={quote(back, safe='/')}", toast)


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
            except Exception:
                # Logged with its type only (veil.logging); the person gets a page, not JSON.
                log.exception("unexpected error on a UI route")
                return error_page(request, 500, _UNEXPECTED)

        return web_handler


_UNEXPECTED = "Something went wrong on our side; it has been logged. Please try again."
_POST_ONLY = (
    "This address only takes a form that is sent from its page. Go back and use the button."
)
HttpHandler = Callable[[Request, Any], Response | Awaitable[Response]]


def install_web_error_pages(app: FastAPI, ui: APIRouter) -> None:
    """The router's HTTP errors (a 405 above all) as HTML pages on the addresses of `ui`, the
    UI's router; elsewhere the JSON handler installed before answers as it did."""
    json_handler: HttpHandler = app.exception_handlers[StarletteHTTPException]

    def is_ui_address(request: Request) -> bool:
        return any(route.matches(request.scope)[0] != Match.NONE for route in ui.routes)

    async def http_error(request: Request, exc: Exception) -> Response:
        if not isinstance(exc, StarletteHTTPException) or not is_ui_address(request):
            answer = json_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer
        status = exc.status_code
        message = _POST_ONLY if status == 405 else str(exc.detail or _TITLES.get(status, ""))
        response = error_page(request, status, message)
        response.headers.update(exc.headers or {})
        return response

    app.add_exception_handler(StarletteHTTPException, http_error)
