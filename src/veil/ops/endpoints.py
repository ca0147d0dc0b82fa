"""Public operational endpoints: /healthz (liveness), /readyz (dependencies), /metrics."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from veil.errors import Unauthorized
from veil.ops.metrics import render_metrics
from veil.runtime import Runtime

log = logging.getLogger("veil.readiness")

router = APIRouter(include_in_schema=False)

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up and answering; it checks nothing else (that is /readyz)."""
    return {"status": "ok"}


def _check_database(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _check_queue(runtime: Runtime) -> None:
    runtime.queue.pending_count()


def _check_export_store(runtime: Runtime) -> None:
    runtime.export_store.check()


READINESS_CHECKS: dict[str, Callable[[Runtime], None]] = {
    "database": _check_database,
    "queue": _check_queue,
    "export_store": _check_export_store,
}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when the database, the queue and the export store all answer; 503 otherwise, the
    failing part's value being an error code (`<part>_unavailable`)."""
    runtime = _runtime(request)
    parts: dict[str, str] = {}
    for name, check in READINESS_CHECKS.items():
        try:
            check(runtime)
        except Exception as exc:
            log.warning(
                "readiness check failed",
                extra={"fields": {"part": name, "error": type(exc).__name__}},
            )
            parts[name] = f"{name}_unavailable"
        else:
            parts[name] = "ok"
    ready = all(value == "ok" for value in parts.values())
    return JSONResponse(parts, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format; behind `Authorization: Bearer <VEIL_METRICS_TOKEN>` when set."""
    runtime = _runtime(request)
    token = runtime.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized(headers={"WWW-Authenticate": "Bearer"})
    return Response(render_metrics(runtime), media_type=PROMETHEUS_TEXT)
