"""Every suppression query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from veil import db
from veil.kit.repository import WorkspaceRepository
from veil.models import (
    DeletionRequest,
    SuppressedDropCount,
    SuppressedIdentifier,
    Suppression,
    SuppressionKey,
)

# Digests per query: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 900


class SuppressionRepository(WorkspaceRepository[Suppression]):
    model = Suppression
    newest_by = (Suppression.created_at, Suppression.id)

    def sealed_key(self) -> str | None:
        return self.session.scalar(self.scoped(select(SuppressionKey.key_sealed), SuppressionKey))

    def matching(self, digests: Iterable[str]) -> dict[str, set[str]]:
        """digest -> ids of the suppressions holding it, for the digests that are suppressed:
        one indexed lookup per distinct digest, in as few queries as the IN limit allows."""
        wanted = sorted(set(digests))
        found: dict[str, set[str]] = {}
        columns = select(SuppressedIdentifier.digest, SuppressedIdentifier.suppression_id)
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            rows = self.session.execute(
                self.scoped(columns, SuppressedIdentifier).where(
                    self.one_of(SuppressedIdentifier.digest, chunk)
                )
            )
            for digest, suppression_id in rows:
                found.setdefault(digest, set()).add(suppression_id)
        return found

    def for_deleted_profile(self, profile_id: str) -> list[str]:
        """Ids of the suppressions made by the deletion of this profile."""
        made_by_its_deletion = self.scoped(
            exists().where(
                DeletionRequest.id == Suppression.deletion_id,
                DeletionRequest.profile_id == profile_id,
            ),
            DeletionRequest,
        )
        return list(
            self.session.scalars(self.scoped(select(Suppression.id)).where(made_by_its_deletion))
        )

    def count_drops(self, counts: dict[str, int], at: datetime) -> None:
        for suppression_id, count in counts.items():
            self.session.execute(
                self.scoped(update(Suppression))
                .where(Suppression.id == suppression_id)
                .values(dropped=Suppression.dropped + count, last_dropped_at=at)
            )

    def lift(self, suppression_id: str) -> bool:
        """Delete the entry and its digests; False when there was none."""
        self.session.execute(
            self.scoped(delete(SuppressedIdentifier), SuppressedIdentifier).where(
                SuppressedIdentifier.suppression_id == suppression_id
            )
        )
        result = self.session.execute(
            self.scoped(delete(Suppression)).where(Suppression.id == suppression_id)
        )
        return db.rowcount(result) > 0


class DropCountRepository(WorkspaceRepository[SuppressedDropCount]):
    """The workspace's drop counters: one row per UTC hour and source, counts only."""

    model = SuppressedDropCount

    def add(self, source: str, dropped: int, at: datetime) -> None:
        """Count `dropped` more drops from `source` in the hour of `at` (an atomic upsert)."""
        dialect = postgresql if self.session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(SuppressedDropCount).values(
            workspace_id=self.workspace_id,
            hour_start=at.replace(minute=0, second=0, microsecond=0),
            source=source,
            dropped=dropped,
        )
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["workspace_id", "hour_start", "source"],
                set_={"dropped": SuppressedDropCount.dropped + stmt.excluded.dropped},
            )
        )

    def since(self, start: datetime) -> list[tuple[datetime, str, int]]:
        """`(hour_start, source, dropped)` from `start` on, oldest first."""
        rows = self.session.execute(
            self.scoped(
                select(
                    SuppressedDropCount.hour_start,
                    SuppressedDropCount.source,
                    SuppressedDropCount.dropped,
                )
            )
            .where(SuppressedDropCount.hour_start >= start)
            .order_by(SuppressedDropCount.hour_start, SuppressedDropCount.source)
        )
        return [(hour, source, dropped) for hour, source, dropped in rows]


def all_sealed_keys(session: Session) -> Sequence[SuppressionKey]:
    """Every workspace's key (the re-seal after a secret rotation spans workspaces)."""
    return list(session.scalars(select(SuppressionKey)))
