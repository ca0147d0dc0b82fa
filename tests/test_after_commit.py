"""Jobs start only once the outermost transaction commits (a released SAVEPOINT is not a commit)."""

from __future__ import annotations

from sqlalchemy import text

from veil import db
from veil.runtime import Runtime


def test_a_released_savepoint_does_not_run_after_commit_callbacks(runtime: Runtime) -> None:
    ran: list[str] = []
    with runtime.sessionmaker() as session:
        session.execute(text("SELECT 1"))
        db.after_commit(session, lambda: ran.append("job"))
        with session.begin_nested():
            session.execute(text("SELECT 1"))
        assert ran == []
        session.commit()
    assert ran == ["job"]


def test_a_rollback_drops_the_callbacks(runtime: Runtime) -> None:
    ran: list[str] = []
    with runtime.sessionmaker() as session:
        session.execute(text("SELECT 1"))
        db.after_commit(session, lambda: ran.append("job"))
        session.rollback()
        session.commit()
    assert ran == []
