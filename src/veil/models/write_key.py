"""Write keys for the Segment-compatible ingestion API: ingest only, never read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from veil.models.base import Base, IdType, TimestampMixin


class WriteKey(TimestampMixin, Base):
    __tablename__ = "write_keys"

    id: Mapped[str] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Write keys live in merchants' site code, so admins may see them again: sealed too.
    key_sealed: Mapped[str] = mapped_column(String(400))
    prefix: Mapped[str] = mapped_column(String(24))
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
