"""Something a profile did. Kept after an erasure, with personal data scrubbed from `properties`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, WorkspaceRowMixin


class Event(WorkspaceRowMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_profile_timestamp", "workspace_id", "profile_id", "timestamp", "id"),
        Index("ix_events_recipient", "recipient_id"),
        # The retention sweep deletes by age across a workspace's events.
        Index("ix_events_workspace_timestamp", "workspace_id", "timestamp"),
        Index(
            "uq_events_workspace_message",
            "workspace_id",
            "message_id",
            unique=True,
            sqlite_where=text("message_id IS NOT NULL"),
            postgresql_where=text("message_id IS NOT NULL"),
        ),
    )

    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(String(16), default="api")
    campaign_id: Mapped[str | None] = mapped_column(
        ForeignKey("campaigns.id", ondelete="SET NULL"), default=None
    )
    recipient_id: Mapped[str | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="SET NULL"), default=None
    )
    # Client-supplied idempotency key (Segment messageId); unique per workspace.
    message_id: Mapped[str | None] = mapped_column(String(255), default=None)
