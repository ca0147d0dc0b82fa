"""create_app(): API routers, UI, error handlers and middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veil import __version__
from veil.errors import document_errors, error_body, install_error_handlers
from veil.guards import InputGuardMiddleware
from veil.ops import install_operability
from veil.ops.openapi import describe_api, operation_id
from veil.runtime import Runtime, get_runtime

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


class BodyLimitMiddleware:
    """Refuse bodies over the limit with 413 before they reach a handler (gzip counted raw)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = scope.get("state", {}).get("body_limit") or self.max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > limit
                except ValueError:
                    too_big = False
                if too_big:
                    await _send_413(send, limit)
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
                    await _send_413(send, limit)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await _send_413(send, limit)


class _TooLarge(Exception):
    pass


async def _send_413(send: Send, limit: int) -> None:
    import orjson

    body = orjson.dumps(
        error_body("payload_too_large", f"The request body is larger than {limit} bytes.")
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or get_runtime()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="Veil API",
        version=__version__,
        description="Customer profiles for e-commerce marketing, with GDPR export and erasure.",
        default_response_class=JSONResponse,
        lifespan=lifespan,
        docs_url=None,  # served by veil.ops.api_docs, under Veil's own CSP
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_api(document_errors(FastAPI.openapi(app)))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    from veil.audit.endpoints import router as audit_router
    from veil.campaigns.endpoints import router as campaigns_router
    from veil.compliance.endpoints import router as compliance_router
    from veil.events.endpoints import router as events_router
    from veil.integrations.segment.endpoints import router as segment_router
    from veil.integrations.shopify.endpoints import router as shopify_router
    from veil.integrations.tracking.endpoints import router as tracking_router
    from veil.profiles.endpoints import router as profiles_router
    from veil.web.views import router as web_router
    from veil.workspaces.endpoints import router as workspaces_router

    for router in (
        profiles_router,
        events_router,
        campaigns_router,
        compliance_router,
        workspaces_router,
        audit_router,
        segment_router,
        shopify_router,
        tracking_router,
        web_router,
    ):
        app.include_router(router)

    # Outermost last: the body limit first, then security headers on every answer (the
    # guard's refusals too), then the input guard right in front of the routes.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    install_operability(app, runtime)
    return app
