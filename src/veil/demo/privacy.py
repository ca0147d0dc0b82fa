"""Half a year of privacy requests (SPEC §8) for the demo store: the Requests tab and the
overview's charts have a history right after `make run`.

Every export and erasure of demo/requests.py answered a privacy request, as the ⋯ menu, the API
and Shopify's GDPR topics make one now: an `access` request linked to its export, an `erasure`
linked to its deletion (verified, `suppress` where demo/suppressions.py suppressed the person).
The failed export leaves its request `failed`. On top: access and restriction requests about
people the store holds nothing on (completed at once, `profile_ids: []`), one withdrawn
(cancelled), and a few still open after last night's storage outage: two of them recorded late from
letters and now overdue, two extended. The worker's next attempt (an hour after seeding, the
backoff's cap) starts their exports, so a running demo answers them, late where they are.

Regulations follow where the person lives (CCPA in the US, UK GDPR in Britain, GDPR in the EU);
identities are stored as the service stores them: normalised and sealed to the request. Drawn
after everything else, so the rest of the store is the same as without them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from veil.compliance.privacy_requests import deadlines, free_text
from veil.compliance.privacy_requests.identities import normalize_identities, seal_identities
from veil.demo.people import Customer, Seeding, SeedingPart
from veil.demo.requests import DPO, Requests
from veil.kit.crypto import Keyring
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models.privacy_request import PrivacyRequestStatus, Regulation
from veil.worker.leases import backoff

REQUESTED_BY = {"ui": DPO, "api": "API key helpdesk", "shopify": "shopify"}
REGULATION_BY_REGION = {"US": Regulation.CCPA, "GB": Regulation.UK_GDPR}
STORAGE_ERROR = "step_failed:StorageUnavailable"
MAX_BACKOFF_ATTEMPTS = 10  # backoff() is capped at one hour from about 6 attempts on
EXTENSION_REASONS = (
    "Order records from the old shop system have to be gathered by hand.",
    "Several related requests from the same household, answered together.",
)
NO_MATCH_DOMAINS = ("example.net", "example.org", "example.com")


def regulation_in(region: str) -> Regulation:
    return REGULATION_BY_REGION.get(region, Regulation.GDPR)


class PrivacyRequests(SeedingPart):
    def __init__(self, seeding: Seeding, keyring: Keyring) -> None:
        super().__init__(seeding)
        self.keyring = keyring
        self.rows: list[dict[str, Any]] = []

    def history(self, customers: Sequence[Customer], steps: Requests, suppressed: set[str]) -> None:
        """`steps`: the exports and deletions already drawn; `suppressed`: the deletion ids
        whose erasure also suppressed the person."""
        for export in steps.exports:
            self._access_answered(export, steps.exported[export["id"]])
        for deletion, (_id, _done, email) in zip(steps.deletions, steps.erased, strict=True):
            self._erasure_answered(
                deletion, email, steps.erased_in[deletion["id"]], deletion["id"] in suppressed
            )
        self._nobody_known()
        self._still_open(customers)

    # -- one row, as service._row and the job leave it ------------------------------------

    def _row(
        self,
        type: str,
        *,
        identities: list[tuple[str, str]],
        regulation: Regulation,
        source: str,
        received_at: datetime,
        status: PrivacyRequestStatus,
        completed_at: datetime | None,
        created_at: datetime | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        request_id = new_id("prq")
        normalized = normalize_identities(identities, region="US")
        created = created_at or received_at + timedelta(seconds=self.rng.uniform(0.2, 3))
        for text in ("reference", "extension_reason"):  # sealed at rest, as the service does
            if text in fields:
                fields[f"{text}_sealed"] = free_text.seal(
                    self.keyring,
                    fields.pop(text),
                    workspace_id=self.workspace_id,
                    request_id=request_id,
                    field=text,
                )
        row: dict[str, Any] = {
            "id": request_id,
            "workspace_id": self.workspace_id,
            "type": type,
            "status": status,
            "regulation": regulation,
            "source": source,
            "identities_sealed": seal_identities(
                self.keyring, normalized, workspace_id=self.workspace_id, request_id=request_id
            ),
            "received_at": received_at,
            "due_at": deadlines.due_at(regulation, received_at, other_days=30),
            "extended": False,
            "completed_at": completed_at,
            "requested_by": REQUESTED_BY[source],
            "suppress": False,
            "profile_ids": [],
            "export_ids": [],
            "deletion_ids": [],
            "verified": None,
            "callback_urls": [],
            "steps_started": status != PrivacyRequestStatus.PENDING,
            "attempts": 1,
            "next_attempt_at": None,
            "created_at": created,
            "updated_at": completed_at or created,
            **fields,
        }
        self.rows.append(row)
        return row

    def _identities_of(self, person: Customer, source: str) -> list[tuple[str, str]]:
        found = [("email", person.email)] if person.email else []
        if source == "shopify" or not found:
            # Shopify's customers/data_request names the shop's customer id too.
            found.append(("external_id", f"shopify:{person.shopify_id}"))
        return found

    def _access_answered(self, export: dict[str, Any], person: Customer) -> None:
        source = str(export["source"])
        failed = export["status"] == "failed"
        self._row(
            "access",
            identities=self._identities_of(person, source),
            regulation=regulation_in(person.country.region),
            source=source,
            received_at=export["requested_at"],
            status=PrivacyRequestStatus.FAILED if failed else PrivacyRequestStatus.COMPLETED,
            completed_at=None if failed else export["ready_at"],
            profile_ids=[person.id],
            export_ids=[export["id"]],
            last_error="step_failed" if failed else None,
        )

    def _erasure_answered(
        self, deletion: dict[str, Any], email: str, region: str, suppress: bool
    ) -> None:
        self._row(
            "erasure",
            identities=[("email", email)],
            regulation=regulation_in(region),
            source=str(deletion["source"]),
            received_at=deletion["requested_at"],
            status=PrivacyRequestStatus.COMPLETED,
            completed_at=deletion["completed_at"],
            suppress=suppress,
            profile_ids=[deletion["profile_id"]],
            deletion_ids=[deletion["id"]],
            verified=True,
        )

    def _stranger(self) -> str:
        fake = self.fakers["en_US"]
        return f"{fake.user_name()}{self.rng.randrange(10, 99)}@{self.rng.choice(NO_MATCH_DOMAINS)}"

    def _past(self, weeks: int) -> datetime:
        return self.anchor - timedelta(weeks=1, seconds=self.rng.randrange(weeks * 7 * 86400))

    def _nobody_known(self) -> None:
        """Requests about people who never shopped here: answered at once ("we hold no data")."""
        for type, count in (("access", 9), ("restriction", 5)):
            for _ in range(count):
                source = self.rng.choice(("api", "api", "ui", "shopify"))
                at = self._past(25)
                self._row(
                    type,
                    identities=[("email", self._stranger())],
                    regulation=self.rng.choice((Regulation.GDPR, Regulation.CCPA)),
                    source=source,
                    received_at=at,
                    status=PrivacyRequestStatus.COMPLETED,
                    completed_at=at + timedelta(milliseconds=self.rng.randint(40, 900)),
                    steps_started=True,
                    attempts=0,
                )
        # Withdrawn before its step started (cancelled while pending), after an extension.
        at = self._past(10)
        extended_at = at + timedelta(days=3, hours=2)
        self._row(
            "access",
            identities=[("email", self._stranger())],
            regulation=Regulation.GDPR,
            source="ui",
            received_at=at,
            status=PrivacyRequestStatus.CANCELLED,
            completed_at=None,
            due_at=deadlines.extended_due_at(Regulation.GDPR, at),
            extended=True,
            extension_reason=EXTENSION_REASONS[1],
            extended_at=extended_at,
            cancelled_at=extended_at + timedelta(days=1, hours=5),
            steps_started=False,
            attempts=0,
        )

    def _still_open(self, customers: Sequence[Customer]) -> None:
        """Access requests last night's storage outage held up, retried by the worker
        at its next backoff. Two arrived as letters and were recorded only now: overdue."""
        # The job's backoff grows to an hour between attempts: the next one is that far off.
        retry = utcnow() + backoff(MAX_BACKOFF_ATTEMPTS)
        reachable = [c for c in customers if c.email]
        plans: tuple[tuple[str, int, bool, str | None], ...] = (
            # (region, days since received, extended, reference)
            ("DE", 37, False, "Letter of the customer, post room"),
            ("US", 49, False, "Letter, forwarded by the warehouse"),
            ("FR", 41, True, None),
            ("US", 52, True, None),
            ("GB", 27, False, None),
            ("US", 34, False, None),
        )
        for region, days, extended, reference in plans:
            local = [c for c in reachable if c.country.region == region] or reachable
            person = self.rng.choice(local)
            regulation = regulation_in(person.country.region)
            received = self.anchor - timedelta(days=days, hours=self.rng.randint(1, 14))
            # A letter is recorded when it reaches the DPO (late last night), with the date it
            # was received: the legal clock ran from then.
            recorded = received if reference is None else self.anchor - timedelta(hours=3)
            fields: dict[str, Any] = {}
            if extended:
                fields = {
                    "due_at": deadlines.extended_due_at(regulation, received),
                    "extended": True,
                    "extension_reason": EXTENSION_REASONS[0],
                    "extended_at": received + timedelta(days=self.rng.randint(20, 28)),
                }
            source = "api" if reference else self.rng.choice(("ui", "api", "shopify"))
            self._row(
                "access",
                identities=self._identities_of(person, source),
                regulation=regulation,
                source=source,
                received_at=received,
                status=PrivacyRequestStatus.IN_PROGRESS,
                completed_at=None,
                created_at=recorded,
                reference=reference,
                profile_ids=[person.id],
                steps_started=False,
                attempts=4,
                last_error=STORAGE_ERROR,
                next_attempt_at=retry,
                **fields,
            )
