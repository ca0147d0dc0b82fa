"""Parallel exports, deletions and ingestion, for the same and for different profiles, with
several workers on one queue: no deadlock (everything finishes), no lost update, and the
exactly-once guards hold (one deletion per profile, one open export, one profile per person).
Runs on SQLite and PostgreSQL. (Twenty racing export requests: test_export_concurrency.py.)"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.compliance.export_support import (
    error_code,
    make_subject,
    runtime_with,
    seed_events,
    store_files,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.app import create_app
from veil.db import read_only_session
from veil.models import DeletionRequest, Event, ExportRequest, Profile
from veil.runtime import Runtime
from veil.worker.queue import WorkerThreads

THREADS = 12


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment, one thread each; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = calls[index]()
        except Exception as exc:  # surfaced by the assertions on the results
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
        assert not thread.is_alive(), "a request never returned: deadlock?"
    return results


def answer(response: Any) -> tuple[int, str]:
    return response.status_code, "" if response.status_code < 300 else error_code(response)


def count(rt: Runtime, model: Any, *where: Any) -> int:
    with read_only_session(rt.sessionmaker) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_racing_deletions_of_one_profile_store_exactly_one(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    url = f"/api/v1/profiles/{subject.profile_id}/delete"
    results = race([lambda: client.post(url, json={"confirm": True}, headers=ws.admin)] * THREADS)
    assert Counter(map(answer, results)) == Counter(
        {(202, ""): 1, (409, "profile_deleted"): THREADS - 1}
    )
    assert count(runtime, DeletionRequest) == 1
    # One row, one job (plus its privacy request's completion check).
    assert runtime.queue.drain() == 2
    [record] = client.get("/api/v1/compliance/deletions", headers=ws.admin).json()["data"]
    assert record["status"] == "completed" and record["summary"]["verified"] is True


def test_exports_and_deletions_racing_for_one_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws, events=50)
    export = f"/api/v1/profiles/{subject.profile_id}/export"
    delete = f"/api/v1/profiles/{subject.profile_id}/delete"
    calls: list[Callable[[], Any]] = []
    for _ in range(THREADS // 2):
        calls.append(lambda: client.post(export, headers=ws.admin))
        calls.append(lambda: client.post(delete, json={"confirm": True}, headers=ws.admin))
    answers = Counter(map(answer, race(calls)))
    assert answers[(202, "")] in (1, 2)  # the deletion, and at most one export before it
    assert set(answers) <= {(202, ""), (409, "already_requested"), (409, "profile_deleted")}
    runtime.queue.drain()

    # The erasure won in the end: no export of the deleted profile can be downloaded.
    assert count(runtime, DeletionRequest, DeletionRequest.status == "completed") == 1
    with read_only_session(runtime.sessionmaker) as session:
        statuses = session.scalars(select(ExportRequest.status)).all()
    assert all(status == "expired" for status in statuses)
    assert store_files(runtime) == []


def test_concurrent_upserts_of_one_person_lose_no_update(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    def upsert(index: int) -> Any:
        body = {"email": "shared@example.com", "properties": {f"k{index}": index}}
        return client.post("/api/v1/profiles", json=body, headers=ws.member)

    results = race([lambda i=i: upsert(i) for i in range(THREADS)])
    assert sorted(r.status_code for r in results) == [200] * (THREADS - 1) + [201]
    assert len({r.json()["id"] for r in results}) == 1
    [profile] = client.get("/api/v1/profiles", headers=ws.member).json()["data"]
    assert profile["properties"] == {f"k{i}": i for i in range(THREADS)}


def test_parallel_batches_for_one_new_person_make_one_profile_and_keep_every_event(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    def batch(index: int) -> Any:
        events = [
            {
                "type": "Viewed Product",
                "profile": {"email": "new@example.com"},
                "properties": {"b": index, "n": n},
            }
            for n in range(100)
        ]
        return client.post("/api/v1/events/batch", json={"events": events}, headers=ws.member)

    results = race([lambda i=i: batch(i) for i in range(THREADS)])
    assert [r.status_code for r in results] == [202] * THREADS
    assert count(runtime, Profile) == 1
    with read_only_session(runtime.sessionmaker) as session:
        stored = Counter((p["b"], p["n"]) for p in session.scalars(select(Event.properties)).all())
    assert stored == Counter((b, n) for b in range(THREADS) for n in range(100))


def test_many_profiles_exported_erased_and_ingested_at_once_by_several_workers(
    runtime: Runtime, ws: WorkspaceHandle, tmp_path: Path
) -> None:
    """Two worker processes' worth of threads on one SQLite-file queue, HTTP traffic alongside."""
    queue_url = f"sqlite:///{tmp_path / 'queue.db'}"
    web = runtime_with(runtime, queue_url=queue_url)
    profiles = []
    with web.sessionmaker.begin() as session:
        for index in range(THREADS):
            profiles.append(
                make_profile(session, workspace_id=ws.id, email=f"p{index}@example.com").id
            )
    for profile_id in profiles:
        seed_events(web, workspace_id=ws.id, profile_id=profile_id, count=300)
    exported, erased = profiles[: THREADS // 2], profiles[THREADS // 2 :]

    workers = [
        WorkerThreads(runtime_with(runtime, queue_url=queue_url), threads=2) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    try:
        with TestClient(create_app(web)) as client:
            calls: list[Callable[[], Any]] = []
            for profile_id in exported:
                calls.append(
                    lambda p=profile_id: client.post(
                        f"/api/v1/profiles/{p}/export", headers=ws.admin
                    )
                )
            for profile_id in erased:
                calls.append(
                    lambda p=profile_id: client.post(
                        f"/api/v1/profiles/{p}/delete", json={"confirm": True}, headers=ws.admin
                    )
                )
            for index in range(4):
                events = [
                    {
                        "type": "Ingested",
                        "profile": {"external_id": f"x{index}"},
                        "properties": {"n": n},
                    }
                    for n in range(500)
                ]
                calls.append(
                    lambda e=events: client.post(
                        "/api/v1/events/batch", json={"events": e}, headers=ws.member
                    )
                )
            assert [r.status_code for r in race(calls)] == [202] * len(calls)

        def settled() -> bool:
            with read_only_session(web.sessionmaker) as session:
                exports = session.scalars(select(ExportRequest.status)).all()
                deletions = session.scalars(select(DeletionRequest.status)).all()
            return exports == ["ready"] * len(exported) and deletions == ["completed"] * len(erased)

        wait_until(settled, timeout=600, what="every export and erasure to finish")
    finally:
        for worker in workers:
            worker.stop()

    with read_only_session(web.sessionmaker) as session:
        built = session.scalars(select(ExportRequest)).all()
        assert {e.profile_id for e in built} == set(exported)
        assert all(e.event_count == 300 and e.attempts == 1 for e in built)  # built once each
        records = session.scalars(select(DeletionRequest)).all()
        assert [r.summary["verified"] for r in records] == [True] * len(erased)
        assert all(r.attempts == 1 for r in records)
        ingested = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "Ingested")
        )
        assert ingested == 4 * 500
    assert len(store_files(web)) == len(exported)


def test_concurrent_service_upserts_of_one_person_lose_no_update(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    from veil.profiles import service as profiles

    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="shared@example.com")

    def upsert(index: int) -> None:
        with runtime.sessionmaker.begin() as session:
            profiles.upsert(
                session,
                workspace_id=ws.id,
                data=profiles.ProfileInput(
                    identity=profiles.Identity.parse(region="US", email="shared@example.com"),
                    properties={f"k{index}": index},
                ),
            )

    assert race([lambda i=i: upsert(i) for i in range(THREADS)]) == [None] * THREADS
    with read_only_session(runtime.sessionmaker) as session:
        [properties] = session.scalars(select(Profile.properties)).all()
    assert properties == {f"k{i}": i for i in range(THREADS)}
