"""`veil serve`: one web process, or N behind uvicorn's supervisor (`--workers N`).

With N processes each one builds its runtime from the same configuration (environment and
`.env`), so they act on the same database, queue and export store; the embedded worker and
sweeper (unless `--no-worker`) run once, in the supervising process. Prometheus counters are
then kept in per-process files under `<data dir>/metrics` (prometheus-client's multiprocess
mode) and summed at scrape time, so /metrics answers the same whichever process serves it.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from veil.ops.heap import freeze_startup_heap

if TYPE_CHECKING:
    from fastapi import FastAPI

    from veil.runtime import Runtime

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_metrics(runtime: Runtime) -> None:
    """Must run before prometheus_client is imported in this process (it reads the variable
    once); the folder is emptied so counters start from zero with the server."""
    if MULTIPROC_ENV in os.environ:
        return  # the operator chose a folder (e.g. for gunicorn); leave it alone
    if "prometheus_client" in sys.modules:
        raise RuntimeError("prometheus_client was imported before multiprocess mode was set")
    folder = runtime.settings.data_dir / "metrics"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, mode=0o700)
    os.environ[MULTIPROC_ENV] = str(folder.resolve())


SERVED_APP = "veil.ops.serving:served_app"


def served_app() -> FastAPI:
    """The app of each of `--workers N` processes: `create_app` with its start-up heap frozen
    (veil.ops.heap), as the single process does before its embedded worker starts."""
    from veil.app import create_app

    app = create_app()
    freeze_startup_heap()
    return app


def run_server(
    runtime: Runtime,
    *,
    host: str,
    port: int,
    worker: bool,
    workers: int = 1,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Serve until stopped; `on_ready` runs once the port is bound (not before: a banner
    printed earlier would point at a server that may still fail to start). Single process."""
    if workers > 1:
        prepare_multiprocess_metrics(runtime)

    import uvicorn

    import veil.tasks  # noqa: F401  (an entry point: the embedded worker runs every job)
    from veil.app import create_app
    from veil.cli import common
    from veil.worker.queue import WorkerThreads

    common.migrate(runtime)
    # Built (and Veil's logging configured) before any job runs, and frozen then: only what
    # start-up built goes to the permanent generation, never a job's data (a frozen cycle is
    # never freed, and the embedded worker's jobs hold personal data).
    app = create_app(runtime) if workers == 1 else None
    if app is not None:
        freeze_startup_heap()
    threads = WorkerThreads(runtime) if worker else None
    if threads:
        threads.start()
    # Veil's logging (configured by create_app) replaces uvicorn's: JSON lines, no URLs.
    options: dict[str, object] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": True,
    }
    try:
        if workers > 1:
            uvicorn.run(SERVED_APP, factory=True, workers=workers, **options)  # type: ignore[arg-type]
        else:

            class Server(uvicorn.Server):
                async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                    await super().startup(sockets=sockets)
                    if self.started and on_ready is not None:
                        on_ready()

            Server(uvicorn.Config(app, **options)).run()  # type: ignore[arg-type]
    finally:
        if threads:
            threads.stop()
