"""How much incoming data suppression kept out (SPEC §9), per workspace, hour and entry point.

The compliance dashboard charts it by week. One row per (workspace, UTC hour, source) holds a
count and nothing else: no identifier, digest, payload or suppression id, so the numbers stay
when a suppression is lifted and say nothing about who was dropped. Hours rather than days:
the dashboard groups by week in the workspace's own time zone, and a UTC day can straddle two
of its weeks.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from veil.models.base import Base, IdType


class SuppressedDropCount(Base):
    __tablename__ = "suppressed_drop_counts"

    workspace_id: Mapped[str] = mapped_column(
        IdType, ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    # The start of the UTC hour the drops happened in.
    hour_start: Mapped[datetime] = mapped_column(primary_key=True)
    # The entry point: api, segment, shopify or tracking (veil_suppressed_drops_total's label).
    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    dropped: Mapped[int] = mapped_column(default=0)
