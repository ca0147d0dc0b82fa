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
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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


def run_server(runtime: Runtime, *, host: str, port: int, worker: bool, workers: int = 1) -> None:
    if workers > 1:
        prepare_multiprocess_metrics(runtime)

    import uvicorn

    import veil.tasks  # noqa: F401  (an entry point: the embedded worker runs every job)
    from veil.app import create_app
    from veil.cli import common
    from veil.worker.queue import WorkerThreads

    common.migrate(runtime)
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
            uvicorn.run("veil.app:create_app", factory=True, workers=workers, **options)  # type: ignore[arg-type]
        else:
            uvicorn.run(create_app(runtime), **options)  # type: ignore[arg-type]
    finally:
        if threads:
            threads.stop()
