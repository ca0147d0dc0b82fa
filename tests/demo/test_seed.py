"""The demo store: believable content, the promised counts, deterministic and idempotent."""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
from sqlalchemy import delete, func, select

from veil.auth.passwords import verify_password
from veil.compliance.privacy_requests import free_text
from veil.demo import seed
from veil.models import Campaign, Consent, Event, Membership, Profile, Recipient, User, Workspace
from veil.profiles.identifiers import normalize_email
from veil.runtime import Runtime


def _content(runtime: Runtime, workspace_id: str) -> dict[str, object]:
    """What a person sees (names, emails, event kinds and payloads), without random ids."""
    with runtime.sessionmaker() as session:
        people = session.execute(
            select(Profile.email, Profile.phone, Profile.first_name, Profile.last_name)
            .where(Profile.workspace_id == workspace_id)
            .order_by(Profile.email, Profile.anonymous_id)
        ).all()
        orders = session.scalars(
            select(Event.properties)
            .where(Event.workspace_id == workspace_id, Event.type == "Placed Order")
            .order_by(Event.timestamp)
        ).all()
        kinds = session.execute(
            select(Event.type, func.count())
            .where(Event.workspace_id == workspace_id)
            .group_by(Event.type)
            .order_by(Event.type)
        ).all()
    return {"people": people, "orders": orders, "kinds": kinds}


def test_small_demo_store_has_everything_and_seeds_once(runtime: Runtime) -> None:
    store = seed.seed_demo(runtime, profiles=40, events=1500)
    assert store.created
    assert store.counts["profiles"] == 40 + 1  # 40 customers and one anonymous visitor
    assert store.counts["events"] == 1500
    assert store.counts["campaigns"] == 3
    ws = store.workspace_id
    with runtime.sessionmaker() as session:
        workspace = session.get(Workspace, ws)
        assert workspace is not None and workspace.name == "Demo Store"

        customers = session.scalars(
            select(Profile).where(Profile.workspace_id == ws, Profile.email.is_not(None))
        ).all()
        assert len(customers) == 40
        for person in customers:
            assert person.first_name and person.last_name
            assert normalize_email(person.email) == person.email
            assert person.external_id and person.external_id.startswith("shopify:")
            assert {"address", "loyalty_tier", "lifetime_value"} <= set(person.properties)
            if person.phone:
                number = phonenumbers.parse(person.phone)
                assert phonenumbers.is_valid_number(number), person.phone
                region = phonenumbers.region_code_for_number(number)
                assert region == person.properties["country_code"]
        assert sum(1 for p in customers if p.phone) >= 20

        consents = session.scalars(select(Consent).where(Consent.workspace_id == ws)).all()
        assert {(c.channel, c.state) for c in consents} == {
            ("email", "subscribed"),
            ("email", "unsubscribed"),
            ("sms", "subscribed"),
            ("sms", "unsubscribed"),
        }

        kinds = dict(
            session.execute(
                select(Event.type, func.count())
                .where(Event.workspace_id == ws)
                .group_by(Event.type)
            ).all()
        )
        for kind in ("Placed Order", "Viewed Product", "Started Checkout", "Opened Email"):
            assert kinds.get(kind, 0) > 0, kind
        assert kinds["Viewed Product"] > kinds["Started Checkout"] > kinds["Placed Order"]

        order = session.scalars(
            select(Event).where(Event.workspace_id == ws, Event.type == "Placed Order").limit(1)
        ).one()
        assert order.source == "shopify"
        props = order.properties
        assert props["shipping_address"]["address1"] and props["billing_address"]["zip"]
        assert props["customer"]["email"] == session.get(Profile, order.profile_id).email  # type: ignore[union-attr]
        assert props["line_items"] and {"product_id", "sku", "price", "quantity"} <= set(
            props["line_items"][0]
        )

        campaigns = session.scalars(select(Campaign).where(Campaign.workspace_id == ws)).all()
        assert sorted((c.kind, c.channel) for c in campaigns) == [
            ("campaign", "email"),
            ("campaign", "sms"),
            ("flow", "email"),
        ]
        records = session.scalars(select(Recipient).where(Recipient.workspace_id == ws)).all()
        assert {r.campaign_id for r in records} == {c.id for c in campaigns}
        by_id = {r.id: r for r in records}
        activity = session.scalars(
            select(Event).where(Event.workspace_id == ws, Event.recipient_id.is_not(None))
        ).all()
        assert activity
        for event in activity:
            record = by_id[event.recipient_id]  # type: ignore[index]
            assert event.campaign_id == record.campaign_id
            assert event.profile_id == record.profile_id
            assert event.timestamp >= record.sent_at
        # Consent per channel: every record went to a contact subscribed to that channel.
        subscribed = {(c.profile_id, c.channel) for c in consents if c.state == "subscribed"}
        assert all((r.profile_id, r.channel) in subscribed for r in records)
        assert all((r.email if r.channel == "email" else r.phone) for r in records)

        users = dict(
            session.execute(
                select(User.email, Membership.role)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.workspace_id == ws)
            ).all()
        )
        assert users == {seed.ADMIN_EMAIL: "admin", seed.MEMBER_EMAIL: "member"}
        admin = session.scalars(select(User).where(User.email == seed.ADMIN_EMAIL)).one()
        assert seed.DEMO_PASSWORD not in admin.password_hash
        assert verify_password(admin.password_hash, seed.DEMO_PASSWORD)

    again = seed.seed_demo(runtime, profiles=40, events=1500)
    assert not again.created
    assert again.workspace_id == ws
    assert again.counts == store.counts
    with runtime.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 1500


def test_demo_content_is_deterministic(runtime: Runtime) -> None:
    first = seed.seed_demo(runtime, profiles=30, events=800)
    before = _content(runtime, first.workspace_id)
    with runtime.sessionmaker.begin() as session:
        for model in (Event, Recipient, Consent, Campaign, Profile):
            session.execute(delete(model))
        session.execute(delete(Workspace))
        session.execute(delete(User))
    second = seed.seed_demo(runtime, profiles=30, events=800)
    assert second.created and second.workspace_id != first.workspace_id
    assert _content(runtime, second.workspace_id) == before


def test_full_size_demo_store(runtime: Runtime) -> None:
    store = seed.seed_demo(runtime)
    assert store.counts["profiles"] >= 250
    assert store.counts["events"] == 20_000
    assert store.counts["recipients"] > 200


def test_demo_store_has_half_a_year_of_gdpr_requests(runtime: Runtime) -> None:
    from veil.compliance.deletions.service import unseal_contact
    from veil.compliance.overview import compliance_overview
    from veil.kit.time import as_utc, utcnow
    from veil.models import DeletionRequest, ExportRequest

    store = seed.seed_demo(runtime, profiles=240, events=3000)
    ws = store.workspace_id
    assert store.counts["flows"] == 1 and store.counts["campaigns"] == 3
    with runtime.sessionmaker() as session:
        exports = session.scalars(
            select(ExportRequest).where(ExportRequest.workspace_id == ws)
        ).all()
        deletions = session.scalars(
            select(DeletionRequest).where(DeletionRequest.workspace_id == ws)
        ).all()
        oldest = min(as_utc(e.requested_at) for e in [*exports, *deletions])
        assert (utcnow() - oldest).days >= 120  # months of history, not a burst
        assert len(exports) >= 20 and len(deletions) >= 5
        assert [e.status for e in exports].count("failed") == 1
        for request in deletions:
            tombstone = session.get(Profile, request.profile_id)
            assert tombstone.status == "deleted" and tombstone.email is None
            assert request.summary["verified"] is True
            assert "@" in (unseal_contact(runtime.seal_keyring, request).email or "")
        overview = compliance_overview(session, workspace_id=ws, zone=as_utc(utcnow()).tzinfo)
    assert sum(w.access + w.erasure + w.restriction for w in overview.weeks) > 10
    assert all(t.median is not None and t.p95 is not None for t in overview.times)
    assert overview.failed_exports == 1 and overview.failed == 1
    assert overview.overdue == 2 and overview.open_requests == 7  # 6 held up + the failed one


def test_demo_privacy_requests_answer_the_history(runtime: Runtime) -> None:
    from veil.compliance.privacy_requests.identities import unseal_identities
    from veil.compliance.privacy_requests.schemas import RequestFilters
    from veil.compliance.privacy_requests.service import page_requests
    from veil.kit.time import as_utc, utcnow
    from veil.models import DeletionRequest, ExportRequest, PrivacyRequest, Suppression

    store = seed.seed_demo(runtime, profiles=240, events=3000)
    ws = store.workspace_id
    now = utcnow()
    with runtime.sessionmaker() as session:
        rows = session.scalars(
            select(PrivacyRequest).where(PrivacyRequest.workspace_id == ws)
        ).all()
        exports = {e.id: e for e in session.scalars(select(ExportRequest))}
        deletions = {d.id: d for d in session.scalars(select(DeletionRequest))}
        suppressed = {s.deletion_id for s in session.scalars(select(Suppression))}
        # Every export and deletion answered exactly one request, with its times.
        linked_exports = [i for r in rows for i in r.export_ids]
        linked_deletions = [i for r in rows for i in r.deletion_ids]
        assert sorted(linked_exports) == sorted(exports)
        assert sorted(linked_deletions) == sorted(deletions)
        for row in rows:
            identities = unseal_identities(
                runtime.seal_keyring, row.identities_sealed, workspace_id=ws, request_id=row.id
            )
            assert identities and all(i.value == i.value.strip().lower() for i in identities)
            assert "@" not in row.identities_sealed
            if row.export_ids:
                (export,) = (exports[i] for i in row.export_ids)
                assert row.type == "access" and row.profile_ids == [export.profile_id]
                assert as_utc(row.received_at) == as_utc(export.requested_at)
                assert row.source == export.source
                if export.status == "failed":
                    assert row.status == "failed" and row.completed_at is None
                else:
                    assert as_utc(row.completed_at) == as_utc(export.ready_at)
            if row.deletion_ids:
                (deletion,) = (deletions[i] for i in row.deletion_ids)
                assert row.type == "erasure" and row.verified is True
                assert as_utc(row.completed_at) == as_utc(deletion.completed_at)
                assert row.suppress == (deletion.id in suppressed)
            assert as_utc(row.received_at) < now
            extendable = row.regulation in ("gdpr", "uk_gdpr", "ccpa")
            assert extendable or not row.extended
        kinds = {(r.type, r.status) for r in rows}
        assert {
            ("access", "completed"),
            ("erasure", "completed"),
            ("restriction", "completed"),
        } <= kinds
        assert ("access", "cancelled") in kinds and ("access", "in_progress") in kinds
        assert {r.source for r in rows} >= {"ui", "api", "shopify"}
        assert {r.regulation for r in rows} >= {"gdpr", "ccpa"}
        assert sum(r.extended for r in rows) >= 3
        assert [r.status for r in rows].count("failed") == 1
        assert any(r.suppress for r in rows)
        oldest = min(as_utc(r.received_at) for r in rows)
        assert (now - oldest).days >= 150
        overdue, _cursor = page_requests(
            session, workspace_id=ws, filters=RequestFilters(overdue=True)
        )
        assert len(overdue) == 2
        assert all(free_text.reference_of(runtime.seal_keyring, r) for r in overdue)
        # The held-up ones wait for the worker's next attempt: not before an hour from now.
        waiting = [r for r in rows if r.status == "in_progress"]
        assert all(as_utc(r.next_attempt_at) > now + timedelta(minutes=55) for r in waiting)


def test_demo_store_has_suppressed_people_and_the_data_they_kept_out(runtime: Runtime) -> None:
    from fastapi.testclient import TestClient

    from veil.app import create_app
    from veil.auth.service import create_api_key
    from veil.compliance.deletions.service import unseal_contact
    from veil.compliance.overview import compliance_overview
    from veil.kit.time import as_utc, utcnow
    from veil.models import DeletionRequest, SuppressedDropCount, Suppression

    store = seed.seed_demo(runtime, profiles=240, events=3000)
    ws = store.workspace_id
    with runtime.sessionmaker() as session:
        entries = session.scalars(select(Suppression).where(Suppression.workspace_id == ws)).all()
        counted = session.scalar(
            select(func.sum(SuppressedDropCount.dropped)).where(
                SuppressedDropCount.workspace_id == ws
            )
        )
        overview = compliance_overview(session, workspace_id=ws, zone=as_utc(utcnow()).tzinfo)
        erased = session.get(DeletionRequest, entries[0].deletion_id)
        email = unseal_contact(runtime.seal_keyring, erased).email
    assert len(entries) >= 3
    # The hourly counters and the entries' own counters tell the same story.
    assert counted == sum(e.dropped for e in entries) > 0
    assert all(e.last_dropped_at is None or e.last_dropped_at > e.created_at for e in entries)
    assert (
        overview.dropped > 0 and sum(s.dropped for s in overview.drop_sources) == overview.dropped
    )
    # The digests are real: the suppressed person's email is refused by the live screening.
    with runtime.sessionmaker.begin() as session:
        key = create_api_key(session, workspace_id=ws, role="admin").token
    with TestClient(create_app(runtime)) as client:
        refused = client.post(
            "/api/v1/profiles", json={"email": email}, headers={"Authorization": f"Bearer {key}"}
        )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "subject_suppressed"
