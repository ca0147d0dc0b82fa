"""The duplicate guard is the database's (a partial unique index), not a check-then-insert."""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.compliance.export_support import error_code, make_subject
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from veil.compliance.exports import service
from veil.errors import AlreadyRequested
from veil.models import ExportRequest
from veil.runtime import Runtime

THREADS = 20


def test_twenty_concurrent_http_requests_store_exactly_one(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    barrier = threading.Barrier(THREADS)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        response = client.post(f"/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin)
        code = "" if response.status_code == 202 else error_code(response)
        with lock:
            answers.append((response.status_code, code))

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Counter(answers) == Counter({(202, ""): 1, (409, "already_requested"): THREADS - 1})
    with runtime.sessionmaker() as session:
        rows = session.scalars(
            select(ExportRequest).where(ExportRequest.profile_id == subject.profile_id)
        ).all()
    assert len(rows) == 1 and rows[0].status == "pending"
    # One row, one job: the losers enqueued nothing.
    assert run_jobs(runtime) == 1


def test_twenty_concurrent_service_calls_store_exactly_one(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    barrier = threading.Barrier(THREADS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask() -> None:
        barrier.wait()
        try:
            with runtime.sessionmaker.begin() as session:
                service.request_export(
                    session,
                    runtime=runtime,
                    workspace_id=ws.id,
                    profile_id=subject.profile_id,
                    requested_by="shopify",
                    actor="shopify",
                    source="shopify",
                )
            outcome = "stored"
        except AlreadyRequested:
            outcome = "already_requested"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=ask) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(outcomes) == Counter({"stored": 1, "already_requested": THREADS - 1})
    with runtime.sessionmaker() as session:
        count = len(session.scalars(select(ExportRequest.id)).all())
    assert count == 1
