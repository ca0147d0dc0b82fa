"""Idempotency keys of incoming deliveries (Segment messageIds, Shopify webhook ids, opens),
unique per workspace and scope; pruned after VEIL_DEDUP_RETENTION (indexed by created_at)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, WorkspaceRowMixin


class DedupKey(WorkspaceRowMixin, Base):
    __tablename__ = "dedup_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "scope", "key"),)

    scope: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
