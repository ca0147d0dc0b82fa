"""The storage_settled_at migration back-fills the column from the old progress JSON key."""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from types import ModuleType

from sqlalchemy import update

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.deletions.erasure import storage_pending
from veil.kit.time import utcnow
from veil.models import DeletionRequest
from veil.models.deletion_request import DeletionStatus
from veil.runtime import Runtime
from veil.schema import MIGRATIONS


def migration() -> ModuleType:
    path = next((MIGRATIONS / "versions").glob("*_deletion_storage_settled.py"))
    spec = importlib.util.spec_from_file_location("deletion_storage_settled", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_backfill_settles_all_but_the_pending_ones(runtime: Runtime, ws: WorkspaceHandle) -> None:
    completed_at = utcnow() - timedelta(days=40)
    cases = {
        "settled": (DeletionStatus.COMPLETED, {"phase": "completed", "storage": "settled"}),
        "pending": (DeletionStatus.COMPLETED, {"phase": "completed", "storage": "pending"}),
        # Completed before the key existed: the old scan never retried these.
        "no_key": (DeletionStatus.COMPLETED, {"phase": "completed"}),
        "running": (DeletionStatus.PROCESSING, {"phase": "events"}),
    }
    with runtime.sessionmaker.begin() as session:
        for name, (status, progress) in cases.items():
            profile = make_profile(session, workspace_id=ws.id, email=f"{name}@example.com")
            session.add(
                DeletionRequest(
                    id=f"del_{name}",
                    workspace_id=ws.id,
                    profile_id=profile.id,
                    status=status,
                    requested_by="admin",
                    due_at=utcnow(),
                    completed_at=completed_at if status is DeletionStatus.COMPLETED else None,
                    progress=progress,
                    summary={},
                )
            )
    with runtime.engine.begin() as conn:
        conn.execute(update(DeletionRequest).values(storage_settled_at=None))
        migration().backfill(conn)

    with runtime.sessionmaker() as session:
        settled = {
            name: session.get_one(DeletionRequest, f"del_{name}").storage_settled_at
            for name in cases
        }
        assert settled["settled"] == completed_at and settled["no_key"] == completed_at
        assert settled["pending"] is None and settled["running"] is None
        # The sweep finds the pending one however long ago it completed (no 30-day window).
        assert storage_pending(session) == ["del_pending"]
