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
    """Logging, the production secret check, and the /healthz /readyz /metrics /api/docs routes."""
    from veil.logging import configure_logging
    from veil.ops.api_docs import router as api_docs_router
    from veil.ops.endpoints import router

    configure_logging(runtime.settings)
    refuse_weak_secret(runtime)
    app.include_router(router)
    app.include_router(api_docs_router)
