"""Every export-request query. Requests are scoped to one workspace through ExportRepository.

The background job and the sweep act on request ids (queue messages carry ids only) and on
all workspaces at once; their few unscoped lookups are the module functions at the bottom,
and everything they read after that is scoped by the workspace the row belongs to.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from veil.db import rowcount
from veil.kit.repository import WorkspaceRepository
from veil.models import ExportRequest, Profile
from veil.models.export_request import EXPIRING_STATUSES, OPEN_STATUSES, ExportStatus
from veil.profiles.repository import ProfileRepository


class ExportRepository(WorkspaceRepository[ExportRequest]):
    model = ExportRequest
    not_found = "Export request not found."
    newest_by = (ExportRequest.requested_at, ExportRequest.id)

    def open_past_expiry(self, profile_id: str, *, now: datetime) -> list[ExportRequest]:
        """Open requests of a profile whose TTL ran out before the sweep got to them."""
        return list(
            self.session.scalars(
                self.statement()
                .where(
                    ExportRequest.profile_id == profile_id,
                    ExportRequest.status.in_(OPEN_STATUSES),
                    ExportRequest.expires_at <= now,
                )
                .with_for_update()
            )
        )

    def listing(self, *, profile_id: str | None = None) -> Select[Any]:
        stmt = self.statement()
        if profile_id is not None:
            stmt = stmt.where(ExportRequest.profile_id == profile_id)
        return stmt

    def profiles_by_id(self, profile_ids: Sequence[str]) -> dict[str, Profile]:
        if not profile_ids:
            return {}
        stmt = (
            ProfileRepository(self.session, self.workspace_id)
            .statement()
            .where(Profile.id.in_(set(profile_ids)))
        )
        return {p.id: p for p in self.session.scalars(stmt)}


# -- unscoped, for the job, the sweep and operator tooling ------------------------------------


def get_by_id(
    session: Session, export_id: str, *, for_update: bool = False
) -> ExportRequest | None:
    stmt = select(ExportRequest).where(ExportRequest.id == export_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def past_expiry(session: Session, *, now: datetime, limit: int) -> list[ExportRequest]:
    """Requests of any workspace whose file must be destroyed now (skipping rows locked by
    a concurrent download or publish on PostgreSQL; the next pass gets them)."""
    return list(
        session.scalars(
            select(ExportRequest)
            .where(
                ExportRequest.status.in_(EXPIRING_STATUSES),
                ExportRequest.expires_at <= now,
            )
            .order_by(ExportRequest.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def extend_build_lease(session: Session, export_id: str, *, file_key: str, until: datetime) -> bool:
    """Extend a building job's lease, fenced by the file key the job was given at its claim.

    False when the job no longer owns the request (expired or erased meanwhile, or its lease
    ran out and another worker claimed it with a new file key): the job then stops.
    """
    result = session.execute(
        update(ExportRequest)
        .where(
            ExportRequest.id == export_id,
            ExportRequest.status == ExportStatus.PENDING,
            ExportRequest.file_key == file_key,
        )
        .values(lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def referenced_file_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these stored keys a request row (of any workspace) still names."""
    if not keys:
        return set()
    return set(
        session.scalars(select(ExportRequest.file_key).where(ExportRequest.file_key.in_(keys)))
    )
