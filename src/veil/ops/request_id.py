"""X-Request-ID (SPEC §10): which ids are accepted, and the current request's id for the logs
(veil.middleware.RequestIdMiddleware sets it; veil.logging writes it on every line)."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = b"x-request-id"
_VALID = re.compile(rb"^[\x21-\x7e]{1,128}$")

current_request_id: ContextVar[str | None] = ContextVar("veil_request_id", default=None)


def accepted_request_id(value: bytes | None) -> str:
    """The caller's id when it is well formed, otherwise a fresh one."""
    if value is not None and _VALID.match(value):
        return value.decode("ascii")
    return uuid.uuid4().hex
