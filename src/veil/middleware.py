"""Every ASGI middleware of the app, in the order create_app() stacks them; one JSON refusal.

Outermost first: X-Request-ID (so every log line of the request carries it), the access log
(one line and the HTTP metrics per request), the body limit (413 before a handler
reads an oversized body), security headers (on every answer, refusals included), and the input
guard right in front of the routes (NUL characters, bodies that are not JSON: see veil.guards).
A refusal made here, before any route, is rendered by `send_json_error` in SPEC's error shape.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veil.errors import error_body
from veil.guards import PARSED_JSON, body_problem, refuses_url, screens_body
from veil.ops.metrics import record_http_request
from veil.ops.request_id import REQUEST_ID_HEADER, accepted_request_id, current_request_id

log = logging.getLogger("veil.http")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ),
]


async def send_json_error(send: Send, status: int, code: str, message: str) -> None:
    """Answer `{"error": {"code", "message"}}` with `status`, straight on the ASGI channel."""
    body = orjson.dumps(error_body(code, message))
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})


class _HttpMiddleware:
    """An ASGI middleware for HTTP requests; other scopes (lifespan, websockets) pass through."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.handle(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestIdMiddleware(_HttpMiddleware):
    """X-Request-ID (SPEC §10): the caller's when it is 1-128 visible ASCII characters, else a
    new one; echoed on the response and set for every log line written for this request."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = next((v for k, v in scope.get("headers", []) if k == REQUEST_ID_HEADER), None)
        request_id = accepted_request_id(given)
        token = current_request_id.set(request_id)

        async def echoing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER
                ]
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, echoing)
        finally:
            current_request_id.reset(token)


class AccessLogMiddleware(_HttpMiddleware):
    """One line per request (method, the matched route's template, status and duration), and
    the same counted in the HTTP metrics (veil.ops.metrics).

    Never the raw path or query string: a search (`?query=`) may carry an email, and ids in
    the path are already in the template's place.
    """

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.monotonic()
        status = 500

        async def recording(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            elapsed = time.monotonic() - started
            route = getattr(scope.get("route"), "path", None) or "(no route)"
            method = str(scope.get("method", ""))
            record_http_request(method=method, route=route, status=status, seconds=elapsed)
            log.info(
                "request",
                extra={
                    "fields": {
                        "method": method,
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                    }
                },
            )


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware(_HttpMiddleware):
    """Refuse bodies over the limit with 413 before they reach a handler (gzip counted raw)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = scope.get("state", {}).get("body_limit") or self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared_too_big = int(value) > limit
                except ValueError:
                    declared_too_big = False
                if declared_too_big:
                    await _send_too_large(send, limit)
                    return
        received = 0
        response_started = False
        too_large = False

        async def limited_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if too_large:
                # The app caught _TooLarge while parsing (FastAPI answers 400 then): say 413.
                if message["type"] == "http.response.start" and not response_started:
                    response_started = True
                    await _send_too_large(send, limit)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await _send_too_large(send, limit)


async def _send_too_large(send: Send, limit: int) -> None:
    message = f"The request body is larger than {limit} bytes."
    await send_json_error(send, 413, "payload_too_large", message)


class SecurityHeadersMiddleware(_HttpMiddleware):
    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


class InputGuardMiddleware(_HttpMiddleware):
    """The checks of veil.guards, for every route at once, before any handler runs."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        url_problem = refuses_url(scope)
        if url_problem:
            await send_json_error(send, *url_problem)
            return
        if not screens_body(scope):
            await self.app(scope, receive, send)
            return
        body, more = await _read_body(receive)
        problem, parsed = await body_problem(scope, body)
        if problem:
            await send_json_error(send, *problem)
            return
        if parsed is not None:
            scope.setdefault("state", {})[PARSED_JSON] = parsed.value

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await more()

        await self.app(scope, replay, send)


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (BodyLimitMiddleware, outside this one, bounds its size)."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # a disconnect: hand it on after the body
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def more() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return b"".join(chunks), more
