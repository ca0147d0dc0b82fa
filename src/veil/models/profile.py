"""A person. Identifiers are unique among ACTIVE profiles of a workspace (partial indexes),
so a deleted profile's tombstone never blocks — or matches — a new profile for the same person."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from veil.models.base import Base, TimestampMixin, WorkspaceRowMixin

ACTIVE = "active"
DELETED = "deleted"

_active = text("status = 'active'")


def _active_unique(column: str) -> Index:
    where = text(f"status = 'active' AND {column} IS NOT NULL")
    return Index(
        f"uq_profiles_active_{column}",
        "workspace_id",
        column,
        unique=True,
        sqlite_where=where,
        postgresql_where=where,
    )


class Profile(WorkspaceRowMixin, TimestampMixin, Base):
    __tablename__ = "profiles"
    __table_args__ = (
        _active_unique("email"),
        _active_unique("phone"),
        _active_unique("external_id"),
        _active_unique("anonymous_id"),
        Index("ix_profiles_workspace_status_id", "workspace_id", "status", "id"),
    )

    status: Mapped[str] = mapped_column(String(16), default=ACTIVE)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    external_id: Mapped[str | None] = mapped_column(String(255), default=None)
    anonymous_id: Mapped[str | None] = mapped_column(String(255), default=None)
    first_name: Mapped[str | None] = mapped_column(String(200), default=None)
    last_name: Mapped[str | None] = mapped_column(String(200), default=None)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where the profile came from ("api", "segment", "shopify:<shop domain>", "tracking", "demo").
    origin: Mapped[str] = mapped_column(String(255), default="api")
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # GDPR art. 18 restriction (SPEC §9): kept and exportable, never a campaign recipient.
    restricted_at: Mapped[datetime | None] = mapped_column(default=None)
    restriction_reason: Mapped[str | None] = mapped_column(String(500), default=None)

    @property
    def restricted(self) -> bool:
        return self.restricted_at is not None

    @property
    def is_contact(self) -> bool:
        return bool(self.email or self.phone)

    @property
    def full_name(self) -> str | None:
        parts = [p for p in (self.first_name, self.last_name) if p]
        return " ".join(parts) or None
