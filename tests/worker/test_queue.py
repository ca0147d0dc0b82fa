"""The queue itself: its SQLite file zeroes what it frees, an unknown job fails loudly, and a
sweep says what each sweeper did."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.compliance.export_support import runtime_with
from veil.runtime import Runtime
from veil.worker import queue as queue_module
from veil.worker.queue import JOBS, JobQueue, SecureDeleteConnection, sweep


def test_the_sqlite_queue_connection_has_secure_delete_on(runtime: Runtime, tmp_path: Path) -> None:
    queue = JobQueue.from_settings(runtime_with(runtime, queue_url=f"sqlite:///{tmp_path}/q.db"))
    queue.enqueue("build_export", "exp_1")  # the storage's own connection, used for real
    assert queue.pending_count() == 1
    conn = queue.huey.storage.conn
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    # Some SQLite builds (Debian's) default to it: the connection must set it itself too.
    assert isinstance(conn, SecureDeleteConnection)


def test_an_unknown_job_is_logged_and_not_imported_on_demand(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    known = dict(JOBS)
    runtime.queue.enqueue("no_such_job", "obj_1")
    with caplog.at_level(logging.ERROR, logger="veil.worker"):
        assert runtime.queue.run_one() is True
    assert "unknown job no_such_job" in caplog.text
    assert "no_such_job" not in JOBS and len(JOBS) == len(known)


def test_a_sweep_logs_each_sweeper_that_did_work_in_one_line(
    runtime: Runtime, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(runtime: Runtime) -> dict[str, int]:
        raise RuntimeError("boom")

    sweepers = {
        "busy": lambda runtime: {"expired": 2, "orphans": 0},
        "idle": lambda runtime: {"expired": 0},
        "failing": failing,
        "silent": lambda runtime: None,
        "after": lambda runtime: {"removed": 1},
    }
    monkeypatch.setattr(queue_module, "SWEEPERS", sweepers)
    with caplog.at_level(logging.INFO, logger="veil.worker"):
        sweep(runtime)
    logged = [(r.getMessage(), getattr(r, "fields", None)) for r in caplog.records]
    assert logged == [
        ("sweeper busy did work", {"expired": 2, "orphans": 0}),
        ("sweeper failing failed", None),
        ("sweeper after did work", {"removed": 1}),
    ]
