"""kill -9 in the middle of erasing a 100,000-event profile, restart, and it completes (SPEC §5.4).

A real `veil worker` process on a SQLite data dir takes the job from the SQLite queue; once the
progress shows a keyset cursor it is killed with SIGKILL. A second worker finds the request
(its lease ran out, the sweep re-enqueues it), resumes from the cursor and completes, verified.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from tests.compliance import realistic
from tests.conftest import TEST_SECRET, make_settings
from tests.fixtures.factories import make_profile, make_workspace
from tests.fixtures.raw_files import raw_bytes
from veil.db import read_only_session
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import DeletionRequest, Event
from veil.runtime import Runtime
from veil.schema import migrate

EVENTS = 100_000
EMAIL = "crash.subject@example.com"
pytestmark = pytest.mark.slow


def worker_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
    env.update(
        VEIL_ENV="test",
        VEIL_DATA_DIR=str(data_dir),
        VEIL_SECRET_KEY=TEST_SECRET,
        VEIL_JOB_LEASE="2s",
        VEIL_SWEEP_INTERVAL="1s",
        VEIL_ERASURE_BATCH_SIZE="1000",
        VEIL_LOG_LEVEL="INFO",
    )
    return env


def start_worker(data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    veil = Path(sys.executable).parent / "veil"
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(veil), "worker", "--threads", "1"],
            env=worker_env(data_dir),
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=data_dir,
        )


def seed(runtime: Runtime) -> str:
    ws = make_workspace(runtime)
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id, email=EMAIL, phone="+14155550177")
        profile_id, workspace_id = profile.id, ws.id
    start = utcnow() - timedelta(days=365)
    for chunk in range(0, EVENTS, 10_000):
        rows: list[dict[str, Any]] = [
            {
                "id": new_id("evt"),
                "workspace_id": workspace_id,
                "profile_id": profile_id,
                "type": "Placed Order",
                "timestamp": start + timedelta(seconds=n * 60),
                "received_at": start,
                "source": "api",
                "properties": {
                    "order_id": n,
                    "email": EMAIL,
                    "note": f"call +1 415 555 0177 ({n})",
                    "line_items": [{"sku": f"SKU-{n % 50}", "price": "9.90", "quantity": 1}],
                },
            }
            for n in range(chunk, chunk + 10_000)
        ]
        with runtime.sessionmaker.begin() as session:
            session.execute(insert(Event), rows)
    return realistic.request_deletion(runtime, workspace_id=workspace_id, profile_id=profile_id)


def count_personal(runtime: Runtime) -> int:
    """Events still holding the email or the phone; checks the commercial data is intact."""
    total = personal = 0
    with runtime.sessionmaker() as session:
        for (properties,) in session.execute(
            select(Event.properties).execution_options(yield_per=5000)
        ):
            total += 1
            personal += "email" in properties or properties["note"] != "[redacted]"
            assert properties["line_items"][0]["price"] == "9.90"
    assert total == EVENTS
    return personal


def read(runtime: Runtime, request_id: str) -> DeletionRequest:
    # A snapshot read: it must not queue for SQLite's write lock behind the worker's batches.
    with read_only_session(runtime.sessionmaker) as session:
        request = session.get_one(DeletionRequest, request_id)
        session.expunge(request)  # keep its loaded state past the snapshot's rollback
        return request


def test_kill_9_mid_erasure_then_restart_completes(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    runtime = Runtime(
        make_settings(data_dir, None, queue_url=None, job_lease="2s")  # type: ignore[arg-type]
    )
    migrate(runtime.engine)
    request_id = seed(runtime)
    log = tmp_path / "worker.log"

    first = start_worker(data_dir, log)
    try:
        deadline = time.monotonic() + 900  # generous: CI shares a loaded machine
        while True:
            progress = read(runtime, request_id).progress
            scrubbed = progress.get("counts", {}).get("events_scrubbed", 0)
            if progress.get("phase") == "events" and progress.get("cursor") and scrubbed >= 3000:
                break
            assert time.monotonic() < deadline, "the worker never got going"
            assert first.poll() is None, "the worker exited on its own"
            time.sleep(0.02)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()

    killed = read(runtime, request_id)
    assert killed.status == "processing" and killed.completed_at is None
    at_kill = killed.progress["counts"]["events_scrubbed"]
    assert 3000 <= at_kill < EVENTS
    # What the progress says was committed is exactly what the data shows: batch and progress
    # commit together, and the batch in flight at the kill rolled back as a whole.
    assert count_personal(runtime) == EVENTS - at_kill

    second = start_worker(data_dir, log)
    try:
        deadline = time.monotonic() + 900
        while read(runtime, request_id).status != "completed":
            assert time.monotonic() < deadline, "the restarted worker did not finish"
            assert second.poll() is None, "the restarted worker exited"
            time.sleep(0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:  # pragma: no cover
            second.kill()

    done = read(runtime, request_id)
    assert done.summary == {
        "events_scrubbed": EVENTS,  # exact: no batch counted twice, none skipped
        "recipients_redacted": 0,
        "consents_deleted": 0,
        "identifiers_deleted": 0,
        "exports_destroyed": 0,
        "verified": True,
    }
    assert done.attempts == 2 and done.subject_sealed is None

    # The second worker resumed inside the events phase, from the saved cursor.
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    runs = [line for line in lines if line.get("msg") == "deletion erasing"]
    assert [(r["phase"], r["resumed"]) for r in runs] == [("exports", False), ("events", True)]

    assert count_personal(runtime) == 0
    assert EMAIL.encode() not in raw_bytes(data_dir / "veil.db")
    runtime.dispose()
