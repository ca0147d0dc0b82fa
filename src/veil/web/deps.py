"""Typed dependencies of the UI: the signed-in user, CSRF-checked actions, admin-only actions.

`CurrentUser` for pages (no login → redirect to the login page), `FormAction` for every POST
(CSRF token from the form field `csrf_token` or the `X-CSRF-Token` header, compared in
constant time; missing or wrong → 403), `AdminAction` on top for what only admins may do.
The role check is on the server for every admin route: hiding a button is not the guard.
A route that also needs the request and its transaction takes the `…Context` of its check
(`AdminFormContext` for an admin's form, …): the three together, as a `WebContext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from veil.auth.deps import SessionDep
from veil.auth.deps import runtime_of as runtime_of  # the views take it from here
from veil.auth.limits import check_compliance_rate
from veil.errors import Forbidden
from veil.listing import CursorQuery as CursorQuery  # the UI's pagers take it from here
from veil.web.security import tokens_match
from veil.web.sessions import SignedIn, resolve_session

SESSION_COOKIE = "veil_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """No valid session: the page redirects to the login form (POSTs get a 403 instead)."""


class SessionEnded(LoginRequired):
    """A form posted after its session ended (expired or signed out): the action is not done;
    the browser goes to the login form, then back to `back`, the page the form was on."""

    def __init__(self, back: str) -> None:
        super().__init__(back)
        self.back = back


def page_of_referer(request: Request) -> str:
    """The path (and query) of the page a form was posted from, if it is on this site."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or not referer.path.startswith("/"):
        return "/profiles"
    return referer.path + (f"?{referer.query}" if referer.query else "")


class CsrfFailed(Forbidden):
    message = "This form has expired or did not come from Veil. Reload the page and try again."


def get_signed_in(request: Request, session: SessionDep) -> SignedIn:
    signed_in = resolve_session(session, token=request.cookies.get(SESSION_COOKIE))
    if signed_in is None:
        raise LoginRequired()
    request.state.web = signed_in
    return signed_in


CurrentUser = Annotated[SignedIn, Depends(get_signed_in)]


async def submitted_csrf_token(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    form = await request.form()  # cached on the request: the endpoint's Form() reads it again
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


def check_csrf(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Depends(submitted_csrf_token)],
) -> SignedIn:
    signed_in = resolve_session(session, token=request.cookies.get(SESSION_COOKIE))
    if signed_in is None:
        # Nothing is done without a session: sign in again, then back to the page.
        raise SessionEnded(page_of_referer(request))
    if not tokens_match(signed_in.csrf_token, token):
        # A live session but a forged or stale token: refused, never redirected.
        raise CsrfFailed()
    request.state.web = signed_in
    return signed_in


FormAction = Annotated[SignedIn, Depends(check_csrf)]


def _admin(signed_in: SignedIn, refusal: str) -> SignedIn:
    if not signed_in.is_admin:
        raise Forbidden(refusal)
    return signed_in


def require_admin_action(signed_in: FormAction) -> SignedIn:
    return _admin(signed_in, "Only workspace admins can do this.")


AdminAction = Annotated[SignedIn, Depends(require_admin_action)]


def compliance_admin_action(request: Request, signed_in: AdminAction) -> SignedIn:
    check_compliance_rate(request, signed_in.workspace_id)
    return signed_in


# An admin's export/deletion form, counted against the workspace's limit like the API's.
ComplianceAction = Annotated[SignedIn, Depends(compliance_admin_action)]


def require_admin_page(signed_in: CurrentUser) -> SignedIn:
    return _admin(signed_in, "Only workspace admins can open this page.")


AdminPage = Annotated[SignedIn, Depends(require_admin_page)]


@dataclass(frozen=True)
class WebContext:
    """What a UI route works with: the request, its transaction and the signed-in user, who
    passed the route's check (signed in; a valid CSRF token on a form; an admin)."""

    request: Request
    session: Session
    me: SignedIn


def user_page(request: Request, session: SessionDep, me: CurrentUser) -> WebContext:
    return WebContext(request, session, me)


def admin_page(request: Request, session: SessionDep, me: AdminPage) -> WebContext:
    return WebContext(request, session, me)


def user_form(request: Request, session: SessionDep, me: FormAction) -> WebContext:
    return WebContext(request, session, me)


def admin_form(request: Request, session: SessionDep, me: AdminAction) -> WebContext:
    return WebContext(request, session, me)


def compliance_form(request: Request, session: SessionDep, me: ComplianceAction) -> WebContext:
    return WebContext(request, session, me)


UserPageContext = Annotated[WebContext, Depends(user_page)]
AdminPageContext = Annotated[WebContext, Depends(admin_page)]
UserFormContext = Annotated[WebContext, Depends(user_form)]
AdminFormContext = Annotated[WebContext, Depends(admin_form)]
ComplianceFormContext = Annotated[WebContext, Depends(compliance_form)]
