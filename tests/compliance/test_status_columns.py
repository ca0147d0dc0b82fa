"""Typed statuses: StrEnums in Python, the same plain strings in the database as before."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.kit.time import utcnow
from veil.models import DeletionRequest
from veil.models.deletion_request import DeletionStatus
from veil.models.export_request import OPEN_STATUSES, ExportRequest, ExportStatus
from veil.runtime import Runtime


def test_statuses_are_stored_as_their_plain_values(runtime: Runtime, ws: WorkspaceHandle) -> None:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        session.add(
            DeletionRequest(
                id="del_typed",
                workspace_id=ws.id,
                profile_id=profile.id,
                status=DeletionStatus.PROCESSING,
                requested_by="admin",
                due_at=utcnow(),
                progress={},
                summary={},
            )
        )
    with runtime.engine.connect() as conn:
        stored = conn.execute(text("SELECT status FROM deletion_requests")).scalar_one()
    assert type(stored) is str and stored == "processing"
    with runtime.engine.begin() as conn:  # a row written by older code, as a plain string
        conn.execute(text("UPDATE deletion_requests SET status = 'completed'"))
    with runtime.sessionmaker() as session:
        status = session.get_one(DeletionRequest, "del_typed").status
    assert status is DeletionStatus.COMPLETED


def test_an_unknown_status_is_refused_before_it_reaches_the_database(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with pytest.raises(StatementError), runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        session.add(
            ExportRequest(
                id="exp_typed",
                workspace_id=ws.id,
                profile_id=profile.id,
                status="done",
                requested_by="admin",
                due_at=utcnow(),
                expires_at=utcnow(),
            )
        )


def test_the_open_index_is_generated_from_the_open_statuses() -> None:
    index = next(i for i in ExportRequest.__table__.indexes if i.name.endswith("open_profile"))  # type: ignore[attr-defined]
    where = str(index.dialect_options["postgresql"]["where"])
    assert where == "status IN ('pending', 'ready')"
    assert {ExportStatus(s) for s in ("pending", "ready")} == set(OPEN_STATUSES)
