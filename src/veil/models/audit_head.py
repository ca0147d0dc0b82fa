"""The newest entry of each workspace's audit chain: a removed last entry shows as a gap."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from veil.models.base import Base, IdType


class AuditHead(Base):
    __tablename__ = "audit_heads"

    workspace_id: Mapped[str] = mapped_column(
        IdType, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
