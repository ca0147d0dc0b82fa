"""Identifier history (SPEC §9): every path that changes an email, phone or external id keeps
the old value as a previous identifier; privacy-request matching finds it, §2 resolution not."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import deliver, fixture, set_shopify_secret
from veil.models import IdentifierType, ProfileIdentifier
from veil.profiles.history import find_profiles_by_identifier
from veil.runtime import Runtime

EMAIL, PHONE, EXTERNAL_ID = IdentifierType.EMAIL, IdentifierType.PHONE, IdentifierType.EXTERNAL_ID
SECRET = "shpss_history_0123456789abcdef"


def _upsert(client: TestClient, ws: WorkspaceHandle, **body: Any) -> Any:
    return client.post("/api/v1/profiles", json=body, headers=ws.member)


def _history(runtime: Runtime, profile_id: str) -> list[tuple[str, str]]:
    with runtime.sessionmaker() as session:
        rows = session.scalars(
            select(ProfileIdentifier).where(ProfileIdentifier.profile_id == profile_id)
        )
        return sorted((row.type, row.value) for row in rows)


def _find(runtime: Runtime, ws: WorkspaceHandle, kind: IdentifierType, value: str) -> list[str]:
    with runtime.sessionmaker() as session:
        return find_profiles_by_identifier(session, ws.id, kind, value)


def _segment(client: TestClient, ws: WorkspaceHandle, path: str, body: Any) -> None:
    response = client.post(path, json=body, auth=(ws.write_key, ""))
    assert response.status_code == 200, response.text


def test_an_api_upsert_that_replaces_identifiers_keeps_the_old_ones(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    ada = _upsert(client, ws, external_id="c-1", email="ada@example.com", phone="+14155550132")
    assert ada.status_code == 201
    profile_id = ada.json()["id"]
    moved = _upsert(client, ws, external_id="c-1", email="lovelace@example.com", phone="4155550199")
    assert moved.status_code == 200 and moved.json()["id"] == profile_id
    assert _history(runtime, profile_id) == [
        ("email", "ada@example.com"),
        ("phone", "+14155550132"),
    ]
    assert _find(runtime, ws, EMAIL, "ada@example.com") == [profile_id]
    assert _find(runtime, ws, EMAIL, "lovelace@example.com") == [profile_id]
    assert _find(runtime, ws, PHONE, "+14155550132") == [profile_id]

    # Previous identifiers take no part in §2: an event by the old email makes a new profile.
    event = client.post(
        "/api/v1/events",
        json={"type": "Viewed Product", "profile": {"email": "ada@example.com"}},
        headers=ws.member,
    )
    assert event.status_code == 202, event.text
    newcomer = event.json()["profile_id"]
    assert newcomer != profile_id
    # Privacy-request matching finds both: the current holder first.
    assert _find(runtime, ws, EMAIL, "ada@example.com") == [newcomer, profile_id]


def test_a_conflicting_upsert_keeps_no_history(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    first = _upsert(client, ws, external_id="c-1", email="ada@example.com").json()
    _upsert(client, ws, email="grace@example.com")
    response = _upsert(client, ws, external_id="c-1", email="grace@example.com")
    assert_error(response, 409, "identifier_conflict")
    assert _history(runtime, first["id"]) == []


def test_taking_a_value_back_and_replacing_it_again_is_one_row(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _upsert(client, ws, external_id="c-1", email="a@example.com").json()["id"]
    for email in ("b@example.com", "a@example.com", "b@example.com"):
        assert _upsert(client, ws, external_id="c-1", email=email).status_code == 200
    assert _history(runtime, profile_id) == [("email", "a@example.com"), ("email", "b@example.com")]
    with runtime.sessionmaker() as session:
        rows = {
            r.value: r.until
            for r in session.scalars(
                select(ProfileIdentifier).where(ProfileIdentifier.profile_id == profile_id)
            )
        }
    assert rows["a@example.com"] > rows["b@example.com"]  # replaced last: moved on


def test_matching_sees_active_profiles_of_the_workspace_only(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    kept = _upsert(client, ws, external_id="c-1", email="old@example.com").json()["id"]
    _upsert(client, ws, external_id="c-1", email="new@example.com")
    gone = _upsert(client, ws, external_id="c-2", email="old2@example.com").json()["id"]
    _upsert(client, ws, external_id="c-2", email="new2@example.com")
    deleted = client.post(
        f"/api/v1/profiles/{gone}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202
    assert _find(runtime, ws, EMAIL, "old@example.com") == [kept]
    assert _find(runtime, ws, EMAIL, "old2@example.com") == []
    assert _find(runtime, ws, EXTERNAL_ID, "c-1") == [kept]
    assert _find(runtime, other_ws, EMAIL, "old@example.com") == []
    assert _find(runtime, ws, EMAIL, "nobody@example.com") == []


def test_segment_identify_replaces_email_and_phone_and_keeps_the_old(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    traits = {"email": "ada@example.com", "phone": "+14155550132"}
    _segment(client, ws, "/v1/identify", {"userId": "u-1", "traits": traits})
    new = {"email": "ADA.L@example.com", "phone": "(415) 555-0199"}
    _segment(client, ws, "/v1/identify", {"userId": "u-1", "traits": new})
    (profile_id,) = _find(runtime, ws, EXTERNAL_ID, "u-1")
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.member).json()
    assert (profile["email"], profile["phone"]) == ("ada.l@example.com", "+14155550199")
    assert _history(runtime, profile_id) == [
        ("email", "ada@example.com"),
        ("phone", "+14155550132"),
    ]

    # A track carrying other traits fills in nothing it already has; it replaces nothing.
    _segment(
        client,
        ws,
        "/v1/track",
        {"userId": "u-1", "event": "Viewed", "context": {"traits": {"email": "x@example.com"}}},
    )
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.member).json()
    assert profile["email"] == "ada.l@example.com"


def test_segment_identify_leaves_an_email_another_profile_holds(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    grace = _upsert(client, ws, email="grace@example.com").json()["id"]
    _segment(client, ws, "/v1/identify", {"userId": "u-1", "traits": {"email": "ada@example.com"}})
    _segment(
        client, ws, "/v1/identify", {"userId": "u-1", "traits": {"email": "grace@example.com"}}
    )
    (ada,) = _find(runtime, ws, EXTERNAL_ID, "u-1")
    assert client.get(f"/api/v1/profiles/{ada}", headers=ws.member).json()["email"] == (
        "ada@example.com"
    )
    assert _find(runtime, ws, EMAIL, "grace@example.com") == [grace]
    assert _history(runtime, ada) == []


def test_segment_identify_by_email_alone_does_not_replace_identifiers(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Only the source's own user id vouches for a new email; an anonymous id does not."""
    _segment(client, ws, "/v1/identify", {"anonymousId": "dev-1", "traits": {"email": "a@x.io"}})
    _segment(client, ws, "/v1/identify", {"anonymousId": "dev-1", "traits": {"email": "b@x.io"}})
    (first,) = _find(runtime, ws, EMAIL, "a@x.io")
    assert _history(runtime, first) == []


def test_segment_batch_an_old_phone_after_the_identify_is_resolved_anew(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Within one batch, as call by call: once an identify replaced the phone, a call naming
    the old phone (and a device the profile does not hold) no longer lands on that profile."""
    first = {"userId": "u-1", "anonymousId": "dev-a", "traits": {"phone": "+14155550132"}}
    _segment(client, ws, "/v1/identify", first)
    (ada,) = _find(runtime, ws, EXTERNAL_ID, "u-1")
    by_old_phone = {"anonymousId": "dev-9", "context": {"traits": {"phone": "+14155550132"}}}
    batch = [
        {"type": "track", "event": "Before", **by_old_phone},
        {"type": "identify", "userId": "u-1", "traits": {"phone": "+14155550199"}},
        {"type": "track", "event": "After", **by_old_phone},
    ]
    _segment(client, ws, "/v1/batch", {"batch": batch})
    holders = _find(runtime, ws, PHONE, "+14155550132")
    assert ada in holders and len(holders) == 2  # previous of ada, current of a new profile
    newcomer = next(p for p in holders if p != ada)
    placed = {
        e["type"]: pid
        for pid in (ada, newcomer)
        for e in client.get(f"/api/v1/profiles/{pid}/events", headers=ws.member).json()["data"]
    }
    assert placed == {"Before": ada, "After": newcomer}


@pytest.fixture
def shop(client: TestClient, ws: WorkspaceHandle) -> WorkspaceHandle:
    set_shopify_secret(client, ws, SECRET)
    return ws


def test_shopify_customers_update_replaces_the_email_and_keeps_the_old(
    client: TestClient, runtime: Runtime, shop: WorkspaceHandle
) -> None:
    customer = fixture("customers_create")
    assert deliver(client, shop, "customers/create", customer, secret=SECRET).status_code == 200
    external_id = f"shopify:{customer['id']}"
    (profile_id,) = _find(runtime, shop, EXTERNAL_ID, external_id)
    old_email = customer["email"].lower()

    changed = {**fixture("customers_update"), "email": "robert.biller@example.com"}
    assert deliver(client, shop, "customers/update", changed, secret=SECRET).status_code == 200
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=shop.member).json()
    assert profile["email"] == "robert.biller@example.com"
    assert _history(runtime, profile_id) == [("email", old_email)]
    assert _find(runtime, shop, EMAIL, old_email) == [profile_id]

    # An order names the customer with yet another email: orders only fill in, never replace.
    order = fixture("orders_create")
    order["customer"] = {**order["customer"], "id": customer["id"], "email": "third@example.com"}
    order["email"] = "third@example.com"
    assert deliver(client, shop, "orders/create", order, secret=SECRET).status_code == 200
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=shop.member).json()
    assert profile["email"] == "robert.biller@example.com"
    assert _history(runtime, profile_id) == [("email", old_email)]
