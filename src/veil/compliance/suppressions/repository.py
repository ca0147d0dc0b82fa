"""Every suppression query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from veil import db
from veil.kit.repository import WorkspaceRepository
from veil.models import DeletionRequest, SuppressedIdentifier, Suppression, SuppressionKey

# Digests per query: well under SQLite's and PostgreSQL's bound-parameter limits.
_IN_CHUNK = 900


class SuppressionRepository(WorkspaceRepository[Suppression]):
    model = Suppression

    def sealed_key(self) -> str | None:
        return self.session.scalar(
            select(SuppressionKey.key_sealed).where(
                SuppressionKey.workspace_id == self.workspace_id
            )
        )

    def matching(self, digests: Iterable[str]) -> dict[str, set[str]]:
        """digest -> ids of the suppressions holding it, for the digests that are suppressed:
        one indexed lookup per distinct digest, in as few queries as the IN limit allows."""
        wanted = sorted(set(digests))
        found: dict[str, set[str]] = {}
        for start in range(0, len(wanted), _IN_CHUNK):
            rows = self.session.execute(
                select(SuppressedIdentifier.digest, SuppressedIdentifier.suppression_id).where(
                    SuppressedIdentifier.workspace_id == self.workspace_id,
                    SuppressedIdentifier.digest.in_(wanted[start : start + _IN_CHUNK]),
                )
            )
            for digest, suppression_id in rows:
                found.setdefault(digest, set()).add(suppression_id)
        return found

    def for_deleted_profile(self, profile_id: str) -> list[str]:
        """Ids of the suppressions made by the deletion of this profile."""
        return list(
            self.session.scalars(
                select(Suppression.id).where(
                    Suppression.workspace_id == self.workspace_id,
                    exists().where(
                        DeletionRequest.id == Suppression.deletion_id,
                        DeletionRequest.workspace_id == self.workspace_id,
                        DeletionRequest.profile_id == profile_id,
                    ),
                )
            )
        )

    def count_drops(self, counts: dict[str, int], at: datetime) -> None:
        for suppression_id, count in counts.items():
            self.session.execute(
                update(Suppression)
                .where(
                    Suppression.workspace_id == self.workspace_id, Suppression.id == suppression_id
                )
                .values(dropped=Suppression.dropped + count, last_dropped_at=at)
            )

    def lift(self, suppression_id: str) -> bool:
        """Delete the entry and its digests; False when there was none."""
        self.session.execute(
            delete(SuppressedIdentifier).where(
                SuppressedIdentifier.workspace_id == self.workspace_id,
                SuppressedIdentifier.suppression_id == suppression_id,
            )
        )
        result = self.session.execute(
            delete(Suppression).where(
                Suppression.workspace_id == self.workspace_id, Suppression.id == suppression_id
            )
        )
        return db.rowcount(result) > 0


def all_sealed_keys(session: Session) -> Sequence[SuppressionKey]:
    """Every workspace's key (the re-seal after a secret rotation spans workspaces)."""
    return list(session.scalars(select(SuppressionKey)))
