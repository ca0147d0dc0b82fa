"""Half a year of GDPR requests for the demo store, so Settings → Compliance → Overview has a
history to chart: export requests by customers (their files long expired), erasures of former
customers (tombstone profiles with their permanent, sealed deletion record) and one export
that failed and waits for a retry.

The erased people never existed as full profiles here: they are born tombstones, so nothing of
them is left to scrub, exactly as after a real erasure.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from veil.compliance.deletions.service import sealed_contact
from veil.demo.catalogue import COUNTRIES
from veil.demo.people import Customer, Seeding, SeedingPart
from veil.kit.crypto import Keyring
from veil.kit.ids import new_id
from veil.kit.time import add_months
from veil.models.profile import DELETED

WEEKS = 26
SOURCES = ("ui", "ui", "api", "shopify")
DPO = "dpo@demo.veil"


class Requests(SeedingPart):
    def __init__(self, seeding: Seeding, keyring: Keyring) -> None:
        super().__init__(seeding)
        self.keyring = keyring
        self.exports: list[dict[str, Any]] = []
        self.deletions: list[dict[str, Any]] = []
        self.tombstones: list[dict[str, Any]] = []
        # (deletion id, completed at, email): what demo/suppressions.py may keep out.
        self.erased: list[tuple[str, datetime, str]] = []
        # Who each export was for and where each erased person lived: the subjects of the
        # privacy requests these steps answered (demo/privacy.py). Bookkeeping only: no draws.
        self.exported: dict[str, Customer] = {}
        self.erased_in: dict[str, str] = {}

    def _minutes(self, typical: float, slow_share: float) -> timedelta:
        """Most requests finish in minutes; a few wait hours (a retry, a large history)."""
        if self.rng.random() < slow_share:
            return timedelta(hours=self.rng.uniform(1, 30))
        return timedelta(minutes=self.rng.lognormvariate(0, 0.8) * typical)

    def _when(self, week: int) -> datetime:
        start = self.anchor - timedelta(weeks=week + 1)
        return start + timedelta(seconds=self.rng.randrange(7 * 86400 - 3600))

    def history(self, customers: Sequence[Customer]) -> None:
        per_week = max(1, len(customers) // 60)
        for week in range(1, WEEKS):  # nothing this week: the week so far is the live store's
            for _ in range(self.rng.randint(0, per_week + 1)):
                self._export(self.rng.choice(customers), self._when(week))
            if self.rng.random() < 0.55:
                self._erasure(self._when(week))
        self._failed_export(self.rng.choice(customers))

    def _export(self, person: Customer, at: datetime, **overrides: Any) -> None:
        ready = at + self._minutes(2.0, 0.05)
        export_id = new_id("exp")
        self.exported[export_id] = person
        self.exports.append(
            {
                "id": export_id,
                "workspace_id": self.workspace_id,
                "profile_id": person.id,
                "status": "expired",
                "requested_at": at,
                "requested_by": DPO,
                "source": self.rng.choice(SOURCES),
                "due_at": add_months(at, 1),
                "expires_at": at + timedelta(days=7),
                "ready_at": ready,
                "downloaded_at": ready + timedelta(hours=self.rng.uniform(0.2, 48)),
                "download_count": 1,
                "expired_at": at + timedelta(days=7),
                "event_count": self.rng.randint(20, 400),
                "attempts": 1,
                **overrides,
            }
        )

    def _failed_export(self, person: Customer) -> None:
        at = self.anchor - timedelta(days=2, hours=5)
        self._export(
            person,
            at,
            status="failed",
            ready_at=None,
            downloaded_at=None,
            download_count=0,
            expired_at=None,
            event_count=None,
            attempts=5,
            last_error="storage_unavailable",
        )

    def _erasure(self, at: datetime) -> None:
        country = self.rng.choices([c for c, _w in COUNTRIES], weights=[w for _c, w in COUNTRIES])[
            0
        ]
        fake = self.fakers[country.locale]
        name = f"{fake.first_name()} {fake.last_name()}"
        local = unicodedata.normalize("NFKD", name.lower().replace(" ", "."))
        email = f"{local.encode('ascii', 'ignore').decode()}@{fake.free_email_domain()}"
        profile_id, request_id = new_id("prf"), new_id("del")
        done = at + self._minutes(3.0, 0.08)
        self.erased.append((request_id, done, email))
        self.erased_in[request_id] = country.region
        self.tombstones.append(
            {
                "id": profile_id,
                "workspace_id": self.workspace_id,
                "status": DELETED,
                "origin": "shopify",
                "properties": {},
                "deleted_at": at,
                "created_at": at - timedelta(days=self.rng.randint(60, 700)),
                "updated_at": done,
            }
        )
        self.deletions.append(
            {
                "id": request_id,
                "workspace_id": self.workspace_id,
                "profile_id": profile_id,
                "status": "completed",
                "requested_at": at,
                "requested_by": DPO,
                "source": self.rng.choice(SOURCES),
                "due_at": add_months(at, 1),
                "started_at": at + timedelta(seconds=2),
                "completed_at": done,
                **sealed_contact(
                    self.keyring,
                    workspace_id=self.workspace_id,
                    request_id=request_id,
                    name=name,
                    email=email,
                    phone=None,
                ),
                "summary": {
                    "events_scrubbed": self.rng.randint(5, 300),
                    "recipients_redacted": self.rng.randint(0, 3),
                    "consents_deleted": self.rng.randint(0, 2),
                    "exports_destroyed": 0,
                    "verified": True,
                },
                "progress": {"phase": "completed", "cursor": None, "pass": 1, "counts": {}},
                # Born a tombstone: nothing of the person ever reached storage to settle.
                "storage_settled_at": done,
                "attempts": 1,
            }
        )
