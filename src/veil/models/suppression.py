"""Suppression (SPEC §9): an erased person kept out by keyed hashes of their identifiers.

A `Suppression` is one entry of the list admins see (which deletion made it, which kinds of
identifier it holds, how much data it has dropped). Its identifiers live in
`SuppressedIdentifier` rows as HMAC-SHA256 digests only — never the values — under the
workspace's `SuppressionKey`, a random key kept sealed by the secret keyring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, IdType, WorkspaceRowMixin


class Suppression(WorkspaceRowMixin, Base):
    __tablename__ = "suppressions"
    __table_args__ = (
        Index("ix_suppressions_workspace_created", "workspace_id", "created_at", "id"),
    )

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deletion_id: Mapped[str | None] = mapped_column(
        ForeignKey("deletion_requests.id", ondelete="SET NULL"), default=None, index=True
    )
    # A privacy request (SPEC §8) may suppress a person Veil holds no profile of.
    privacy_request_id: Mapped[str | None] = mapped_column(IdType, default=None)
    identifier_types: Mapped[list[Any]] = mapped_column(default=list)
    dropped: Mapped[int] = mapped_column(default=0)
    last_dropped_at: Mapped[datetime | None] = mapped_column(default=None)


class SuppressedIdentifier(WorkspaceRowMixin, Base):
    __tablename__ = "suppressed_identifiers"
    __table_args__ = (Index("ix_suppressed_identifiers_lookup", "workspace_id", "digest"),)

    suppression_id: Mapped[str] = mapped_column(
        ForeignKey("suppressions.id", ondelete="CASCADE"), index=True
    )
    # hex HMAC-SHA256 of "<type>:<normalised value>" under the workspace's suppression key.
    digest: Mapped[str] = mapped_column(String(64))


class SuppressionKey(Base):
    """The workspace's HMAC key, sealed; re-sealed under the newest secret after a rotation."""

    __tablename__ = "suppression_keys"

    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    key_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
