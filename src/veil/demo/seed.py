"""Seeding the demo store: a believable outdoor-gear shop with customers, orders and campaigns.

Deterministic content (Faker and `random` seeded; ids and tracking tokens stay random, so they
remain unguessable), bulk inserts in one transaction (all or nothing), and idempotent: the demo
workspace is recognised by its admin login, so running `veil demo` twice seeds once.

What it holds, by default: 240 customers (names, emails, E.164 phones valid for their country,
addresses, custom attributes, email/SMS consent), 10 anonymous visitors, about 20,000 events
(Shopify-shaped `Placed Order` and `Started Checkout` with nested addresses and line items,
`Viewed Product`, `Added to Cart`), two campaigns and one flow with recipient records, and
`Opened Email` / `Clicked Email` / `Clicked SMS` events linked by campaign_id and recipient_id,
half a year of GDPR requests (demo/requests.py) for the compliance overview, the suppressed
people among the erased with the data they kept out (demo/suppressions.py), and the privacy
requests behind them all, with a few more still open (demo/privacy.py).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faker import Faker
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.auth.principal import ADMIN, MEMBER
from veil.compliance.suppressions.keys import key_for_writing
from veil.db import session_scope
from veil.demo.catalogue import COUNTRIES, catalogue
from veil.demo.history import History
from veil.demo.people import Customer, People, Seeding
from veil.demo.privacy import PrivacyRequests
from veil.demo.requests import Requests
from veil.demo.suppressions import Suppressions
from veil.kit.time import utcnow
from veil.models import (
    Campaign,
    Consent,
    DeletionRequest,
    Event,
    ExportRequest,
    Membership,
    PrivacyRequest,
    Profile,
    Recipient,
    SuppressedDropCount,
    SuppressedIdentifier,
    Suppression,
    User,
)
from veil.models.profile import ACTIVE
from veil.runtime import Runtime
from veil.workspaces.service import create_user, create_workspace

WORKSPACE_NAME = "Demo Store"
ADMIN_EMAIL = "admin@demo.veil"
MEMBER_EMAIL = "member@demo.veil"
# Documented in the README: a demo login, never a real one.
DEMO_PASSWORD = "veil-demo-2026"  # noqa: S105

DEFAULT_PROFILES = 240
DEFAULT_EVENTS = 20_000
DEFAULT_SEED = 2026
_CHUNK = 2000


@dataclass
class DemoStore:
    workspace_id: str
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def find_demo_workspace(session: Session) -> str | None:
    """The demo workspace: the one where the demo admin login is an admin."""
    return session.scalar(
        select(Membership.workspace_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == ADMIN_EMAIL, Membership.role == ADMIN)
        .order_by(Membership.created_at)
        .limit(1)
    )


def count_demo(session: Session, workspace_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    counts["profiles"] = int(
        session.scalar(
            select(func.count())
            .select_from(Profile)
            .where(Profile.workspace_id == workspace_id, Profile.status == ACTIVE)
        )
        or 0
    )
    for name, model in (
        ("events", Event),
        ("campaigns", Campaign),
        ("recipients", Recipient),
        ("consents", Consent),
    ):
        counts[name] = int(
            session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            or 0
        )
    flows = session.scalar(
        select(func.count())
        .select_from(Campaign)
        .where(Campaign.workspace_id == workspace_id, Campaign.kind == "flow")
    )
    # "campaigns" counts both kinds; the banner tells them apart ("2 campaigns and a flow").
    counts["flows"] = int(flows or 0)
    return counts


def seed_demo(
    runtime: Runtime,
    *,
    profiles: int = DEFAULT_PROFILES,
    events: int = DEFAULT_EVENTS,
    seed: int = DEFAULT_SEED,
) -> DemoStore:
    """Seed the demo store once; later calls find it and return its counts (created=False)."""
    with session_scope(runtime.sessionmaker) as session:
        existing = find_demo_workspace(session)
        if existing is not None:
            return DemoStore(existing, created=False, counts=count_demo(session, existing))
        created = create_workspace(
            session, name=WORKSPACE_NAME, keyring=runtime.seal_keyring, default_phone_region="US"
        )
        workspace_id = created.workspace.id
        create_user(
            session,
            workspace_id=workspace_id,
            email=ADMIN_EMAIL,
            password=DEMO_PASSWORD,
            role=ADMIN,
        )
        create_user(
            session,
            workspace_id=workspace_id,
            email=MEMBER_EMAIL,
            password=DEMO_PASSWORD,
            role=MEMBER,
        )
        _Seeder(session, workspace_id, seed=seed, runtime=runtime).run(
            profiles=profiles, events=events
        )
        counts = count_demo(session, workspace_id)
        audit.record(
            session,
            workspace_id=workspace_id,
            actor="cli",
            action="workspace.demo_seeded",
            target_type="workspace",
            target_id=workspace_id,
            details=counts,
        )
        return DemoStore(workspace_id, created=True, counts=counts)


class _Seeder:
    def __init__(self, session: Session, workspace_id: str, *, seed: int, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.workspace_id = workspace_id
        fakers: dict[str, Faker] = {}
        for index, (country, _weight) in enumerate(COUNTRIES):
            fake = Faker(country.locale)
            fake.seed_instance(seed + index)
            fakers[country.locale] = fake
        seeding = Seeding(
            session=session,
            workspace_id=workspace_id,
            rng=random.Random(seed),
            fakers=fakers,
            # Everything happened before today's midnight: reruns on one day give the same data.
            anchor=utcnow().replace(hour=0, minute=0, second=0, microsecond=0),
            products=catalogue(),
        )
        self.people = People(seeding)
        self.history = History(seeding)
        self.requests = Requests(seeding, runtime.seal_keyring)
        self.suppressions = Suppressions(seeding)
        self.privacy = PrivacyRequests(seeding, runtime.seal_keyring)

    def _insert(self, model: type[Any], rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), _CHUNK):
            self.session.execute(insert(model), list(rows[start : start + _CHUNK]))

    def run(self, *, profiles: int, events: int) -> None:
        # Visitors first: ids are time-ordered and lists show the newest first, so the
        # customers (the interesting profiles) lead the Profiles page.
        visitors = self.people.visitors(max(1, profiles // 24))
        customers = self.people.customers(profiles)
        checkouts: list[tuple[Customer, datetime]] = []
        # Most of the budget goes to shopping; campaign activity comes on top, then the
        # remainder is filled with more browsing so the total lands on `events`.
        self.history.browse(customers, int(events * 0.93), checkouts)
        self.history.browse(visitors, int(events * 0.02), [])
        records = self.history.campaigns(customers, checkouts)
        self.history.browse(customers, events - len(self.history.events), [])

        self._insert(Profile, self.people.profile_rows(customers, visitors))
        self._insert(Consent, self.people.consent_rows(customers))
        self._insert(Recipient, records)
        self._insert(Event, self.history.events)
        # Last, so the rest of the store is the same as before they were added.
        self.requests.history(customers)
        self._insert(Profile, self.requests.tombstones)
        self._insert(ExportRequest, self.requests.exports)
        self._insert(DeletionRequest, self.requests.deletions)
        key = key_for_writing(self.session, self.runtime, self.workspace_id)
        self.suppressions.history(key, self.requests.erased)
        self._insert(Suppression, self.suppressions.entries)
        self._insert(SuppressedIdentifier, self.suppressions.identifiers)
        self._insert(SuppressedDropCount, self.suppressions.counters)
        # The privacy requests those steps answered, and a few more (drawn last).
        suppressed = {str(entry["deletion_id"]) for entry in self.suppressions.entries}
        self.privacy.history(customers, self.requests, suppressed)
        self._insert(PrivacyRequest, self.privacy.rows)
        self.session.flush()
