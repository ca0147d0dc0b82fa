"""Delivery ids are kept for VEIL_DEDUP_RETENTION and then pruned by the sweep: a redelivery
inside the window is still a duplicate, the table does not grow forever."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

import veil.tasks  # noqa: F401
from tests.fixtures.factories import WorkspaceHandle
from tests.integrations.support import events, profiles
from veil.integrations import tasks
from veil.kit.time import utcnow
from veil.models import DedupKey
from veil.runtime import Runtime
from veil.worker.queue import SWEEPERS, sweep


def _track(client: TestClient, ws: WorkspaceHandle, message_id: str) -> None:
    body = {"userId": "u-1", "event": "Placed Order", "messageId": message_id}
    response = client.post("/v1/track", json=body, auth=(ws.write_key, ""))
    assert response.status_code == 200, response.text


def _keys(runtime: Runtime) -> int:
    with runtime.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(DedupKey)) or 0)


def _age_all(runtime: Runtime, by: timedelta) -> None:
    with runtime.sessionmaker.begin() as session:
        session.execute(update(DedupKey).values(created_at=utcnow() - by))


def test_the_sweep_prunes_ids_older_than_the_retention_only(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    _track(client, ws, "m-old")
    _age_all(runtime, runtime.settings.dedup_retention + timedelta(minutes=1))
    _track(client, ws, "m-new")
    assert _keys(runtime) == 2

    sweep(runtime)

    assert _keys(runtime) == 1
    # Both still de-duplicate: a recorded event keeps its messageId, the key only covers the
    # window in which a message may be retried.
    _track(client, ws, "m-new")
    _track(client, ws, "m-old")
    (profile,) = profiles(client, ws)
    assert len(events(client, ws, profile["id"])) == 2


def test_ids_inside_the_retention_survive_the_sweep(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    _track(client, ws, "m-1")
    _age_all(runtime, runtime.settings.dedup_retention - timedelta(minutes=1))
    sweep(runtime)
    assert _keys(runtime) == 1
    _track(client, ws, "m-1")
    (profile,) = profiles(client, ws)
    assert len(events(client, ws, profile["id"])) == 1


def test_pruning_works_in_batches(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(7):
        _track(client, ws, f"m-{n}")
    _age_all(runtime, runtime.settings.dedup_retention + timedelta(hours=1))
    monkeypatch.setattr(tasks, "PRUNE_BATCH", 3)
    assert tasks.prune_dedup_keys(runtime) == 7
    assert _keys(runtime) == 0


def test_the_worker_knows_the_sweeper() -> None:
    assert "dedup_keys" in SWEEPERS
