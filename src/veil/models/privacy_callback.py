"""One signed callback delivery (SPEC §8.6): a privacy request's status change, to one URL.

A row per (request, URL, announced status), written in the transaction that changed the
status, so a crash loses no delivery; `seq` orders the deliveries of one request, and a
delivery waits while an earlier one to the same URL is still pending.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, LeasedJobMixin, StrEnumType, WorkspaceRowMixin


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class PrivacyCallback(WorkspaceRowMixin, LeasedJobMixin, Base):
    __tablename__ = "privacy_request_callbacks"
    __table_args__ = (
        UniqueConstraint("request_id", "url", "announced_status"),
        Index("ix_privacy_request_callbacks_request_seq", "request_id", "seq"),
        Index("ix_privacy_request_callbacks_status_next", "status", "next_attempt_at"),
    )

    request_id: Mapped[str] = mapped_column(ForeignKey("privacy_requests.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    announced_status: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int]
    # The JSON body as of the status change (ids and dates only, never an identity); its
    # `reference` is null, filled in from the sealed one when sent (free_text.py).
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(
        StrEnumType(DeliveryStatus), default=DeliveryStatus.PENDING
    )
    last_status_code: Mapped[int | None] = mapped_column(default=None)
    last_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
