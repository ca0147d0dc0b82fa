"""Every erasure rule (veil.compliance.erasure_rules) on a realistic profile, one test per rule,
plus the PII registry guard: a personal-looking column that nobody declared fails the build."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import JSON, Column, MetaData, String, Table, func, select, text
from sqlalchemy.orm import Session

from tests.compliance import realistic
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from veil.compliance.deletions import service
from veil.compliance.deletions.erasure.steps import redacted_phone
from veil.compliance.deletions.scrubber import Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import (
    ALL_COLUMNS,
    NOT_SUBJECT_DATA,
    PII_REGISTRY,
    REDACTED,
    PiiKeys,
    Rule,
    key_words,
)
from veil.models import (
    AuditEntry,
    Base,
    Consent,
    DeletionRequest,
    Event,
    ExportRequest,
    Profile,
    ProfileIdentifier,
    Recipient,
)
from veil.runtime import Runtime


def erase_realistic(runtime: Runtime, ws: WorkspaceHandle) -> realistic.Realistic:
    with runtime.sessionmaker.begin() as session:
        subject = realistic.build(runtime, session, workspace_id=ws.id)
    realistic.request_deletion(runtime, workspace_id=ws.id, profile_id=subject.profile_id)
    run_jobs(runtime)
    return subject


@pytest.fixture
def erased(runtime: Runtime, ws: WorkspaceHandle) -> realistic.Realistic:
    return erase_realistic(runtime, ws)


def ada_scrubber() -> Scrubber:
    subject = Subject(
        emails=(realistic.EMAIL,),
        phones=(realistic.PHONE,),
        first_name=realistic.FIRST,
        last_name=realistic.LAST,
        identifiers=(realistic.EXTERNAL_ID,),
        addresses=(realistic.STREET,),
    )
    return Scrubber(PiiKeys.for_workspace(["loyalty_card"]), SubjectMatcher(subject))


def events_of(session: Session, profile_id: str) -> dict[str, Event]:
    rows = session.scalars(select(Event).where(Event.profile_id == profile_id))
    return {e.id: e for e in rows}


# -- one test per rule --------------------------------------------------------------------------


def test_profile_becomes_a_tombstone(runtime: Runtime, erased: realistic.Realistic) -> None:
    with runtime.sessionmaker() as session:
        profile = session.get_one(Profile, erased.profile_id)
        assert profile.status == "deleted" and profile.deleted_at is not None
        assert (profile.email, profile.phone, profile.external_id, profile.anonymous_id) == (
            None,
            None,
            None,
            None,
        )
        assert (profile.first_name, profile.last_name, profile.properties) == (None, None, {})


def test_events_are_kept_with_their_commercial_data(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        events = events_of(session, erased.profile_id)
    assert set(events) == set(erased.event_ids)
    orders = [e for e in events.values() if e.properties.get("order_id") in (1001, 1002, 1003)]
    assert len(orders) == 3
    for order in orders:
        assert order.type == "Placed Order" and order.source == "shopify"
        assert order.properties["currency"] == "EUR"
        assert order.properties["total_price"] == "129.90"
        assert [
            (i["sku"], i["product_id"], i["title"], i["price"], i["quantity"])
            for i in order.properties["line_items"]
        ] == [
            ("SKU-1", 9001, "Brass gear", "59.95", 1),
            ("SKU-2", 9002, "Punch cards", "34.975", 2),
        ]
    viewed = next(e for e in events.values() if e.type == "Viewed Product")
    assert viewed.properties["product_id"] == 9001 and viewed.properties["price"] == 59.95
    category = next(e for e in events.values() if e.type == "Viewed Category")
    assert category.properties == {"category": "gears", "page": 2}


def test_pii_keys_are_removed_at_any_depth_in_any_spelling(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        events = events_of(session, erased.profile_id)
    keys = PiiKeys.for_workspace(["loyalty_card"])

    def all_keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [*value, *(k for v in value.values() for k in all_keys(v))]
        if isinstance(value, list):
            return [k for v in value for k in all_keys(v)]
        return []

    for event in events.values():
        assert not [k for k in all_keys(event.properties) if keys.matches(k)], event.type
    order = next(e for e in events.values() if e.properties.get("order_id") == 1001)
    for gone in ("email", "customer", "shipping_address", "billing_address", "browser_ip"):
        assert gone not in order.properties
    identify = next(e for e in events.values() if e.type == "Identify")
    # firstName/lastName (camelCase) and the workspace's loyalty_card as loyaltyCard.
    assert identify.properties == {"context": {"locale": "en-GB"}, "traits": {}}


def test_strings_containing_an_identifier_are_redacted(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        by_type = {e.type: e.properties for e in events_of(session, erased.profile_id).values()}
    assert by_type["Support Note"] == {"text": REDACTED, "ticket": 77}
    assert by_type["Called"] == {"contact": REDACTED, "duration_s": 40, "raw": REDACTED}
    assert by_type["Gift Message"] == {"message": REDACTED, "wrap": "gold"}
    assert by_type["Viewed Product"]["url"] == REDACTED
    assert by_type["Started Checkout"] == {"checkout": {"total": "12.00"}}


def test_a_message_id_holding_an_identifier_is_cleared(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        events = events_of(session, erased.profile_id)
    assert [e.message_id for e in events.values() if e.properties == {"order_id": 1010}] == [None]


def test_recipient_records_are_kept_with_unique_random_addresses(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        recipients = list(
            session.scalars(select(Recipient).where(Recipient.profile_id == erased.profile_id))
        )
        activity = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.recipient_id.in_(erased.recipient_ids))
        )
    assert {r.id for r in recipients} == set(erased.recipient_ids)
    by_channel = {r.channel: r for r in recipients}
    email = by_channel["email"].email or ""
    assert email.startswith("redacted") and email.endswith("@redacted.invalid")
    phone = by_channel["sms"].phone or ""
    assert phone.startswith("redacted") and phone.isalnum()
    assert all(r.redacted_at is not None and r.status == "sent" for r in recipients)
    assert activity == 4  # opens and clicks still count for the campaigns


def test_a_redacted_phone_is_random_alphanumeric_and_fits_its_column() -> None:
    values = [redacted_phone() for _ in range(2_000)]
    assert all(re.fullmatch(r"redacted[a-z2-7]{24}", v) for v in values)
    assert len(set(values)) == len(values)
    assert max(map(len, values)) <= Recipient.__table__.c.phone.type.length
    # Every position takes every symbol of the alphabet (32) over 2,000 draws: none is fixed
    # (a sanity check of the encoding, not a test of the OS's randomness).
    for position in range(len("redacted"), 32):
        assert len({v[position] for v in values}) == 32


def test_redacted_values_are_unique_per_record(runtime: Runtime, ws: WorkspaceHandle) -> None:
    from tests.fixtures.factories import make_campaign, make_profile, make_recipient

    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id, phone="+14155550132")
        for channel in ("email", "sms", "email", "sms"):
            campaign = make_campaign(session, workspace_id=ws.id, channel=channel)
            make_recipient(session, campaign=campaign, profile=profile)
        profile_id = profile.id
    realistic.request_deletion(runtime, workspace_id=ws.id, profile_id=profile_id)
    run_jobs(runtime)
    with runtime.sessionmaker() as session:
        rows = session.execute(
            select(Recipient.email, Recipient.phone).where(Recipient.profile_id == profile_id)
        ).all()
    emails = [e for e, _ in rows if e]
    phones = [p for _, p in rows if p]
    assert len(emails) == len(set(emails)) == 2
    assert len(phones) == len(set(phones)) == 2


def test_consents_are_deleted(runtime: Runtime, erased: realistic.Realistic) -> None:
    with runtime.sessionmaker() as session:
        assert (
            session.scalars(select(Consent).where(Consent.profile_id == erased.profile_id)).all()
            == []
        )
        assert (
            session.scalars(select(Consent).where(Consent.profile_id == erased.bystander_id)).all()
            != []
        )


def test_identifier_history_is_deleted_and_its_values_erased(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    """SPEC §9: the previous email is part of the subject (scrubbed from events, also encoded)
    and its history row goes."""
    with runtime.sessionmaker() as session:
        left = session.scalar(
            select(func.count())
            .select_from(ProfileIdentifier)
            .where(ProfileIdentifier.profile_id == erased.profile_id)
        )
        events = list(events_of(session, erased.profile_id).values())
    assert left == 0
    assert not any("ada.byron" in str(e.properties).lower() for e in events)
    (page,) = [e for e in events if e.type == "Viewed Page"]
    assert page.properties == {"url": REDACTED}  # it held the old email encoded twice


def test_export_files_are_destroyed_and_requests_expired(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    assert not runtime.export_store.exists(erased.export_key)
    with runtime.sessionmaker() as session:
        export = session.get_one(ExportRequest, erased.export_id)
    assert export.status == "expired" and export.file_key is None


def test_the_deletion_record_is_permanent_sealed_and_counts_what_was_erased(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        request = session.scalars(
            select(DeletionRequest).where(DeletionRequest.profile_id == erased.profile_id)
        ).one()
        contact = service.unseal_contact(runtime.seal_keyring, request)
    assert request.status == "completed" and request.completed_at is not None
    assert request.subject_sealed is None  # the search list is wiped once verified
    assert (contact.name, contact.email, contact.phone) == (
        realistic.FULL_NAME,
        realistic.EMAIL,
        realistic.PHONE,
    )
    assert request.summary == {
        "events_scrubbed": len(erased.event_ids) - 1,  # "Viewed Category" had nothing personal
        "recipients_redacted": 2,
        "consents_deleted": 2,
        "identifiers_deleted": 1,
        "exports_destroyed": 1,
        "verified": True,
    }


def test_the_audit_log_holds_ids_and_counts_only(
    runtime: Runtime, ws: WorkspaceHandle, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.workspace_id == ws.id).order_by(AuditEntry.seq)
        ).all()
    actions = [e.action for e in entries]
    assert "deletion.requested" in actions and "deletion.completed" in actions
    dumped = repr([(e.actor, e.action, e.target_id, e.details) for e in entries]).lower()
    for secret in realistic.SECRETS:
        assert secret.lower() not in dumped


def test_the_bystander_is_untouched(runtime: Runtime, erased: realistic.Realistic) -> None:
    with runtime.sessionmaker() as session:
        grace = session.get_one(Profile, erased.bystander_id)
        events = list(events_of(session, grace.id).values())
        recipient = session.scalars(select(Recipient).where(Recipient.profile_id == grace.id)).one()
    assert grace.status == "active" and grace.email == "grace@example.com"
    assert events[0].properties["customer"]["email"] == "grace@example.com"
    assert recipient.email == "grace@example.com" and recipient.redacted_at is None


# -- the registry: every rule checked generically after the realistic erasure -------------------


def _rows(session: Session, table: str, profile_id: str) -> list[dict[str, Any]]:
    t = Base.metadata.tables[table]
    owner = t.c.id if table == "profiles" else t.c.profile_id
    return [dict(r._mapping) for r in session.execute(select(t).where(owner == profile_id))]


def _check_rule(
    runtime: Runtime, session: Session, rule: Rule, table: str, column: str, profile_id: str
) -> None:
    rows = _rows(session, table, profile_id)
    values = [r[column] for r in rows] if column != ALL_COLUMNS else []
    scrubber = ada_scrubber()
    if rule is Rule.CLEAR:
        assert rows and all(v in (None, {}) for v in values)
    elif rule is Rule.SCRUB_JSON:
        assert rows and all(scrubber.residue(v) == [] for v in values)
    elif rule in (Rule.SCRUB_TEXT, Rule.NULL_IF_PERSONAL):
        assert rows and not any(v and scrubber.matcher.in_text(v) for v in values)
    elif rule is Rule.REDACT_EMAIL:
        present = [v for v in values if v is not None]
        assert present and all(
            v.startswith("redacted") and v.endswith("@redacted.invalid") for v in present
        )
        assert len(set(present)) == len(present)
    elif rule is Rule.REDACT_PHONE:
        present = [v for v in values if v is not None]
        assert present and all(v.startswith("redacted") and v.isalnum() for v in present)
        assert len(set(present)) == len(present)
    elif rule is Rule.DELETE_ROW:
        assert rows == []
    elif rule is Rule.DESTROY_FILE:
        assert rows and all(v is None for v in values)
        assert all(r["status"] == "expired" for r in rows)
    elif rule is Rule.SEALED_RECORD:
        assert rows and all(v and v.startswith("v1.") for v in values)
        assert not any(scrubber.matcher.in_text(v) for v in values)
    elif rule is Rule.WIPE_ON_COMPLETION:
        assert rows and all(v is None for v in values)
    else:  # pragma: no cover - a new rule needs a check here
        pytest.fail(f"no check for rule {rule}")


def test_every_registered_column_obeys_its_rule_after_erasure(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.sessionmaker() as session:
        for entry in PII_REGISTRY:
            _check_rule(runtime, session, entry.rule, entry.table, entry.column, erased.profile_id)


def test_every_rule_is_used_and_every_registered_column_exists() -> None:
    assert {entry.rule for entry in PII_REGISTRY} == set(Rule)
    for entry in [*PII_REGISTRY, *NOT_SUBJECT_DATA]:
        table = Base.metadata.tables[entry.table]
        assert entry.column == ALL_COLUMNS or entry.column in table.c, entry
    declared = {(e.table, e.column) for e in PII_REGISTRY}
    assert not declared & {(e.table, e.column) for e in NOT_SUBJECT_DATA}


PERSONAL_WORDS = {
    "email", "phone", "mobile", "name", "names", "address", "ip", "zip", "postal", "postcode",
    "street", "birth", "birthday", "dob", "latitude", "longitude", "lat", "lng", "properties",
    "traits", "note", "notes", "sealed", "surname",
}  # fmt: skip


def undeclared_personal_columns(metadata: MetaData) -> list[str]:
    """Columns that look personal (by name, or JSON that can hold anything) but are declared
    neither with an erasure rule nor as reviewed non-subject data."""
    declared = {(e.table, e.column) for e in PII_REGISTRY} | {
        (e.table, e.column) for e in NOT_SUBJECT_DATA
    }
    whole_tables = {e.table for e in PII_REGISTRY if e.column == ALL_COLUMNS}
    missing = []
    for table in metadata.tables.values():
        if table.name in whole_tables:
            continue
        for column in table.c:
            looks_personal = bool(set(key_words(column.name)) & PERSONAL_WORDS)
            is_json = isinstance(column.type, JSON) or "JSON" in type(column.type).__name__
            if (looks_personal or is_json) and (table.name, column.name) not in declared:
                missing.append(f"{table.name}.{column.name}")
    return missing


def test_every_personal_looking_column_is_declared_in_the_registry() -> None:
    assert undeclared_personal_columns(Base.metadata) == []


def test_a_new_personal_column_would_be_caught() -> None:
    metadata = MetaData()
    Table(
        "profiles",
        metadata,
        Column("id", String, primary_key=True),
        Column("email", String),
        Column("birthday", String),
        Column("shipping_address", String),
        Column("extra", JSON),
    )
    assert undeclared_personal_columns(metadata) == [
        "profiles.birthday",
        "profiles.shipping_address",
        "profiles.extra",
    ]


def test_sealed_columns_hold_no_plaintext_in_the_raw_database(
    runtime: Runtime, erased: realistic.Realistic
) -> None:
    with runtime.engine.connect() as conn:
        row = conn.execute(
            text("SELECT * FROM deletion_requests WHERE profile_id = :p"),
            {"p": erased.profile_id},
        ).one()
    raw = repr(tuple(row)).lower()
    for secret in (*realistic.SECRETS, realistic.PHONE, "lovelace"):
        assert secret.lower() not in raw


def test_the_pii_key_memo_does_not_outlive_one_erasure() -> None:
    """The memo of `PiiKeys.matches` holds strings of a person's payloads (the prefilter asks
    about every string): each erasure gets its own, so none stays in a worker's memory for the
    next job."""
    first = PiiKeys.for_workspace(["loyalty_card"])
    assert not first.matches("a gift note for Ada Lovelace")
    assert "a gift note for Ada Lovelace" in first._cache
    second = PiiKeys.for_workspace(["loyalty_card"])
    assert second is not first and not second._cache
