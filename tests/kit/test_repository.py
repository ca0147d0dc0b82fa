"""WorkspaceRepository.get: one statement per model, built once, scoped by the workspace bound
at execution (another workspace's id is not found), and a locked read that sees the row as the
database has it now; `one_of`: exactly its values, one statement text on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import event, select, update

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.errors import NotFound
from veil.models import Profile
from veil.profiles.repository import ProfileRepository
from veil.runtime import Runtime


def test_get_finds_only_this_workspaces_row(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        ours = make_profile(session, workspace_id=ws.id, email="ada@example.com").id
        theirs = make_profile(session, workspace_id=other_ws.id, email="ada@example.com").id
    with runtime.sessionmaker() as session:
        repo = ProfileRepository(session, ws.id)
        found = repo.get(ours)
        assert found is not None and found.id == ours and found.workspace_id == ws.id
        # The same statement, run again with other values, answers for those values only.
        assert repo.get(theirs) is None
        assert ProfileRepository(session, other_ws.id).get(theirs) is not None
        assert ProfileRepository(session, other_ws.id).get(ours) is None
        with pytest.raises(NotFound):
            repo.get_one(theirs, for_update=True)


def test_a_locked_get_reads_the_row_as_it_is_now(runtime: Runtime, ws: WorkspaceHandle) -> None:
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="ada@example.com").id
    with runtime.sessionmaker() as session:
        repo = ProfileRepository(session, ws.id)
        loaded = repo.get_one(profile_id)
        session.commit()  # the object stays loaded (expire_on_commit=False)
        with runtime.sessionmaker.begin() as other:
            other.execute(
                update(Profile).where(Profile.id == profile_id).values(first_name="Grace")
            )
        assert repo.get_one(profile_id) is loaded and loaded.first_name != "Grace"  # as loaded
        locked = repo.get_one(profile_id, for_update=True)
        assert locked is loaded and locked.first_name == "Grace"
        session.rollback()


def test_one_of_matches_exactly_its_values_with_one_statement_text_on_postgresql(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle, is_postgres: bool
) -> None:
    with runtime.sessionmaker.begin() as session:
        ours = [
            make_profile(session, workspace_id=ws.id, email=f"p{n}@example.com").id
            for n in range(4)
        ]
        theirs = make_profile(session, workspace_id=other_ws.id, email="p0@example.com").id
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE PROFILES"):
            statements.append(statement)

    touched_at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        with runtime.sessionmaker.begin() as session:
            repo = ProfileRepository(session, ws.id)
            repo.touch([ours[0]], touched_at)
            repo.touch([ours[1], ours[2], theirs, "prf_missing"], touched_at)
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)
    with runtime.sessionmaker() as session:
        stamps = {row[0]: row[1] for row in session.execute(select(Profile.id, Profile.updated_at))}
    assert [stamps[p] == touched_at for p in ours] == [True, True, True, False]
    assert stamps[theirs] != touched_at  # another workspace's id in the list: not touched
    assert len(statements) == 2
    if is_postgres:  # one text for one value and for four: cached and prepared once
        assert statements[0] == statements[1] and "ANY" in statements[0]
    else:
        assert statements[0] != statements[1] and " IN " in statements[0]
