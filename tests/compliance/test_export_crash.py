"""A `veil worker` killed with SIGKILL in the middle of writing a big export: no partial file
is ever downloadable, and after the lease runs out the sweep gets the request completed."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    download,
    error_code,
    export_row,
    runtime_with,
    seed_events,
    store_files,
    subprocess_env,
    veil_process,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.app import create_app
from veil.compliance.exports import service
from veil.kit.time import utcnow
from veil.runtime import Runtime
from veil.worker.queue import sweep

EVENTS = 40_000
LEASE = "4s"


@pytest.mark.slow
def test_worker_killed_mid_write_then_the_sweep_completes_the_request(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    rt = runtime_with(runtime, queue_url=queue_url, job_lease=timedelta(seconds=2))
    with rt.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="big@example.com").id
    seed_events(rt, workspace_id=ws.id, profile_id=profile_id, count=EVENTS, padding=2000)
    with rt.sessionmaker.begin() as session:
        export_id = service.request_export(
            session,
            runtime=rt,
            workspace_id=ws.id,
            profile_id=profile_id,
            requested_by="crash test",
            actor="test",
        ).id
    store = rt.settings.resolved_export_store

    env = subprocess_env(runtime, database_url, queue_url=queue_url, job_lease=LEASE)
    with veil_process(["worker", "--threads", "1"], env, tmp_path / "worker.log") as worker:

        def writing() -> bool:
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            return any(p.stat().st_size > 0 for p in store.glob(".*.part"))

        wait_until(writing, timeout=300, what="the worker to start writing")
        worker.kill()  # SIGKILL: no cleanup of any kind
        worker.wait()

    # The sweep leaves it alone while the dead worker's lease lives; any message still on the
    # queue (the worker's own start-up sweep may have sent a second one on a slow machine)
    # finds the lease taken and does nothing.
    sweep(rt)
    rt.queue.drain()
    row = export_row(rt, export_id)
    assert row.lease_until is not None and utcnow() < row.lease_until, "lease too short"
    assert row.status == "pending" and row.attempts == 1 and row.file_key is not None
    [part] = list(store.glob(".*.part"))
    assert store_files(rt) == [part]  # only the temporary file, never at the final key
    assert not (store / row.file_key).exists()
    with TestClient(create_app(rt)) as client:
        response = download(client, ws, export_id)
        assert response.status_code == 409 and error_code(response) == "export_not_ready"

        # Once the lease has run out, the sweep hands the request to a worker again.
        lease_end = row.lease_until
        wait_until(lambda: utcnow() > lease_end, timeout=60, what="the lease to run out")
        hour_ago = time.time() - 3600
        os.utime(part, (hour_ago, hour_ago))  # the dead writer's file, long untouched

        def completed_by_sweep() -> bool:
            sweep(rt)
            rt.queue.drain()
            return export_row(rt, export_id).status == "ready"

        # The sweep may wait out the hold it put on its own earlier message (next_attempt_at).
        wait_until(completed_by_sweep, timeout=300, what="the sweep to complete the export")
        assert not part.exists()

        done = export_row(rt, export_id)
        assert done.status == "ready" and done.event_count == EVENTS and done.attempts >= 2
        assert store_files(rt) == [store / str(done.file_key)]
        body = download(client, ws, export_id)
        assert body.status_code == 200
        doc = json.loads(body.content)
        assert len(doc["events"]) == EVENTS
