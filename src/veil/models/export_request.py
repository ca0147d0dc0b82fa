"""A request to export one profile (SPEC §4). The row is the source of truth for the job."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import (
    Base,
    LeasedJobMixin,
    ProfileRequestMixin,
    StrEnumType,
    WorkspaceRowMixin,
    sql_in,
)


class ExportStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    DOWNLOADED = "downloaded"
    EXPIRED = "expired"
    FAILED = "failed"


# Open: the profile has a request in flight or a file to fetch (one at most, by the index below).
OPEN_STATUSES = (ExportStatus.PENDING, ExportStatus.READY)
# The row still holds (or is about to hold) a file: the statuses that expire.
EXPIRING_STATUSES = (ExportStatus.PENDING, ExportStatus.READY, ExportStatus.DOWNLOADED)
# The Art. 12(3) deadline is met once a file is available; until then a late request is overdue.
UNFULFILLED_STATUSES = (ExportStatus.PENDING, ExportStatus.FAILED)

_open = text(sql_in("status", OPEN_STATUSES))


class ExportRequest(WorkspaceRowMixin, ProfileRequestMixin, LeasedJobMixin, Base):
    __tablename__ = "export_requests"
    __table_args__ = (
        # At most one open (pending/ready) request per profile: the database is the guard.
        Index(
            "uq_export_requests_open_profile",
            "workspace_id",
            "profile_id",
            unique=True,
            sqlite_where=_open,
            postgresql_where=_open,
        ),
        Index("ix_export_requests_workspace_requested", "workspace_id", "requested_at", "id"),
        Index("ix_export_requests_status", "status", "next_attempt_at"),
    )

    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    status: Mapped[ExportStatus] = mapped_column(
        StrEnumType(ExportStatus), default=ExportStatus.PENDING
    )
    expires_at: Mapped[datetime]
    ready_at: Mapped[datetime | None] = mapped_column(default=None)
    downloaded_at: Mapped[datetime | None] = mapped_column(default=None)
    download_count: Mapped[int] = mapped_column(default=0)
    expired_at: Mapped[datetime | None] = mapped_column(default=None)
    file_key: Mapped[str | None] = mapped_column(String(200), default=None)
    file_size: Mapped[int | None] = mapped_column(default=None)
    event_count: Mapped[int | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
