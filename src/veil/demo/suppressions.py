"""Suppressed people for the demo store, and the data they kept out (Settings → Compliance →
Suppressions and the overview's "Suppressed drops by week").

Some of the demo's erasures also suppressed the person, as `suppress: true` does (SPEC §9):
real keyed digests of their email and Shopify customer id under the workspace's suppression
key, so their data is refused if it arrives now. After the erasure their browser, old campaign
links and the shop kept sending a little data about them, most of it in the first weeks;
each drop is counted on its entry and in the workspace's hourly counters, exactly where the
screening writes live drops. Drawn after everything else, so the rest of the store is the same
as without them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from veil.compliance.suppressions.service import digest
from veil.demo.people import Seeding, SeedingPart
from veil.kit.ids import new_id
from veil.profiles.identifiers import normalize_email, normalize_external_id

SUPPRESSED_SHARE = 0.6
# Where data about an erased shopper still comes from, and how often.
DROP_SOURCES: tuple[str, ...] = ("segment", "tracking", "shopify", "api")
DROP_SOURCE_WEIGHTS: tuple[float, ...] = (50, 24, 18, 8)
DROPS_PER_PERSON: tuple[int, ...] = (0, 1, 2, 3, 5, 8, 14)
DROPS_PER_PERSON_WEIGHTS: tuple[float, ...] = (3, 3, 3, 2, 2, 1, 1)
# Days after the erasure, on average, that a drop arrives (returning visits thin out).
MEAN_DAYS_AFTER = 12.0


class Suppressions(SeedingPart):
    def __init__(self, seeding: Seeding) -> None:
        super().__init__(seeding)
        self.entries: list[dict[str, Any]] = []
        self.identifiers: list[dict[str, Any]] = []
        self.counters: list[dict[str, Any]] = []

    def history(self, key: bytes, erased: list[tuple[str, datetime, str]]) -> None:
        """`erased`: (deletion id, when the erasure completed, the email it erased)."""
        hourly: Counter[tuple[datetime, str]] = Counter()
        for deletion_id, done, email in erased:
            if self.rng.random() >= SUPPRESSED_SHARE:
                continue
            customer_id = f"shopify:{7_100_000_000 + self.rng.randrange(900_000_000)}"
            entry_id = new_id("sup")
            drops = self._drops(done)
            for at, source in drops:
                hourly[(at.replace(minute=0, second=0, microsecond=0), source)] += 1
            self.entries.append(
                {
                    "id": entry_id,
                    "workspace_id": self.workspace_id,
                    "created_at": done,
                    "deletion_id": deletion_id,
                    "identifier_types": ["email", "external_id"],
                    "dropped": len(drops),
                    "last_dropped_at": max((at for at, _s in drops), default=None),
                }
            )
            self.identifiers += [
                {
                    "id": new_id("sid"),
                    "workspace_id": self.workspace_id,
                    "suppression_id": entry_id,
                    "digest": digest(key, kind, value),
                }
                for kind, value in (
                    ("email", normalize_email(email) or email),
                    ("external_id", normalize_external_id(customer_id) or customer_id),
                )
            ]
        self.counters = [
            {
                "workspace_id": self.workspace_id,
                "hour_start": hour,
                "source": source,
                "dropped": count,
            }
            for (hour, source), count in sorted(hourly.items())
        ]

    def _drops(self, done: datetime) -> list[tuple[datetime, str]]:
        drops: list[tuple[datetime, str]] = []
        for _ in range(self.rng.choices(DROPS_PER_PERSON, DROPS_PER_PERSON_WEIGHTS)[0]):
            at = done + timedelta(days=self.rng.expovariate(1 / MEAN_DAYS_AFTER))
            source = self.rng.choices(DROP_SOURCES, DROP_SOURCE_WEIGHTS)[0]
            if at < self.anchor:
                drops.append((at, source))
        return sorted(drops)
