"""A privacy request (SPEC §8): one person's data-subject request, naming them by identities.

The identities are kept only sealed (AEAD bound to the workspace and the request). The matched
profiles and the per-profile steps (exports of §4, deletions of §5) are JSON lists of ids:
they are written once per step and read whole, never queried by element.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, LeasedJobMixin, StrEnumType, WorkspaceRowMixin


class PrivacyRequestType(StrEnum):
    ACCESS = "access"
    ERASURE = "erasure"
    RESTRICTION = "restriction"


class PrivacyRequestStatus(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# Past these, a request is no longer running against its deadline (never overdue).
CLOSED_STATUSES = (PrivacyRequestStatus.COMPLETED, PrivacyRequestStatus.CANCELLED)
# What the worker still has to move forward.
RUNNABLE_STATUSES = (PrivacyRequestStatus.PENDING, PrivacyRequestStatus.IN_PROGRESS)


class Regulation(StrEnum):
    GDPR = "gdpr"
    UK_GDPR = "uk_gdpr"
    CCPA = "ccpa"
    LGPD = "lgpd"
    OTHER = "other"


class PrivacyRequestSource(StrEnum):
    API = "api"
    UI = "ui"
    BULK = "bulk"
    SHOPIFY = "shopify"
    OPENDSR = "opendsr"
    RETENTION = "retention"


class PrivacyRequest(WorkspaceRowMixin, LeasedJobMixin, Base):
    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index("ix_privacy_requests_workspace_created", "workspace_id", "created_at", "id"),
        Index("ix_privacy_requests_workspace_status_due", "workspace_id", "status", "due_at"),
        Index("ix_privacy_requests_status_next", "status", "next_attempt_at"),
        Index("ix_privacy_requests_batch", "batch_id"),
        # Idempotency-Key: one request per key and workspace, guarded by the database (two
        # concurrent creates with one key store one row). NULL keys never collide.
        Index("uq_privacy_requests_idempotency", "workspace_id", "idempotency_key", unique=True),
    )

    type: Mapped[PrivacyRequestType] = mapped_column(StrEnumType(PrivacyRequestType))
    status: Mapped[PrivacyRequestStatus] = mapped_column(
        StrEnumType(PrivacyRequestStatus), default=PrivacyRequestStatus.PENDING
    )
    regulation: Mapped[Regulation] = mapped_column(StrEnumType(Regulation))
    source: Mapped[PrivacyRequestSource] = mapped_column(StrEnumType(PrivacyRequestSource))
    identities_sealed: Mapped[str] = mapped_column(Text)
    # The requester's own id and the extension's reason are free text, which may name the
    # person: sealed at rest (`*_sealed`, veil.compliance.privacy_requests.free_text). The
    # plain columns are only read for rows written before the seal, which the sweep seals.
    reference: Mapped[str | None] = mapped_column(String(200), default=None)
    reference_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    received_at: Mapped[datetime]
    due_at: Mapped[datetime]
    extended: Mapped[bool] = mapped_column(default=False)
    extension_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    extension_reason_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    extended_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    requested_by: Mapped[str] = mapped_column(String(320))
    suppress: Mapped[bool] = mapped_column(default=False)
    profile_ids: Mapped[list[Any]] = mapped_column(default=list)
    export_ids: Mapped[list[Any]] = mapped_column(default=list)
    deletion_ids: Mapped[list[Any]] = mapped_column(default=list)
    verified: Mapped[bool | None] = mapped_column(default=None)
    callback_urls: Mapped[list[Any]] = mapped_column(default=list)
    # The Idempotency-Key's SHA-256 (free text chosen by the requester: never stored as is).
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    idempotency_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    # Set on a Shopify shop/redact parent (`shop:<domain>`): its step is the fan-out to one
    # erasure request per profile of the shop, instead of a match on identities.
    scope: Mapped[str | None] = mapped_column(String(255), default=None)
    # Requests of one bulk upload share this id: one job fans out over them.
    batch_id: Mapped[str | None] = mapped_column(String(40), default=None)
    # Steps are created once: from then on the job only checks whether they finished.
    steps_started: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
