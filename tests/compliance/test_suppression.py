"""Suppression (SPEC §9): a deletion with `suppress` keeps only keyed hashes, and data carrying
a suppressed identifier creates and changes nothing on every ingestion path."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import (
    deliver,
    events,
    fixture,
    local_path,
    profiles,
    set_shopify_secret,
    subscriber_with_message,
)
from veil.models import SuppressedIdentifier, Suppression
from veil.runtime import Runtime

EMAIL = "Gone.Person@Example.com"
PHONE = "+1 (415) 555-0100"
EXTERNAL = "crm-7731"
SECRET = "shpss_suppression_0123456789abcdef"


def _person(client: TestClient, ws: WorkspaceHandle, **extra: Any) -> str:
    body = {"email": EMAIL, "phone": PHONE, "external_id": EXTERNAL, "first_name": "Gone", **extra}
    response = client.post("/api/v1/profiles", json=body, headers=ws.admin)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _delete(client: TestClient, ws: WorkspaceHandle, profile_id: str, **body: Any) -> Any:
    return client.post(
        f"/api/v1/profiles/{profile_id}/delete", json={"confirm": True, **body}, headers=ws.admin
    )


def _suppressed_person(client: TestClient, ws: WorkspaceHandle) -> str:
    profile_id = _person(client, ws)
    assert _delete(client, ws, profile_id, suppress=True).status_code == 202
    return profile_id


def _entries(client: TestClient, ws: WorkspaceHandle) -> list[dict[str, Any]]:
    response = client.get("/api/v1/compliance/suppressions", headers=ws.admin)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return list(response.json()["data"])


def _dropped(client: TestClient, ws: WorkspaceHandle) -> int:
    (entry,) = _entries(client, ws)
    return int(entry["dropped"])


def test_a_suppressing_deletion_keeps_only_keyed_hashes(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    profile_id = _person(client, ws, properties={"segment": "vip"})
    deletion = _delete(client, ws, profile_id, suppress=True)
    assert deletion.status_code == 202, deletion.text
    (entry,) = _entries(client, ws)
    assert entry["deletion_id"] == deletion.json()["id"]
    assert entry["privacy_request_id"] is None
    assert entry["identifier_types"] == ["email", "phone", "external_id"]
    assert (entry["dropped"], entry["last_dropped_at"]) == (0, None)
    assert entry["created_at"].endswith("Z")
    run_jobs(runtime)

    with runtime.sessionmaker() as session:
        digests = set(session.scalars(select(SuppressedIdentifier.digest)))
        rows = [
            repr(tuple(row))
            for table in ("suppressions", "suppressed_identifiers", "suppression_keys")
            for row in session.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
        ]
    assert len(digests) == 3
    # Keyed: not the plain SHA-256 of any form of the identifier an attacker could try.
    for value in ("gone.person@example.com", "email:gone.person@example.com", "+14155550100"):
        assert hashlib.sha256(value.encode()).hexdigest() not in digests
    dump = "\n".join(rows).lower()
    for needle in ("gone.person", "example.com", "4155550100", "crm-7731"):
        assert needle not in dump


def test_the_workspace_setting_decides_when_the_request_does_not(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    workspace = client.get("/api/v1/workspace", headers=ws.admin).json()
    assert workspace["suppress_on_delete"] is False
    first = client.post("/api/v1/profiles", json={"email": "a@example.com"}, headers=ws.admin)
    assert _delete(client, ws, first.json()["id"]).status_code == 202
    assert _entries(client, ws) == []

    patched = client.patch(
        "/api/v1/workspace/settings", json={"suppress_on_delete": True}, headers=ws.admin
    )
    assert patched.status_code == 200 and patched.json()["suppress_on_delete"] is True
    second = client.post("/api/v1/profiles", json={"email": "b@example.com"}, headers=ws.admin)
    assert _delete(client, ws, second.json()["id"]).status_code == 202
    third = client.post("/api/v1/profiles", json={"email": "c@example.com"}, headers=ws.admin)
    assert _delete(client, ws, third.json()["id"], suppress=False).status_code == 202
    (entry,) = _entries(client, ws)
    assert entry["identifier_types"] == ["email"]
    # b@ is kept out, c@ (suppress: false) is not.
    refused = client.post("/api/v1/profiles", json={"email": "b@example.com"}, headers=ws.admin)
    assert_error(refused, 409, "subject_suppressed")
    again = client.post("/api/v1/profiles", json={"email": "c@example.com"}, headers=ws.admin)
    assert again.status_code == 201


def test_a_suppress_flag_that_is_not_a_boolean_is_refused_and_deletes_nothing(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    profile_id = _person(client, ws)
    assert_error(_delete(client, ws, profile_id, suppress="yes"), 422, "validation_error")
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
    assert profile["status"] == "active"
    assert _entries(client, ws) == []


def test_the_profiles_api_refuses_a_suppressed_person_in_any_form(
    client: TestClient, ws: WorkspaceHandle, caplog: pytest.LogCaptureFixture
) -> None:
    _suppressed_person(client, ws)
    caplog.set_level(logging.DEBUG)
    for body in (
        {"email": "  GONE.PERSON@example.COM "},
        {"phone": "415-555-0100"},  # the workspace's default region, another format
        {"external_id": EXTERNAL, "first_name": "Back"},
        {"email": "new.address@example.com", "phone": "+14155550100"},  # one identifier is enough
    ):
        assert_error(
            client.post("/api/v1/profiles", json=body, headers=ws.admin), 409, "subject_suppressed"
        )
    assert profiles(client, ws) == []
    (entry,) = _entries(client, ws)
    assert entry["dropped"] == 4 and entry["last_dropped_at"] is not None
    logged = caplog.text.lower()
    assert "gone.person" not in logged and "4155550100" not in logged and "back" not in logged


def test_rectification_cannot_give_a_profile_a_suppressed_identifier(
    client: TestClient, ws: WorkspaceHandle, caplog: pytest.LogCaptureFixture
) -> None:
    _suppressed_person(client, ws)
    other = client.post("/api/v1/profiles", json={"email": "else@example.com"}, headers=ws.admin)
    other_id = other.json()["id"]
    caplog.set_level(logging.DEBUG)
    for body in (
        {"email": " gone.PERSON@example.com"},
        {"phone": "(415) 555-0100"},
        {"external_id": EXTERNAL, "first_name": "Back"},
    ):
        response = client.patch(f"/api/v1/profiles/{other_id}", json=body, headers=ws.admin)
        assert_error(response, 409, "subject_suppressed")
    profile = client.get(f"/api/v1/profiles/{other_id}", headers=ws.admin).json()
    assert (profile["email"], profile["phone"], profile["external_id"]) == (
        "else@example.com",
        None,
        None,
    )
    assert profile["first_name"] is None and _dropped(client, ws) == 3
    logged = caplog.text.lower()
    assert "gone.person" not in logged and "4155550100" not in logged
    # Another workspace's or a missing profile is still 404, whatever the body carries.
    missing = client.patch("/api/v1/profiles/prf_missing", json={"email": EMAIL}, headers=ws.admin)
    assert_error(missing, 404, "not_found")
    # Clearing an identifier or changing other fields is not held up.
    fine = client.patch(
        f"/api/v1/profiles/{other_id}", json={"first_name": "Elsa"}, headers=ws.admin
    )
    assert fine.status_code == 200 and fine.json()["first_name"] == "Elsa"


def test_the_events_api_refuses_and_the_batch_drops_suppressed_items(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    _suppressed_person(client, ws)
    single = client.post(
        "/api/v1/events",
        json={"type": "Viewed Product", "profile": {"email": EMAIL}},
        headers=ws.member,
    )
    assert_error(single, 409, "subject_suppressed")
    batch = client.post(
        "/api/v1/events/batch",
        json={
            "events": [
                {"type": "Viewed Product", "profile": {"email": EMAIL.upper()}},
                {"type": "Viewed Product", "profile": {"email": "stays@example.com"}},
                {"type": "Placed Order", "profile": {"external_id": EXTERNAL}},
                {"type": "Placed Order", "profile": {"email": "stays@example.com"}},
            ]
        },
        headers=ws.member,
    )
    assert batch.status_code == 202, batch.text
    assert batch.json() == {"accepted": 2, "suppressed": 2}
    (stays,) = profiles(client, ws)
    assert stays["email"] == "stays@example.com"
    assert len(events(client, ws, stays["id"])) == 2
    assert _dropped(client, ws) == 3

    # A bad item still rejects the whole batch, named by its index as sent.
    bad = client.post(
        "/api/v1/events/batch",
        json={
            "events": [
                {"type": "Viewed Product", "profile": {"email": EMAIL}},
                {"type": "Viewed Product", "profile": {"id": "prf_missing"}},
            ]
        },
        headers=ws.member,
    )
    assert "events[1]" in assert_error(bad, 404, "not_found")
    assert _dropped(client, ws) == 4  # the first item was dropped before the second failed


def test_segment_calls_and_batches_are_acknowledged_and_dropped(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    _suppressed_person(client, ws)
    auth = (ws.write_key, "")
    calls: list[tuple[str, dict[str, Any]]] = [
        ("identify", {"userId": EXTERNAL, "traits": {"firstName": "Back"}}),
        ("identify", {"anonymousId": "anon-1", "traits": {"email": EMAIL}}),
        ("track", {"userId": EXTERNAL, "event": "Viewed Product", "messageId": "m-1"}),
        ("page", {"anonymousId": "anon-2", "context": {"traits": {"phone": "+14155550100"}}}),
        ("screen", {"userId": EXTERNAL, "name": "Home"}),
    ]
    for kind, body in calls:
        response = client.post(f"/v1/{kind}", json=body, auth=auth)
        assert response.status_code == 200 and response.json() == {"success": True}, kind
    batch = client.post(
        "/v1/batch",
        json={
            "batch": [
                {"type": "track", "userId": EXTERNAL, "event": "Placed Order", "messageId": "m-2"},
                {"type": "track", "userId": "someone-else", "event": "Placed Order"},
            ]
        },
        auth=auth,
    )
    assert batch.status_code == 200
    (other,) = profiles(client, ws)
    assert other["external_id"] == "someone-else"
    assert _dropped(client, ws) == 6

    # Nothing of a dropped call was kept, not even its messageId: once the suppression is
    # lifted, the same message is applied (not answered as a duplicate).
    (entry,) = _entries(client, ws)
    assert client.delete(f"/api/v1/compliance/suppressions/{entry['id']}", headers=ws.admin)
    replay = client.post(
        "/v1/track",
        json={"userId": EXTERNAL, "event": "Viewed Product", "messageId": "m-1"},
        auth=auth,
    )
    assert replay.status_code == 200
    back = [p for p in profiles(client, ws) if p["external_id"] == EXTERNAL]
    assert len(back) == 1 and len(events(client, ws, back[0]["id"])) == 1


@pytest.mark.parametrize("topic", ["customers/create", "orders/create", "checkouts/create"])
def test_shopify_deliveries_for_a_suppressed_person_are_acknowledged_and_dropped(
    client: TestClient, ws: WorkspaceHandle, topic: str
) -> None:
    set_shopify_secret(client, ws, SECRET)
    payload = fixture(topic.replace("/", "_"))
    customer = payload if topic.startswith("customers") else payload["customer"]
    customer["email"] = EMAIL.lower()
    if topic != "customers/create":
        payload["email"] = EMAIL.lower()
    _suppressed_person(client, ws)
    response = deliver(client, ws, topic, payload, secret=SECRET)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "suppressed"
    assert profiles(client, ws) == []
    assert _dropped(client, ws) == 1


def test_shopify_orders_dropped_by_their_customer_id_or_phone(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    set_shopify_secret(client, ws, SECRET)
    order = fixture("orders_create")
    first = deliver(client, ws, "orders/create", order, secret=SECRET)
    assert first.json()["status"] == "processed"
    (shopper,) = profiles(client, ws)
    assert _delete(client, ws, shopper["id"], suppress=True).status_code == 202
    (entry,) = _entries(client, ws)
    assert entry["identifier_types"] == ["email", "phone", "external_id"]
    # The next order of the same customer, with a new email and no phone: the id still matches.
    order["id"] += 1
    order["email"] = order["customer"]["email"] = "new@example.com"
    order["phone"] = order["customer"]["phone"] = None
    response = deliver(client, ws, "orders/create", order, secret=SECRET)
    assert response.json()["status"] == "suppressed"
    assert profiles(client, ws) == []


def test_opens_and_clicks_of_a_suppressed_recipient_record_nothing(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    reader, recipient = subscriber_with_message(client, ws, {"email": "reader@example.com"})
    campaign = {"id": recipient["campaign_id"]}
    assert _delete(client, ws, reader["id"], suppress=True).status_code == 202
    pixel = client.get(local_path(recipient["open_url"]))
    assert pixel.status_code == 200 and pixel.content.startswith(b"GIF89a")
    (tracked,) = recipient["click_urls"].values()
    click = client.get(local_path(tracked), follow_redirects=False)
    assert click.status_code == 302
    assert click.headers["location"] == "https://shop.example.com/sale"
    assert profiles(client, ws) == []
    (after,) = client.get(
        f"/api/v1/campaigns/{campaign['id']}/recipients", headers=ws.admin
    ).json()["data"]
    assert after["activity"] == [] and after["opens"] == 0
    assert _dropped(client, ws) == 2


def test_lifting_lets_data_in_again_is_audited_and_a_second_lift_is_404(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    _suppressed_person(client, ws)
    (entry,) = _entries(client, ws)
    lifted = client.delete(f"/api/v1/compliance/suppressions/{entry['id']}", headers=ws.admin)
    assert lifted.status_code == 204 and lifted.content == b""
    assert _entries(client, ws) == []
    back = client.post("/api/v1/profiles", json={"email": EMAIL}, headers=ws.admin)
    assert back.status_code == 201
    again = client.delete(f"/api/v1/compliance/suppressions/{entry['id']}", headers=ws.admin)
    assert_error(again, 404, "not_found")
    audit = client.get("/api/v1/audit", params={"limit": 500}, headers=ws.admin).json()["data"]
    actions = [(e["action"], e["target_id"]) for e in audit]
    assert ("suppression.lifted", entry["id"]) in actions
    assert ("suppression.created", entry["id"]) in actions
    assert sum(a == "suppression.lifted" for a, _t in actions) == 1


def test_members_and_other_workspaces_cannot_see_or_lift(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle, runtime: Runtime
) -> None:
    _suppressed_person(client, ws)
    (entry,) = _entries(client, ws)
    url = f"/api/v1/compliance/suppressions/{entry['id']}"
    assert_error(client.get("/api/v1/compliance/suppressions", headers=ws.member), 403, "forbidden")
    assert_error(client.delete(url, headers=ws.member), 403, "forbidden")
    assert_error(client.delete(url, headers=other_ws.admin), 404, "not_found")
    assert client.get("/api/v1/compliance/suppressions", headers=other_ws.admin).json() == {
        "data": [],
        "next_cursor": None,
    }
    # The same person is welcome in another workspace (suppression is per workspace).
    elsewhere = client.post("/api/v1/profiles", json={"email": EMAIL}, headers=other_ws.admin)
    assert elsewhere.status_code == 201
    with runtime.sessionmaker() as session:
        assert session.scalar(select(Suppression.workspace_id)) == ws.id
    assert _entries(client, ws)[0]["dropped"] == 0


def test_previous_identifiers_are_suppressed_unless_somebody_else_holds_them_now(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    """SPEC §9: "each identifier the profile had" — its identifier history too, except a value
    another active profile has taken since (suppressing it would keep that person out)."""
    profile_id = _person(client, ws)
    for body in ({"email": "third@example.com"}, {"email": "now@example.com"}):
        response = client.patch(f"/api/v1/profiles/{profile_id}", json=body, headers=ws.admin)
        assert response.status_code == 200, response.text
    taken = client.post("/api/v1/profiles", json={"email": "third@example.com"}, headers=ws.admin)
    assert taken.status_code == 201
    assert _delete(client, ws, profile_id, suppress=True).status_code == 202

    old = client.post("/api/v1/profiles", json={"email": EMAIL}, headers=ws.admin)
    assert_error(old, 409, "subject_suppressed")  # a previous email, kept out
    again = client.post(
        "/api/v1/profiles", json={"email": "third@example.com", "first_name": "X"}, headers=ws.admin
    )
    assert again.status_code == 200 and again.json()["id"] == taken.json()["id"]


def test_a_batch_naming_the_person_many_times_drops_every_occurrence(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    """Each distinct subject of a batch is normalised and digested once: the repeats, in the
    same spelling or another, are dropped and counted all the same."""
    _suppressed_person(client, ws)
    spellings = [EMAIL, EMAIL.upper(), f"  {EMAIL.lower()} ", EMAIL]
    items = []
    for spelling in spellings:
        items.append({"type": "Viewed Product", "profile": {"email": spelling}})
        items.append({"type": "Viewed Product", "profile": {"email": "stays@example.com"}})
    batch = client.post("/api/v1/events/batch", json={"events": items}, headers=ws.member)
    assert batch.status_code == 202, batch.text
    assert batch.json() == {"accepted": 4, "suppressed": 4}
    assert _dropped(client, ws) == 4


def test_screening_tells_true_from_1_and_checks_values_of_any_type(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """True and 1 are equal as dictionary keys; only 1 is an identifier (external id "1")."""
    from types import SimpleNamespace

    from veil.compliance.suppressions.screening import drop_suppressed
    from veil.compliance.suppressions.service import suppress_identifiers
    from veil.db import session_scope

    with session_scope(runtime.sessionmaker) as session:
        suppress_identifiers(session, runtime, ws.id, [("external_id", "1")], None)
    subjects = [
        SimpleNamespace(external_id=True),
        SimpleNamespace(external_id=1),
        SimpleNamespace(external_id={"not": "hashable"}),
        SimpleNamespace(external_id="1"),
        SimpleNamespace(external_id=True),
    ]
    with session_scope(runtime.sessionmaker) as session:
        kept = drop_suppressed(
            session, runtime, workspace_id=ws.id, items=subjects, subject=lambda s: s, source="api"
        )
    assert [s.external_id for s in kept] == [True, {"not": "hashable"}, True]
