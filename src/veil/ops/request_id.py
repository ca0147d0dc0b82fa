"""X-Request-ID (SPEC §10): taken from the request when it is 1-128 visible ASCII characters,
else generated; echoed on the response and put on every log line written for that request."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = b"x-request-id"
_VALID = re.compile(rb"^[\x21-\x7e]{1,128}$")

current_request_id: ContextVar[str | None] = ContextVar("veil_request_id", default=None)


def accepted_request_id(value: bytes | None) -> str:
    """The caller's id when it is well formed, otherwise a fresh one."""
    if value is not None and _VALID.match(value):
        return value.decode("ascii")
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope.get("headers", []) if k == HEADER), None)
        request_id = accepted_request_id(given)
        token = current_request_id.set(request_id)

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                headers.append((HEADER, request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, echoing)
        finally:
            current_request_id.reset(token)
