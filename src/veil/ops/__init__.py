"""Running Veil as infrastructure: request ids, health and readiness, Prometheus metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI

    from veil.runtime import Runtime


def refuse_weak_secret(runtime: Runtime) -> None:
    """VEIL_ENV=prod: fail at startup, not at the first export, when the secret is weak."""
    if runtime.settings.env == "prod":
        runtime.settings.secret_keys()  # raises WeakSecret


def install_operability(app: FastAPI, runtime: Runtime) -> None:
    """Logging, /healthz /readyz /metrics, /api/docs, the access log with HTTP metrics, and
    X-Request-ID on an app.

    Called last by create_app: the request id middleware must be the outermost, so that every
    log line of a request (the access line included) carries it; the access line comes next,
    outside the other middlewares, so it records their refusals (413, …) too.
    """
    from veil.logging import configure_logging
    from veil.ops.api_docs import router as api_docs_router
    from veil.ops.endpoints import router
    from veil.ops.metrics import RequestTelemetryMiddleware
    from veil.ops.request_id import RequestIdMiddleware

    configure_logging(runtime.settings)
    refuse_weak_secret(runtime)
    app.include_router(router)
    app.include_router(api_docs_router)
    app.add_middleware(RequestTelemetryMiddleware)
    app.add_middleware(RequestIdMiddleware)
