"""Every event query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from veil.kit.repository import WorkspaceRepository
from veil.models import Event


class EventRepository(WorkspaceRepository[Event]):
    model = Event

    def of_profile(self, profile_id: str, *, type: str | None = None) -> Select[Any]:
        stmt = self.statement().where(Event.profile_id == profile_id)
        if type:
            stmt = stmt.where(Event.type == type)
        return stmt

    def by_message_id(self, message_id: str) -> Event | None:
        found: Event | None = self.session.scalar(
            self.statement().where(Event.message_id == message_id)
        )
        return found

    def known_message_ids(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these idempotency keys were delivered before (queried in chunks)."""
        wanted = sorted(set(message_ids))
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            known.update(
                m
                for m in self.session.scalars(
                    self.scoped(select(Event.message_id)).where(
                        # Implied by IN; said, PostgreSQL can use the partial index on
                        # message_id with an IN list of more than 100 values.
                        Event.message_id.is_not(None),
                        Event.message_id.in_(wanted[start : start + 500]),
                    )
                )
                if m is not None
            )
        return known

    def of_recipients(self, recipient_ids: Sequence[str]) -> list[Event]:
        """Campaign activity of these recipient records, oldest first."""
        if not recipient_ids:
            return []
        return list(
            self.session.scalars(
                self.statement()
                .where(Event.recipient_id.in_(list(recipient_ids)))
                .order_by(Event.timestamp, Event.id)
            )
        )
