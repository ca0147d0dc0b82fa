"""The export job and the sweep: idempotent, leased, fenced, crash-safe."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.compliance.export_support import (
    document,
    download,
    error_code,
    export_row,
    make_subject,
    request_export,
    store_files,
    stored_file,
)
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from veil.compliance.exports import tasks, writer
from veil.compliance.exports.lifecycle import destroy_exports_of_profile
from veil.compliance.exports.writer import ExportCancelled
from veil.db import session_scope
from veil.kit.time import utcnow
from veil.models import ExportRequest, Profile
from veil.models.profile import DELETED
from veil.runtime import Runtime
from veil.worker.queue import sweep


def _pending(client: TestClient, runtime: Runtime, ws: WorkspaceHandle, **kw: int) -> str:
    subject = make_subject(runtime, ws, **kw)  # type: ignore[arg-type]
    response = request_export(client, ws, subject.profile_id)
    assert response.status_code == 202
    runtime.queue.flush()  # the message is "lost": only the row remains
    export_id: str = response.json()["id"]
    return export_id


def _expire_lease(runtime: Runtime, export_id: str) -> None:
    past = utcnow() - timedelta(seconds=1)
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(lease_until=past, next_attempt_at=past)
        )


def _erase(runtime: Runtime, ws: WorkspaceHandle, profile_id: str) -> None:
    """What the deletion feature does to exports when it erases a profile."""
    with session_scope(runtime.sessionmaker) as session:
        session.execute(update(Profile).where(Profile.id == profile_id).values(status=DELETED))
        destroy_exports_of_profile(session, runtime, workspace_id=ws.id, profile_id=profile_id)


def test_running_the_job_twice_ends_in_the_same_state(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    tasks.build_export(runtime, export_id)
    first = export_row(runtime, export_id)
    tasks.build_export(runtime, export_id)
    second = export_row(runtime, export_id)
    assert first.status == second.status == "ready"
    assert first.file_key == second.file_key and first.attempts == second.attempts == 1
    assert len(store_files(runtime)) == 1


def test_a_lost_message_is_re_enqueued_by_the_sweep_after_one_lease(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    sweep(runtime)
    assert runtime.queue.pending_count() == 0  # the message might still be on its way
    _expire_lease(runtime, export_id)
    sweep(runtime)
    assert runtime.queue.pending_count() == 1
    sweep(runtime)
    assert runtime.queue.pending_count() == 1  # marked as enqueued: not sent twice
    run_jobs(runtime)
    assert export_row(runtime, export_id).status == "ready"


def test_a_worker_that_dies_after_claiming_is_taken_over_after_its_lease(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    dead = tasks._claim(runtime, export_id)  # claims, then "dies"
    assert dead is not None
    row = export_row(runtime, export_id)
    assert row.status == "pending" and row.lease_until is not None and row.attempts == 1
    # While the lease lives: nobody else builds it, the sweep leaves it, nothing downloads.
    tasks.build_export(runtime, export_id)
    assert export_row(runtime, export_id).status == "pending"
    sweep(runtime)
    assert runtime.queue.pending_count() == 0
    assert error_code(download(client, ws, export_id)) == "export_not_ready"

    _expire_lease(runtime, export_id)
    sweep(runtime)
    run_jobs(runtime)
    row = export_row(runtime, export_id)
    assert row.status == "ready" and row.attempts == 2 and row.file_key != dead.file_key
    assert document(download(client, ws, export_id))["request"]["id"] == export_id


def test_a_complete_file_of_an_attempt_that_died_before_publishing_is_removed(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    dead = tasks._claim(runtime, export_id)
    assert dead is not None
    writer.write_export(runtime, dead, heartbeat=lambda: None)  # renamed into place, then killed
    orphan = runtime.settings.resolved_export_store / dead.file_key
    assert orphan.exists()
    assert error_code(download(client, ws, export_id)) == "export_not_ready"

    _expire_lease(runtime, export_id)
    tasks.build_export(runtime, export_id)
    assert not orphan.exists()
    assert store_files(runtime) == [stored_file(runtime, export_id)]


def test_a_stale_worker_never_publishes_over_the_one_that_took_over(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    slow = tasks._claim(runtime, export_id)
    assert slow is not None
    _expire_lease(runtime, export_id)
    tasks.build_export(runtime, export_id)  # a second worker takes over and finishes
    winner = export_row(runtime, export_id).file_key

    # The first worker wakes up, writes its file and tries to publish: it is fenced off.
    result = writer.write_export(runtime, slow, heartbeat=lambda: None)
    assert tasks._publish(runtime, slow, result) is False
    row = export_row(runtime, export_id)
    assert row.status == "ready" and row.file_key == winner
    assert store_files(runtime) == [stored_file(runtime, export_id)]


def test_erasure_during_a_build_leaves_no_file(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    job = tasks._claim(runtime, export_id)
    assert job is not None
    subject = export_row(runtime, export_id).profile_id
    result = writer.write_export(runtime, job, heartbeat=lambda: None)
    _erase(runtime, ws, subject)  # between the write and the publish
    assert tasks._publish(runtime, job, result) is False
    assert store_files(runtime) == []
    assert export_row(runtime, export_id).status == "expired"


def test_erasure_noticed_by_the_heartbeat_stops_the_build(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws, events=writer.EVENT_CHUNK + 10)
    job = tasks._claim(runtime, export_id)
    assert job is not None
    profile_id = export_row(runtime, export_id).profile_id
    heartbeat = tasks._Heartbeat(runtime, job)
    heartbeat.every = 0  # renew at every chunk
    calls = []

    def erase_then_beat() -> None:
        calls.append(1)
        if len(calls) == 1:
            _erase(runtime, ws, profile_id)
        heartbeat()

    try:
        writer.write_export(runtime, job, heartbeat=erase_then_beat)
    except ExportCancelled:
        pass
    else:
        raise AssertionError("the build went on after its request was erased")
    assert calls == [1]
    assert store_files(runtime) == []
    assert not any(runtime.settings.resolved_export_store.glob(".*.part"))


def test_the_job_expires_a_request_whose_profile_was_deleted_before_it_ran(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _pending(client, runtime, ws)
    with runtime.sessionmaker.begin() as session:
        profile_id = export_row(runtime, export_id).profile_id
        session.execute(update(Profile).where(Profile.id == profile_id).values(status=DELETED))
    tasks.build_export(runtime, export_id)
    assert export_row(runtime, export_id).status == "expired"
    assert store_files(runtime) == []


def test_the_sweep_removes_stale_temporary_files_only(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    store = runtime.settings.resolved_export_store
    store.mkdir(parents=True, exist_ok=True)
    stale = store / ".exp_dead.1234.abcd.part"
    fresh = store / ".exp_live.1234.abcd.part"
    stale.write_bytes(b"VEILENC1 half a file")
    fresh.write_bytes(b"VEILENC1 being written")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    sweep(runtime)
    assert not stale.exists() and fresh.exists()


def test_the_sweep_expires_in_batches_across_workspaces(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    runtime.settings.export_ttl = timedelta(seconds=1)
    ids = [
        request_export(
            client, handle, make_subject(runtime, handle, email=email).profile_id
        ).json()["id"]
        for handle, email in ((ws, "a@example.com"), (other_ws, "b@example.com"))
    ]
    run_jobs(runtime)
    assert len(store_files(runtime)) == 2
    time.sleep(1.1)
    sweep(runtime)
    assert [export_row(runtime, i).status for i in ids] == ["expired", "expired"]
    assert store_files(runtime) == []
