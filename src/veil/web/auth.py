"""Sign in, sign out and switch workspace."""

from __future__ import annotations

from typing import Annotated, ClassVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from veil.auth.deps import SessionDep
from veil.auth.limits import limiter
from veil.kit.ids import new_token
from veil.kit.ratelimit import Limiter
from veil.models import User
from veil.web.deps import SESSION_COOKIE, UserFormContext, runtime_of
from veil.web.flash import Toast, redirect_with_toast, set_flash
from veil.web.routing import WebRoute
from veil.web.security import cookie_is_secure, tokens_match
from veil.web.sessions import SESSION_TTL, check_password, close_session, open_session
from veil.web.sessions import switch_workspace as switch_session_workspace
from veil.web.templating import Page, render

router = APIRouter(route_class=WebRoute)

# Before there is a session, the login form is protected by a double-submit token.
LOGIN_CSRF_COOKIE = "veil_login_csrf"


def safe_next(value: str | None) -> str:
    """Only paths on this site: never `//host` or `https://…` (open redirects)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/profiles"


class LoginPage(Page):
    template: ClassVar[str] = "login.html"
    next: str
    error: str | None
    login_csrf: str
    email: str


def _login_limiter(request: Request) -> Limiter:
    return limiter(request, "login", runtime_of(request).settings.login_rate_per_minute)


def _login_page(
    request: Request,
    *,
    next_url: str,
    error: str | None = None,
    status_code: int = 200,
    email: str = "",
) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token(32)
    page = LoginPage(next=next_url, error=error, login_csrf=token, email=email)
    response = render(request, page, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, runtime_of(request)),
    )
    return response


@router.get("/login", name="login")
def login_form(request: Request, next: str | None = None) -> Response:
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/profiles",
) -> Response:
    next_url = safe_next(next)
    client = request.client.host if request.client else "unknown"
    if _login_limiter(request).hit(f"login:{client}") is not None:
        return _login_page(
            request,
            next_url=next_url,
            error="Too many sign-in attempts. Wait a minute, then try again.",
            status_code=429,
        )
    if not tokens_match(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(
            request,
            next_url=next_url,
            error="The sign-in form expired. Please try again.",
            status_code=403,
        )
    user_id = check_password(runtime_of(request).sessionmaker, email=email, password=password)
    # The write transaction starts here, after the password check.
    user = session.get(User, user_id) if user_id else None
    if user is None:
        return _login_page(
            request,
            next_url=next_url,
            error="Wrong email or password.",
            status_code=401,
            email=email.strip(),
        )
    opened = open_session(session, user=user)
    if opened is None:
        return _login_page(
            request,
            next_url=next_url,
            error="Your account is not a member of any workspace yet. Ask an admin to add you.",
            status_code=403,
        )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, runtime_of(request)),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout", name="logout")
def logout(web: UserFormContext) -> Response:
    close_session(web.session, token=web.request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    set_flash(web.request, response, runtime_of(web.request), Toast("info", "You are signed out."))
    return response


@router.post("/workspace/switch", name="switch_workspace")
def switch_workspace(
    web: UserFormContext, workspace_id: Annotated[str, Form(max_length=64)]
) -> Response:
    switch_session_workspace(web.session, signed_in=web.me, workspace_id=workspace_id)
    name = next(w.name for w in web.me.workspaces if w.id == workspace_id)
    return redirect_with_toast(web.request, "/profiles", Toast("info", f"Switched to {name}."))
