"""Marketing consent per profile and channel (`email`, `sms`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from veil.kit.time import utcnow
from veil.models.base import Base, IdType


class Consent(Base):
    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("profile_id", "channel"),)

    id: Mapped[str] = mapped_column(IdType, primary_key=True)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), index=True
    )
    profile_id: Mapped[str] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64), default="api")
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
