"""Suppression list shapes (SPEC §9): ids, kinds and counters, never an identifier."""

from __future__ import annotations

from pydantic import BaseModel, Field

from veil.kit.time import rfc3339
from veil.models import Suppression


class SuppressionRead(BaseModel):
    id: str
    created_at: str
    deletion_id: str | None
    privacy_request_id: str | None
    identifier_types: list[str] = Field(description='e.g. ["email", "phone"]')
    dropped: int = Field(description="how many payloads carrying these identifiers were dropped")
    last_dropped_at: str | None

    @classmethod
    def build(cls, entry: Suppression) -> SuppressionRead:
        return cls(
            id=entry.id,
            created_at=rfc3339(entry.created_at) or "",
            deletion_id=entry.deletion_id,
            privacy_request_id=entry.privacy_request_id,
            identifier_types=[str(t) for t in entry.identifier_types or []],
            dropped=entry.dropped,
            last_dropped_at=rfc3339(entry.last_dropped_at),
        )


class SuppressionPage(BaseModel):
    data: list[SuppressionRead]
    next_cursor: str | None
