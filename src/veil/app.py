"""create_app(): API routers, UI, error handlers and middleware."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from veil import __version__
from veil.errors import document_errors, install_error_handlers
from veil.guards import document_bodies
from veil.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    InputGuardMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from veil.ops import install_operability
from veil.ops.openapi import describe_api, operation_id
from veil.runtime import Runtime, get_runtime


def create_app(runtime: Runtime | None = None) -> FastAPI:
    runtime = runtime or get_runtime()
    app = FastAPI(
        title="Veil API",
        version=__version__,
        description="Customer profiles for e-commerce marketing, with GDPR export and erasure.",
        default_response_class=JSONResponse,
        docs_url=None,  # served by veil.ops.api_docs, under Veil's own CSP
        redoc_url=None,
        generate_unique_id_function=operation_id,
    )
    app.state.runtime = runtime
    install_error_handlers(app)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_api(
                document_errors(document_bodies(FastAPI.openapi(app)))
            )
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
    from veil.web.routing import install_web_error_pages
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
    install_web_error_pages(app, web_router)

    install_operability(app, runtime)  # logging, secret check, /healthz /readyz /metrics /api/docs

    # Outermost last: the body limit first, then security headers on every answer (the
    # guard's refusals too), then the input guard right in front of the routes.
    app.add_middleware(InputGuardMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=runtime.settings.max_body_bytes)
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)  # outermost: the access line carries the id too
    return app
