"""WorkspaceRepository.get: one statement per model, built once, scoped by the workspace bound
at execution (another workspace's id is not found), and a locked read that sees the row as the
database has it now."""

from __future__ import annotations

import pytest
from sqlalchemy import update

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
