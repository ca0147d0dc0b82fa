"""SQLite write transactions queue in order on their engine's writer lock (veil.db).

Each write transaction takes the lock just before BEGIN IMMEDIATE and hands it on when its
COMMIT or ROLLBACK is done, whatever ends it; read-only snapshots never take it; savepoints and
after-commit work in the same thread do not wait for themselves. (Web requests and two worker
threads sharing one engine: tests/compliance/test_concurrency.py.) No timings are asserted
here: the latency this buys is measured by the benchmark (BENCHMARKS.md, round three).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tests.fixtures.factories import WorkspaceHandle
from veil.db import (
    WRITE_WAIT,
    SQLiteWriters,
    after_commit,
    read_only_session,
    session_scope,
    sqlite_writers,
)
from veil.kit.fifo_lock import FifoLock
from veil.models import ApiKey, Workspace
from veil.runtime import Runtime


def test_only_sqlite_engines_have_a_writer_lock(runtime: Runtime, is_postgres: bool) -> None:
    # PostgreSQL locks rows, not the database: its writers do not queue in the process.
    assert (sqlite_writers(runtime.engine) is None) == is_postgres


@pytest.fixture
def writers(runtime: Runtime, is_postgres: bool) -> SQLiteWriters:
    if is_postgres:
        pytest.skip("the writer lock is SQLite's (PostgreSQL: the test above)")
    found = sqlite_writers(runtime.engine)
    assert found is not None
    assert not found.lock.locked
    return found


def rename(runtime: Runtime, ws: WorkspaceHandle, name: str) -> None:
    with session_scope(runtime.sessionmaker) as session:
        session.execute(update(Workspace).where(Workspace.id == ws.id).values(name=name))


def writing(runtime: Runtime, ws: WorkspaceHandle, name: str) -> Session:
    """A session inside a write transaction (it holds the lock) that renamed the workspace."""
    session = runtime.sessionmaker()
    session.execute(update(Workspace).where(Workspace.id == ws.id).values(name=name))
    return session


def workspace_name(runtime: Runtime, ws: WorkspaceHandle) -> str | None:
    with read_only_session(runtime.sessionmaker) as session:
        return session.scalar(select(Workspace.name).where(Workspace.id == ws.id))


@pytest.fixture
def held(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> Iterator[Callable[[], None]]:
    """Another thread inside an open write transaction, holding the lock until the callable
    this yields (or the end of the test) commits it."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        with session_scope(runtime.sessionmaker) as session:
            session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Held"))
            started.set()
            release.wait(timeout=60)

    holder = threading.Thread(target=hold)
    holder.start()
    assert started.wait(timeout=30)

    def commit() -> None:
        release.set()
        holder.join(timeout=60)

    try:
        yield commit
    finally:
        commit()
    assert not writers.lock.locked


def test_a_commit_hands_the_lock_on(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> None:
    session = writing(runtime, ws, "Committed")
    assert writers.lock.locked
    session.commit()
    assert not writers.lock.locked
    session.close()
    assert workspace_name(runtime, ws) == "Committed"


def test_a_rollback_an_exception_and_a_forgotten_session_hand_it_on(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> None:
    session = writing(runtime, ws, "Rolled back")
    session.rollback()
    assert not writers.lock.locked
    session.close()

    with pytest.raises(ZeroDivisionError), session_scope(runtime.sessionmaker) as session:
        session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Raised"))
        assert writers.lock.locked
        _ = 1 / 0
    assert not writers.lock.locked

    # Closed without commit or rollback: the pool's reset rolls back and hands the lock on.
    session = writing(runtime, ws, "Forgotten")
    session.close()
    assert not writers.lock.locked
    assert workspace_name(runtime, ws) == "Acme Store"


def test_a_connection_that_dies_in_its_transaction_hands_it_on(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> None:
    session = writing(runtime, ws, "Lost")
    session.connection().invalidate()
    assert not writers.lock.locked
    session.close()
    rename(runtime, ws, "After")
    assert workspace_name(runtime, ws) == "After"


def test_a_failed_begin_hands_it_on(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> None:
    # Another process holds SQLite's write lock (a separate `veil worker`): BEGIN IMMEDIATE
    # gives up after the busy timeout and the in-process lock must not stay taken.
    other = runtime.engine.raw_connection()
    try:
        cursor = other.cursor()
        # A pooled connection may come back from a read-only snapshot (query_only=1).
        cursor.execute("PRAGMA query_only=0")
        cursor.execute("BEGIN IMMEDIATE")
        with runtime.engine.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=50")  # outside any transaction
            try:
                with pytest.raises(OperationalError, match="database is locked"), conn.begin():
                    pass
            finally:
                driver.execute("PRAGMA busy_timeout=30000")
        assert not writers.lock.locked
    finally:
        other.rollback()
        other.close()
    rename(runtime, ws, "Free again")
    assert workspace_name(runtime, ws) == "Free again"


def test_reads_never_take_it(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters, held: Callable[[], None]
) -> None:
    with read_only_session(runtime.sessionmaker) as session:
        # The committed name, not the holder's; and no reader queued behind the writer.
        assert session.scalar(select(Workspace.name).where(Workspace.id == ws.id)) == "Acme Store"
        assert writers.lock.waiting == 0


def test_savepoints_and_after_commit_work_do_not_wait_for_themselves(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters
) -> None:
    seen: list[str | None] = []
    with session_scope(runtime.sessionmaker) as session:
        session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Outer"))
        with session.begin_nested():
            session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Nested"))
        nested = session.begin_nested()
        session.execute(update(Workspace).where(Workspace.id == ws.id).values(name="Undone"))
        nested.rollback()
        assert writers.lock.locked
        # A job enqueued after commit may run at once in this thread and open its own write
        # transaction: the lock must already be free by then.
        after_commit(session, lambda: rename(runtime, ws, "After commit"))
        after_commit(session, lambda: seen.append(workspace_name(runtime, ws)))
    assert seen == ["After commit"]
    assert not writers.lock.locked


def test_writers_are_served_in_the_order_they_asked(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters, held: Callable[[], None]
) -> None:
    order: list[int] = []

    def write(n: int) -> None:
        with session_scope(runtime.sessionmaker) as session:
            session.execute(update(Workspace).where(Workspace.id == ws.id).values(name=f"W{n}"))
            order.append(n)

    threads = []
    for n in range(6):
        thread = threading.Thread(target=write, args=(n,))
        thread.start()
        threads.append(thread)
        # The next writer starts only once this one is queued.
        wait_for(lambda n=n: writers.lock.waiting == n + 1)
    assert order == []
    held()
    for thread in threads:
        thread.join(timeout=60)
    assert order == list(range(6))
    assert workspace_name(runtime, ws) == "W5"


def test_a_writer_that_waits_longer_than_it_may_fails_as_sqlite_would(
    runtime: Runtime, ws: WorkspaceHandle, writers: SQLiteWriters, held: Callable[[], None]
) -> None:
    with runtime.engine.connect() as conn:
        conn.execution_options(**{WRITE_WAIT: 0.05})
        with pytest.raises(OperationalError, match="database is locked"), conn.begin():
            conn.execute(update(Workspace).values(name="Too late"))
    assert writers.lock.locked and writers.lock.waiting == 0  # still the holder's


def test_a_refused_key_is_answered_without_waiting_for_the_writer(
    client: TestClient, ws: WorkspaceHandle, writers: SQLiteWriters, held: Callable[[], None]
) -> None:
    # Authentication reads a snapshot: a bad key on a write route is refused at once.
    done: list[int] = []
    request = threading.Thread(
        target=lambda: done.append(
            client.post(
                "/api/v1/events",
                json={"type": "Viewed", "profile": {"email": "a@example.com"}},
                headers={"Authorization": "Bearer vk_live_not-a-key"},
            ).status_code
        )
    )
    request.start()
    request.join(timeout=10)
    assert done == [401]
    assert writers.lock.waiting == 0


def test_a_write_request_records_when_its_key_was_last_used(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        session.execute(update(ApiKey).values(last_used_at=None))
    answer = client.post(
        "/api/v1/events",
        json={"type": "Viewed", "profile": {"email": "a@example.com"}},
        headers=ws.member,
    )
    assert answer.status_code == 202
    with read_only_session(runtime.sessionmaker) as session:
        used = session.scalars(select(ApiKey.last_used_at).where(ApiKey.role == "member")).all()
    assert [u is not None for u in used] == [True]


def test_the_fifo_lock_hands_itself_over_in_order_and_times_out_cleanly() -> None:
    lock = FifoLock()
    assert lock.acquire()
    assert not lock.acquire(timeout=0.01)
    assert lock.waiting == 0
    order: list[int] = []

    def take(n: int) -> None:
        assert lock.acquire(timeout=60)
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        thread = threading.Thread(target=take, args=(n,))
        thread.start()
        threads.append(thread)
        wait_for(lambda n=n: lock.waiting == n + 1)
    lock.release()
    for thread in threads:
        thread.join(timeout=60)
    assert order == list(range(5))
    assert not lock.locked
    with pytest.raises(RuntimeError):
        lock.release()


def wait_for(condition: Callable[[], bool]) -> None:
    event = threading.Event()
    for _ in range(3000):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not reached in 30 s")
