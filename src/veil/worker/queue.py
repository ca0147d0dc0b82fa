"""The job queue: huey on SQLite (default) or Redis, carrying `(job name, object id)` only.

Task arguments are ids, and results are never stored, so the queue's own storage (huey's
SQLite file, Redis) never holds personal data. huey delivers at most once: a task killed
mid-run is lost, which is why request rows carry leases and a sweep re-enqueues (see leases.py).

This package knows no feature: features register their jobs and sweepers here when their
`tasks` module is imported, and `veil.tasks` (imported by the entry points only) imports them all.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from huey import Huey, MemoryHuey, RedisHuey
from huey.storage import SqliteStorage

from veil.ops.files import create_private_file
from veil.ops.metrics import JobTimer
from veil.worker.serializer import JsonIdSerializer

if TYPE_CHECKING:
    from veil.runtime import Runtime

log = logging.getLogger("veil.worker")

JobHandler = Callable[["Runtime", str], None]
# A hook may answer what it did as counts ({"expired": 2}); the runner logs them, one line.
Sweeper = Callable[["Runtime"], Mapping[str, int] | None]

# Filled at import time by each feature's tasks module, all listed in veil/tasks.py.
JOBS: dict[str, JobHandler] = {}
SWEEPERS: dict[str, Sweeper] = {}
SHUTDOWN_HOOKS: dict[str, Sweeper] = {}
IDLE_HOOKS: dict[str, Sweeper] = {}


def register_job(name: str) -> Callable[[JobHandler], JobHandler]:
    def decorator(fn: JobHandler) -> JobHandler:
        JOBS[name] = fn
        return fn

    return decorator


def _hook_registrar(hooks: dict[str, Sweeper]) -> Callable[[str], Callable[[Sweeper], Sweeper]]:
    def register(name: str) -> Callable[[Sweeper], Sweeper]:
        def decorator(fn: Sweeper) -> Sweeper:
            hooks[name] = fn
            return fn

        return decorator

    return register


# Each registers `fn(runtime)` under a name; errors are logged, never raised.
# A sweep pass (the sweeper thread, `veil sweep`).
register_sweeper = _hook_registrar(SWEEPERS)
# Whenever a worker finds the queue empty: cheap when there is nothing to do (every poll).
register_idle = _hook_registrar(IDLE_HOOKS)
# When a worker stops, after its last job.
register_shutdown = _hook_registrar(SHUTDOWN_HOOKS)


class UnknownJob(LookupError):
    """A message names a job nobody registered: an entry point forgot to import veil.tasks."""


class SecureDeleteConnection(sqlite3.Connection):
    """The queue file's connections, with `secure_delete` on: consumed messages leave no residue.

    Handed to huey's SqliteStorage as `factory=`, which it passes on to `sqlite3.connect`
    (the stdlib's public hook for a Connection subclass).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA secure_delete=ON")


class JobQueue:
    def __init__(self, huey: Huey, runtime: Runtime) -> None:
        self.huey = huey
        self.runtime = runtime

        @huey.task(name="veil.run_job")
        def run_job(job: str, object_id: str) -> None:
            handler = JOBS.get(job)
            if handler is None:
                log.error("unknown job %s: is veil.tasks imported by this entry point?", job)
                raise UnknownJob(job)
            with JobTimer(job):
                handler(self.runtime, object_id)

        self._task = run_job

    @classmethod
    def from_settings(cls, runtime: Runtime) -> JobQueue:
        url = runtime.settings.resolved_queue_url
        huey: Huey
        if url.startswith("redis://") or url.startswith("rediss://"):
            huey = RedisHuey(
                "veil",
                url=url,
                results=False,
                blocking=True,
                read_timeout=1,
                serializer=JsonIdSerializer(),
            )
        elif url == "memory://":
            huey = MemoryHuey("veil", results=False, serializer=JsonIdSerializer())
        elif url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            create_private_file(path)
            huey = Huey(
                "veil",
                results=False,
                storage_class=SqliteStorage,
                filename=str(path),
                factory=SecureDeleteConnection,
                serializer=JsonIdSerializer(),
            )
        else:
            raise ValueError("VEIL_QUEUE_URL must be sqlite:///path, redis://… or memory://")
        return cls(huey, runtime)

    def enqueue(self, job: str, object_id: str) -> None:
        self._task(job, object_id)

    def pending_count(self) -> int:
        return int(self.huey.pending_count())

    def run_one(self) -> bool:
        """Take one message and run it; False when the queue is empty."""
        task = self.huey.dequeue()
        if task is None:
            _run_hooks(IDLE_HOOKS, "idle hook", self.runtime)
            return False
        self.huey.execute(task)
        return True

    def drain(self, *, max_tasks: int = 10_000) -> int:
        """Run queued jobs in this thread until the queue is empty (tests, `veil sweep`)."""
        ran = 0
        while ran < max_tasks and self.run_one():
            ran += 1
        return ran

    def flush(self) -> None:
        self.huey.flush()


def sweep(runtime: Runtime) -> None:
    """Re-enqueue lost work and expire old files: every registered sweeper, errors contained."""
    _run_hooks(SWEEPERS, "sweeper", runtime)


class WorkerThreads:
    """Consumer threads plus a sweeper thread; used embedded by `serve` and by `veil worker`."""

    def __init__(self, runtime: Runtime, *, threads: int = 1, poll_interval: float = 0.2) -> None:
        self.runtime = runtime
        self.threads = threads
        self.poll_interval = poll_interval
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        queue = self.runtime.queue
        for index in range(self.threads):
            thread = threading.Thread(
                target=self._consume, args=(queue,), name=f"veil-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        sweeper = threading.Thread(target=self._sweep, name="veil-sweeper", daemon=True)
        sweeper.start()
        self._threads.append(sweeper)
        log.info("worker started threads=%s", self.threads)

    def _consume(self, queue: JobQueue) -> None:
        while not self.stop_event.is_set():
            try:
                if not queue.run_one():
                    self.stop_event.wait(self.poll_interval)
            except Exception:
                log.exception("worker loop error")
                self.stop_event.wait(1.0)

    def _sweep(self) -> None:
        interval = self.runtime.settings.sweep_interval.total_seconds()
        while not self.stop_event.is_set():
            sweep(self.runtime)
            self.stop_event.wait(max(interval, 0.5))

    def stop(self, timeout: float = 30.0) -> None:
        self.stop_event.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if not any(thread.is_alive() for thread in self._threads):
            shutdown(self.runtime)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()


def shutdown(runtime: Runtime) -> None:
    """Every registered shutdown hook, errors contained."""
    _run_hooks(SHUTDOWN_HOOKS, "shutdown hook", runtime)


def _run_hooks(hooks: dict[str, Sweeper], kind: str, runtime: Runtime) -> None:
    for name, hook in hooks.items():
        try:
            counts = hook(runtime)
        except Exception:
            log.exception("%s %s failed", kind, name)
            continue
        if counts and any(counts.values()):
            log.info("%s %s did work", kind, name, extra={"fields": dict(counts)})
