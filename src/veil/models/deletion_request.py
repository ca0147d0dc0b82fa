"""A request to erase one profile (SPEC §5): the permanent record that the workspace complied.

The subject's name, email and phone are kept only sealed (AEAD), readable by admins; the
identifiers the erasure job searches for are sealed too, and wiped when the job completes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import (
    Base,
    LeasedJobMixin,
    ProfileRequestMixin,
    StrEnumType,
    WorkspaceRowMixin,
)


class DeletionStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    # Still retried, less often (visible as failed in the Deleted table meanwhile).
    FAILED = "failed"


# The statuses a worker may claim.
RUNNABLE_STATUSES = (DeletionStatus.PENDING, DeletionStatus.PROCESSING, DeletionStatus.FAILED)


class DeletionRequest(WorkspaceRowMixin, ProfileRequestMixin, LeasedJobMixin, Base):
    __tablename__ = "deletion_requests"
    __table_args__ = (
        Index("ix_deletion_requests_workspace_requested", "workspace_id", "requested_at", "id"),
        Index("ix_deletion_requests_status", "status", "next_attempt_at"),
        # The sweep's "completed, storage not settled yet": equality on both columns.
        Index("ix_deletion_requests_storage", "status", "storage_settled_at"),
    )

    # One deletion per profile, ever.
    profile_id: Mapped[str] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[DeletionStatus] = mapped_column(
        StrEnumType(DeletionStatus), default=DeletionStatus.PENDING
    )
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    name_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    email_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    phone_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    # Every identifier of the subject the job must search for; wiped once verified.
    subject_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When the post-erasure storage step (WAL checkpoint / table rewrite) was done; NULL on a
    # completed request means the sweep still has to do it.
    storage_settled_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
