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
    # One row, one job (and its privacy request's check): the losers enqueued nothing.
    assert run_jobs(runtime) == 2


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


def test_concurrent_requests_for_different_profiles_all_succeed(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Each request inserts a row referencing the workspace (a key-share lock on PostgreSQL)
    and then appends to the workspace's audit chain: the chain's lock must not deadlock
    against those key-share locks (found by `make bench`, scenario 5)."""
    subjects = [
        make_subject(runtime, ws, email=f"person{n}@example.com", phone=None, events=1)
        for n in range(24)
    ]
    outcomes: list[str] = []
    lock = threading.Lock()

    def ask(profile_id: str, barrier: threading.Barrier) -> None:
        barrier.wait()
        try:
            with runtime.sessionmaker.begin() as session:
                service.request_export(
                    session,
                    runtime=runtime,
                    workspace_id=ws.id,
                    profile_id=profile_id,
                    requested_by="ops",
                    actor="user:ops",
                )
            outcome = "stored"
        except Exception as exc:
            outcome = type(exc).__name__
        with lock:
            outcomes.append(outcome)

    for start in range(0, len(subjects), 8):
        barrier = threading.Barrier(8)
        threads = [
            threading.Thread(target=ask, args=(s.profile_id, barrier))
            for s in subjects[start : start + 8]
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert outcomes == ["stored"] * len(subjects)
    assert run_jobs(runtime) == len(subjects)
