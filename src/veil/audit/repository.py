"""Audit log queries, scoped to one workspace."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from veil.models import AuditEntry


class AuditRepository:
    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def entries(
        self, *, action: str | None = None, target_id: str | None = None
    ) -> Select[AuditEntry]:
        stmt = select(AuditEntry).where(AuditEntry.workspace_id == self.workspace_id)
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if target_id:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        return stmt
