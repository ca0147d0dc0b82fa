"""Audit log shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from veil.kit.time import rfc3339
from veil.models import AuditEntry


class AuditFilters(BaseModel):
    """`GET /api/v1/audit`'s filters (`?action=&target_id=`); none set lists every entry."""

    model_config = ConfigDict(frozen=True)  # read, never changed

    action: str | None = Field(default=None, max_length=64, description="Only this action.")
    target_id: str | None = Field(default=None, max_length=64, description="Only this target.")


class AuditEntryRead(BaseModel):
    id: str
    seq: int
    created_at: str
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]

    @classmethod
    def build(cls, entry: AuditEntry) -> AuditEntryRead:
        return cls(
            id=entry.id,
            seq=entry.seq,
            created_at=rfc3339(entry.created_at) or "",
            actor=entry.actor,
            action=entry.action,
            target_type=entry.target_type,
            target_id=entry.target_id,
            details=entry.details or {},
        )


class AuditPage(BaseModel):
    data: list[AuditEntryRead]
    next_cursor: str | None
