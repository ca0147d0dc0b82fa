"""Reads never queue behind a writer, and the database refuses writes inside them.

A long erasure commits batch after batch; on SQLite a GET that took the write lock (BEGIN
IMMEDIATE) would wait for it behind every batch and could starve. GET/HEAD requests read a
snapshot instead (veil.db.read_only_session), on both backends.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from tests.fixtures.factories import WorkspaceHandle
from veil.db import read_only_session
from veil.models import ApiKey, Workspace
from veil.runtime import Runtime


@pytest.fixture
def held_write_lock(runtime: Runtime, ws: WorkspaceHandle) -> Iterator[None]:
    """Another connection inside an open write transaction that has changed a row."""
    release = threading.Event()
    started = threading.Event()

    def hold() -> None:
        with runtime.sessionmaker.begin() as session:
            session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Busy"))
            session.flush()
            started.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert started.wait(timeout=30)
    try:
        yield
    finally:
        release.set()
        holder.join(timeout=60)


def test_a_get_answers_while_a_writer_holds_the_lock(
    client: TestClient, ws: WorkspaceHandle, held_write_lock: None
) -> None:
    # Without snapshot reads this request waits for the lock (30 s busy timeout) and fails.
    done: list[int] = []
    reader = threading.Thread(
        target=lambda: done.append(client.get("/api/v1/profiles", headers=ws.admin).status_code)
    )
    reader.start()
    reader.join(timeout=10)
    assert done == [200], "the GET queued behind the open write transaction"
    # The snapshot shows what was committed, not the writer's uncommitted change.
    settings = client.get("/api/v1/workspace", headers=ws.admin)
    assert settings.status_code == 200
    assert settings.json()["name"] == "Acme Store"


def test_the_database_refuses_writes_in_a_read_only_session(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with read_only_session(runtime.sessionmaker) as session:
        assert session.scalar(select(Workspace.name).where(Workspace.id == ws.id)) == "Acme Store"
        with pytest.raises(DBAPIError):
            session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Nope"))
    with runtime.sessionmaker() as session:
        assert session.scalar(select(Workspace.name).where(Workspace.id == ws.id)) == "Acme Store"
        # ... and a pooled connection that served a read writes again afterwards.
        session.execute(text("SELECT 1"))
        session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Renamed"))
        session.commit()
        assert session.scalar(select(Workspace.name).where(Workspace.id == ws.id)) == "Renamed"


def test_a_get_records_when_its_key_was_last_used(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        session.execute(update(ApiKey).values(last_used_at=None))
    assert client.get("/api/v1/profiles", headers=ws.admin).status_code == 200
    with runtime.sessionmaker() as session:
        used = session.scalars(select(ApiKey.last_used_at).where(ApiKey.role == "admin")).all()
    assert [u is not None for u in used] == [True]
