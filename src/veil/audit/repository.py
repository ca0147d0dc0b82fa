"""Audit log queries, scoped to one workspace."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from veil.kit.repository import WorkspaceRepository
from veil.models import AuditEntry


class AuditRepository(WorkspaceRepository[AuditEntry]):
    model = AuditEntry

    def entries(self, *, action: str | None = None, target_id: str | None = None) -> Select[Any]:
        stmt = self.statement()
        if action:
            stmt = stmt.where(AuditEntry.action == action)
        if target_id:
            stmt = stmt.where(AuditEntry.target_id == target_id)
        return stmt
