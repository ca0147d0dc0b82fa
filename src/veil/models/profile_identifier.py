"""A previous identifier of a profile (SPEC §9): an email, phone or external id it no longer has.

Kept so that a privacy request by an old email still finds the person, the export lists it and
the erasure searches for it and removes it. Never used by identity resolution (§2).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, WorkspaceRowMixin


class IdentifierType(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    EXTERNAL_ID = "external_id"


class ProfileIdentifier(WorkspaceRowMixin, Base):
    __tablename__ = "profile_identifiers"
    __table_args__ = (
        # A value held again and then replaced again is one row whose `until` moves on.
        UniqueConstraint("profile_id", "type", "value"),
        # Privacy-request matching: who ever had this email?
        Index("ix_profile_identifiers_lookup", "workspace_id", "type", "value"),
    )

    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    type: Mapped[IdentifierType] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(320))  # normalised as in §2
    until: Mapped[datetime]  # when it stopped being the profile's current value
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
