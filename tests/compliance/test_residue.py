"""Nothing of an erased subject is left on disk with the default SQLite setup (SPEC §5.3).

A runtime on a real data dir — its own SQLite database, the SQLite job queue, the export
store and a DEBUG log file — holds a realistic subject; after the erasure every byte of every
file in the data dir is searched for the subject's email, phone digits, name and street.
These tests build their own SQLite data dir, so they run the same under either test backend.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import veil.logging as veil_logging
import veil.runtime as runtime_module
from tests.compliance import realistic
from tests.conftest import make_settings
from tests.fixtures.factories import make_workspace
from tests.fixtures.raw_files import raw_bytes
from veil.app import create_app
from veil.compliance.deletions.erasure import storage as erasure_storage
from veil.models import DeletionRequest
from veil.runtime import Runtime, set_runtime
from veil.schema import migrate
from veil.worker.queue import WorkerThreads

NEEDLES = [
    realistic.EMAIL,
    realistic.EMAIL.replace("@", "%40"),
    realistic.PHONE_DIGITS,
    realistic.PHONE,
    "555-0132",
    "555.0132",
    realistic.FULL_NAME,
    realistic.LAST,
    realistic.STREET,
    "Analytical Engine",
    "EC1A 1BB",
    "LC-99-1234",
    realistic.EXTERNAL_ID,
    realistic.PREVIOUS_EMAIL,
    realistic.PREVIOUS_EMAIL.replace("@", "%2540"),
]


def sqlite_runtime(data_dir: Path, **overrides: object) -> Runtime:
    runtime = Runtime(
        make_settings(data_dir, None, queue_url=None, **overrides)  # type: ignore[arg-type]
    )
    migrate(runtime.engine)
    return runtime


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def debug_runtime(data_dir: Path) -> Iterator[Runtime]:
    """The production wiring: default SQLite + SQLite queue in the data dir, logs to a file."""
    runtime = sqlite_runtime(data_dir, log_file=data_dir / "logs" / "veil.log", log_level="DEBUG")
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {n: logging.getLogger(n).level for n in logging.root.manager.loggerDict}
    previous = runtime_module._current
    veil_logging._configured = False
    veil_logging.configure_logging(runtime.settings)
    set_runtime(runtime)
    try:
        yield runtime
    finally:
        set_runtime(previous)
        for handler in root.handlers:
            if handler not in saved_handlers:
                handler.close()
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)
        veil_logging._configured = False
        runtime.dispose()


def find_residue(data_dir: Path, needles: list[str]) -> list[str]:
    """(file, needle) for every needle found in the raw bytes of any file under data_dir."""
    found = []
    for path in sorted(p for p in data_dir.rglob("*") if p.is_file()):
        raw = raw_bytes(path).lower()
        for needle in needles:
            if needle.lower().encode() in raw:
                found.append(f"{path.relative_to(data_dir)}: {needle!r}")
    return found


def test_nothing_of_the_subject_is_left_in_any_file_of_the_data_dir(
    debug_runtime: Runtime, data_dir: Path
) -> None:
    runtime = debug_runtime
    ws = make_workspace(runtime, name="Acme Store")
    with runtime.sessionmaker.begin() as session:
        subject = realistic.build(runtime, session, workspace_id=ws.id)
    with TestClient(create_app(runtime)) as client:
        # Read the person through the API first, as an admin would before deciding.
        assert (
            client.get(f"/api/v1/profiles/{subject.profile_id}", headers=ws.admin).json()["email"]
            == realistic.EMAIL
        )
        response = client.post(
            f"/api/v1/profiles/{subject.profile_id}/delete",
            headers=ws.admin,
            json={"confirm": True},
        )
        assert response.status_code == 202
    files = {p.name for p in data_dir.rglob("*")}
    assert {"veil.db", "queue.db", "veil.log"} <= files
    assert runtime.export_store.exists(subject.export_key)
    before = find_residue(data_dir, NEEDLES)
    assert any(r.startswith("veil.db") for r in before)  # the search does find plaintext

    # The worker takes the jobs from the SQLite queue: the erasure and its privacy request's check.
    assert runtime.queue.drain() == 2

    # Searched while the app still runs: open connections, -wal and -shm files in place.
    assert find_residue(data_dir, NEEDLES) == []
    # The bystander is still there in plaintext, so the search is looking at live data.
    assert find_residue(data_dir, ["grace@example.com"]) != []
    log_text = (data_dir / "logs" / "veil.log").read_text()
    assert "deletion completed" in log_text
    # At DEBUG, Veil's own loggers log everything; libraries stay at WARNING (issue 16).
    records = [json.loads(line) for line in log_text.splitlines() if line.strip()]
    assert all(
        r["logger"].startswith("veil") or r["level"] not in ("debug", "info") for r in records
    )
    runtime.dispose()
    assert find_residue(data_dir, NEEDLES) == []


def test_secure_delete_is_on_for_every_app_connection(data_dir: Path) -> None:
    runtime = sqlite_runtime(data_dir)
    try:
        # Several pooled connections at once: each one was configured when it was opened.
        connections = [runtime.engine.raw_connection() for _ in range(3)]
        for conn in connections:
            cursor = conn.cursor()
            assert cursor.execute("PRAGMA secure_delete").fetchone()[0] == 1
            assert cursor.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            cursor.close()
        for conn in connections:
            conn.close()
    finally:
        runtime.dispose()


def test_secure_delete_is_on_for_the_sqlite_job_queue(data_dir: Path) -> None:
    runtime = sqlite_runtime(data_dir)
    try:
        storage = runtime.queue.huey.storage
        assert Path(storage.filename) == data_dir / "queue.db"
        assert storage.conn.execute("PRAGMA secure_delete").fetchone()[0] == 1
    finally:
        runtime.dispose()


def test_the_wal_is_empty_after_the_job(data_dir: Path) -> None:
    """The checkpoint is TRUNCATE, not PASSIVE: old page images leave the -wal file."""
    runtime = sqlite_runtime(data_dir)
    try:
        ws = make_workspace(runtime)
        with runtime.sessionmaker.begin() as session:
            subject = realistic.build(runtime, session, workspace_id=ws.id)
        realistic.request_deletion(runtime, workspace_id=ws.id, profile_id=subject.profile_id)
        wal = data_dir / "veil.db-wal"
        assert wal.stat().st_size > 0
        runtime.queue.drain()
        # Only what records "storage settled" was written after the truncate: the request's
        # row page and its ix_deletion_requests_storage entry (a 32-byte WAL header, then one
        # 24-byte frame header per 4096-byte page).
        assert wal.stat().st_size <= 32 + 2 * (24 + 4096)
    finally:
        runtime.dispose()


def _subjects_to_erase(runtime: Runtime, count: int) -> list[str]:
    """`count` erasures requested (the same person in as many workspaces): their ids."""
    request_ids = []
    for _ in range(count):
        ws = make_workspace(runtime)
        with runtime.sessionmaker.begin() as session:
            subject = realistic.build(runtime, session, workspace_id=ws.id)
        request_ids.append(
            realistic.request_deletion(runtime, workspace_id=ws.id, profile_id=subject.profile_id)
        )
    return request_ids


def _settled(runtime: Runtime, request_id: str) -> bool:
    with runtime.sessionmaker() as session:
        return session.get_one(DeletionRequest, request_id).storage_settled_at is not None


@pytest.fixture
def checkpoints(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every WAL checkpoint the storage step runs (each still runs for real)."""
    ran: list[int] = []
    real = erasure_storage.db.checkpoint_sqlite

    def counted(engine: Any, **kwargs: Any) -> bool:
        ran.append(1)
        return real(engine, **kwargs)

    monkeypatch.setattr(erasure_storage.db, "checkpoint_sqlite", counted)
    return ran


def test_an_erasure_followed_by_a_short_queue_is_settled_at_once(
    data_dir: Path, checkpoints: list[int]
) -> None:
    """One erasure's own follow-up jobs (its privacy request's check) do not delay it."""
    runtime = sqlite_runtime(data_dir)
    try:
        request_ids = _subjects_to_erase(runtime, erasure_storage.STORAGE_DEFER_QUEUED)
        assert runtime.queue.run_one()
        assert _settled(runtime, request_ids[0]) and checkpoints == [1]
    finally:
        runtime.dispose()


def test_erasures_run_back_to_back_are_settled_by_one_checkpoint(
    data_dir: Path, checkpoints: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While jobs are queued behind an erasure its checkpoint waits; the worker checkpoints
    once when its queue is empty, and then nothing of any of them is left on disk."""
    # However slow this machine is, the batch stays within the limit.
    monkeypatch.setattr(erasure_storage, "STORAGE_DEFER_LIMIT", 3600.0)
    runtime = sqlite_runtime(data_dir)
    try:
        request_ids = _subjects_to_erase(runtime, 1 + erasure_storage.STORAGE_DEFER_QUEUED)
        assert runtime.queue.run_one()
        assert not _settled(runtime, request_ids[0])  # a batch still queued: it waits
        assert runtime.queue.drain() == erasure_storage.STORAGE_DEFER_QUEUED
        assert checkpoints == [1]
        assert all(_settled(runtime, request_id) for request_id in request_ids)
        assert find_residue(data_dir, NEEDLES) == []
    finally:
        runtime.dispose()


def test_a_queue_that_never_empties_still_checkpoints_within_the_limit(
    data_dir: Path, checkpoints: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure_storage, "STORAGE_DEFER_LIMIT", 0.0)
    runtime = sqlite_runtime(data_dir)
    try:
        request_ids = _subjects_to_erase(runtime, 1 + erasure_storage.STORAGE_DEFER_QUEUED)
        assert runtime.queue.run_one()
        # The limit is over as soon as the batch starts: settled although a job is queued.
        assert _settled(runtime, request_ids[0]) and checkpoints == [1]
    finally:
        runtime.dispose()


def test_a_stopping_worker_settles_what_it_deferred(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure_storage, "STORAGE_DEFER_LIMIT", 3600.0)
    runtime = sqlite_runtime(data_dir)
    try:
        request_ids = _subjects_to_erase(runtime, 1 + erasure_storage.STORAGE_DEFER_QUEUED)
        workers = WorkerThreads(runtime)  # never started: its stop() is the shutdown
        assert runtime.queue.run_one()
        assert not _settled(runtime, request_ids[0])
        workers.stop()
        assert _settled(runtime, request_ids[0])
        # The others are still to do (their bytes are live data); the first's are out of the WAL.
        assert runtime.queue.pending_count() == erasure_storage.STORAGE_DEFER_QUEUED
        assert (data_dir / "veil.db-wal").stat().st_size <= 32 + 2 * (24 + 4096)
    finally:
        runtime.dispose()
