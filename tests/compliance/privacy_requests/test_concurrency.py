"""Races the database decides: one Idempotency-Key, one request; cancel against the start."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from fastapi.testclient import TestClient

from tests.compliance.privacy_requests.support import (
    by_email,
    count_requests,
    create,
    create_in_service,
)
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.privacy_requests import service, tasks
from veil.errors import NotCancellable
from veil.models import PrivacyRequest
from veil.runtime import Runtime

THREADS = 10


def _together(count: int, action: Any) -> None:
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        action(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_creates_with_one_key_store_one_request(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def ask(_index: int) -> None:
        response = create(client, ws, by_email("ada@example.com"), **{"Idempotency-Key": "k1"})
        with lock:
            answers.append((response.status_code, response.json().get("id", "")))

    _together(THREADS, ask)
    assert count_requests(runtime) == 1
    statuses = Counter(status for status, _ in answers)
    assert statuses == Counter({202: 1, 200: THREADS - 1}), answers
    assert len({request_id for _, request_id in answers}) == 1
    assert runtime.queue.pending_count() == 1  # one request, one job


def test_cancel_racing_the_worker_start_has_exactly_one_outcome(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
    for _round in range(8):
        request_id = create_in_service(runtime, ws.id, "ada@example.com")
        outcome: dict[str, Any] = {}

        def act(index: int, request_id: str = request_id, out: dict[str, Any] = outcome) -> None:
            if index == 0:
                try:
                    with runtime.sessionmaker.begin() as session:
                        service.cancel_request(
                            session, workspace_id=ws.id, request_id=request_id, actor="t"
                        )
                    out["cancel"] = "cancelled"
                except NotCancellable:
                    out["cancel"] = "refused"
            else:
                out["claimed"], _ = tasks._claim(runtime, request_id)

        _together(2, act)
        with runtime.sessionmaker() as session:
            status = session.get_one(PrivacyRequest, request_id).status
        if outcome["cancel"] == "cancelled":
            assert outcome["claimed"] is False and status == "cancelled"
        else:
            assert outcome["claimed"] is True and status == "in_progress"
        runtime.queue.flush()
