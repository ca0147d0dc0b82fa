"""The retention sweep's queries, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, exists, func, select

from veil import db
from veil.kit.repository import WorkspaceRepository
from veil.models import Event, Profile
from veil.models.profile import ACTIVE


class RetentionRepository(WorkspaceRepository[Event]):
    model = Event

    def _old_events(self, cutoff: datetime) -> Select[Any]:
        """Events older than `cutoff` (by timestamp), except those of restricted profiles."""
        restricted = self.scoped(
            exists().where(Profile.id == Event.profile_id, Profile.restricted_at.is_not(None)),
            Profile,
        )
        return self.scoped(select(Event.id)).where(Event.timestamp < cutoff, ~restricted)

    def _inactive_profiles(self, cutoff: datetime) -> Select[Any]:
        """Active, unrestricted profiles with no update and no event since `cutoff`."""
        recent_event = self.scoped(
            exists().where(Event.profile_id == Profile.id, Event.timestamp >= cutoff)
        )
        return self.scoped(select(Profile.id), Profile).where(
            Profile.status == ACTIVE,
            Profile.restricted_at.is_(None),
            Profile.updated_at < cutoff,
            ~recent_event,
        )

    def count_old_events(self, cutoff: datetime) -> int:
        query = select(func.count()).select_from(self._old_events(cutoff).subquery())
        return int(self.session.scalar(query) or 0)

    def count_inactive_profiles(self, cutoff: datetime) -> int:
        query = select(func.count()).select_from(self._inactive_profiles(cutoff).subquery())
        return int(self.session.scalar(query) or 0)

    def delete_old_events(self, cutoff: datetime, *, limit: int) -> int:
        """Delete up to `limit` old events; how many went."""
        ids = list(self.session.scalars(self._old_events(cutoff).limit(limit)))
        if not ids:
            return 0
        result = self.session.execute(self.scoped(delete(Event)).where(Event.id.in_(ids)))
        return db.rowcount(result)

    def inactive_profile_ids(self, cutoff: datetime, *, limit: int) -> Sequence[str]:
        return list(
            self.session.scalars(self._inactive_profiles(cutoff).order_by(Profile.id).limit(limit))
        )
