"""The server-rendered UI: one router assembling each page group, plus static files.

Pages use the same services as the API (no rule is implemented twice); the session is a
cookie, every POST carries a CSRF token, and admin actions are checked on the server.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles

from veil.web import auth, campaigns, compliance, privacy_requests, profiles, rights, settings
from veil.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/profiles", status_code=303)


for _pages in (
    auth.router,
    profiles.router,
    compliance.router,
    privacy_requests.router,
    rights.router,
    campaigns.router,
    settings.router,
):
    router.include_router(_pages, include_in_schema=False)

router.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
