"""One message of a campaign to one profile. Kept after an erasure with a `redacted…` address."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, WorkspaceRowMixin


class Recipient(WorkspaceRowMixin, Base):
    __tablename__ = "recipients"
    __table_args__ = (
        Index("ix_recipients_profile", "workspace_id", "profile_id"),
        Index("ix_recipients_campaign", "workspace_id", "campaign_id", "id"),
    )

    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    status: Mapped[str] = mapped_column(String(16), default="sent")
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Unguessable per-recipient token for open/click tracking URLs.
    token: Mapped[str] = mapped_column(String(64), unique=True)
    redacted_at: Mapped[datetime | None] = mapped_column(default=None)
