"""Toasts that survive a redirect: a short-lived sealed cookie, read once by the next page.

Sealed (AES-GCM) rather than merely signed, and our own sentences only: a toast never carries
a customer's name or email, but the cookie should not be readable or forgeable either way.
It works without JavaScript; the stylesheet and script only make it look and leave nicely.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import orjson
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from veil.auth.deps import runtime_of
from veil.runtime import Runtime
from veil.web.security import cookie_is_secure, seal_compact, unseal_compact

FLASH_COOKIE = "veil_flash"
_AAD = "veil.web.flash"

ToastKind = Literal["success", "error", "info"]


@dataclass(frozen=True)
class Toast:
    kind: ToastKind
    message: str
    link_url: str | None = None
    link_label: str | None = None

    @property
    def is_error(self) -> bool:
        return self.kind == "error"


def set_flash(request: Request, response: Response, runtime: Runtime, toast: Toast) -> None:
    value = seal_compact(runtime.seal_keyring, orjson.dumps(asdict(toast)).decode(), aad=_AAD)
    response.set_cookie(
        FLASH_COOKIE,
        value,
        max_age=120,
        path="/",
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request, runtime),
    )


def redirect_with_toast(request: Request, to: str, toast: Toast) -> RedirectResponse:
    """A 303 to `to` that shows `toast` there."""
    response = RedirectResponse(to, status_code=303)
    set_flash(request, response, runtime_of(request), toast)
    return response


def read_flash(request: Request, runtime: Runtime) -> list[Toast]:
    raw = request.cookies.get(FLASH_COOKIE)
    text = unseal_compact(runtime.seal_keyring, raw, aad=_AAD) if raw else None
    if text is None:
        return []
    try:
        data = orjson.loads(text)
        kind: ToastKind = "info"
        if data.get("kind") == "success":
            kind = "success"
        elif data.get("kind") == "error":
            kind = "error"
        return [
            Toast(
                kind=kind,
                message=str(data["message"]),
                link_url=_local_path(data.get("link_url")),
                link_label=data.get("link_label") or None,
            )
        ]
    except (ValueError, KeyError, TypeError):
        return []


def _local_path(value: object) -> str | None:
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//"):
        return value
    return None
