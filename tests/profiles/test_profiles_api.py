"""HTTP: /api/v1/profiles — upsert, list with consent and search, one profile."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error, collect_pages
from veil.kit.time import utcnow
from veil.models import Profile
from veil.runtime import Runtime


def test_post_creates_then_updates_by_identifiers(client: TestClient, ws: WorkspaceHandle) -> None:
    body = {
        "email": " Ada@Example.com ",
        "phone": "(415) 555-0132",
        "first_name": "Ada",
        "properties": {"tier": "gold", "address": {"city": "London"}},
        "consent": {"email": "subscribed", "sms": "unsubscribed"},
    }
    created = client.post("/api/v1/profiles", json=body, headers=ws.member)
    assert created.status_code == 201, created.text
    profile = created.json()
    assert profile["email"] == "ada@example.com"
    assert profile["phone"] == "+14155550132"
    assert profile["status"] == "active"
    assert profile["is_contact"] is True
    assert profile["consent"] == {"email": "subscribed", "sms": "unsubscribed"}
    assert profile["created_at"] == profile["updated_at"]  # a new profile: one moment

    updated = client.post(
        "/api/v1/profiles",
        json={"email": "ada@example.com", "last_name": "Lovelace", "properties": {"vip": True}},
        headers=ws.member,
    )
    assert updated.status_code == 200
    again = updated.json()
    assert again["id"] == profile["id"]
    assert again["last_name"] == "Lovelace"
    assert again["created_at"] == profile["created_at"] < again["updated_at"]
    assert again["properties"] == {"tier": "gold", "address": {"city": "London"}, "vip": True}


def test_post_rejects_bad_input(client: TestClient, ws: WorkspaceHandle) -> None:
    cases = [
        ({"phone": "call me maybe"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"first_name": "Ada"}, "email"),
        ({"email": "a@b.co", "consent": {"email": "maybe"}}, "consent"),
        ({"email": "a@b.co", "properties": []}, "properties"),
        ({"email": "a@b.co", "surprise": 1}, "surprise"),
    ]
    for body, mentioned in cases:
        response = client.post("/api/v1/profiles", json=body, headers=ws.member)
        message = assert_error(response, 422, "validation_error")
        assert mentioned in message, (body, message)


def test_identifiers_of_two_profiles_conflict(client: TestClient, ws: WorkspaceHandle) -> None:
    client.post("/api/v1/profiles", json={"email": "a@example.com"}, headers=ws.member)
    client.post("/api/v1/profiles", json={"external_id": "c-1"}, headers=ws.member)
    response = client.post(
        "/api/v1/profiles", json={"external_id": "c-1", "email": "a@example.com"}, headers=ws.member
    )
    assert_error(response, 409, "identifier_conflict")


def test_list_shows_consent_and_searches(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(
            session,
            workspace_id=ws.id,
            email="grace@example.com",
            first_name="Grace",
            last_name="Hopper",
            phone="+14155550100",
            consent={"email": "subscribed", "sms": "unsubscribed"},
        )
        make_profile(session, workspace_id=ws.id, email="alan@example.com", first_name="Alan")
    rows = client.get("/api/v1/profiles", headers=ws.member).json()["data"]
    by_email = {r["email"]: r for r in rows}
    assert by_email["grace@example.com"]["consent"] == {
        "email": "subscribed",
        "sms": "unsubscribed",
    }
    assert by_email["alan@example.com"]["consent"] == {}

    for query in ("grace", "Hopper", "grace hopper", "5550100", "GRACE@example"):
        found = client.get("/api/v1/profiles", params={"query": query}, headers=ws.member)
        assert [r["email"] for r in found.json()["data"]] == ["grace@example.com"], query


def test_list_paginates_with_cursors_and_hides_deleted(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        ids = [
            make_profile(session, workspace_id=ws.id, email=f"p{i}@example.com").id
            for i in range(7)
        ]
        gone = session.get(Profile, ids[0])
        assert gone is not None
        gone.status, gone.email, gone.deleted_at = "deleted", None, utcnow()
    items = collect_pages(client, "/api/v1/profiles", ws.member, limit=2)
    assert [p["id"] for p in items] == sorted(ids[1:], reverse=True)


def test_get_one_profile_and_a_deleted_one(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session, workspace_id=ws.id, email="x@example.com", consent={"sms": "subscribed"}
        )
        pid = profile.id
    response = client.get(f"/api/v1/profiles/{pid}", headers=ws.member)
    assert response.status_code == 200
    assert response.json()["consent"] == {"sms": "subscribed"}

    with runtime.sessionmaker.begin() as session:
        row = session.scalar(select(Profile).where(Profile.id == pid))
        assert row is not None
        row.status, row.deleted_at = "deleted", utcnow()
    shown = client.get(f"/api/v1/profiles/{pid}", headers=ws.member).json()
    assert shown["status"] == "deleted"
    assert shown["email"] is None and shown["first_name"] is None and shown["consent"] == {}


def test_another_workspaces_profile_is_not_found(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        theirs = make_profile(session, workspace_id=other_ws.id, email="them@example.com").id
    assert_error(client.get(f"/api/v1/profiles/{theirs}", headers=ws.admin), 404, "not_found")
    assert_error(client.get("/api/v1/profiles/prf_missing", headers=ws.admin), 404, "not_found")
    assert client.get("/api/v1/profiles", headers=ws.admin).json()["data"] == []
    # The same email in this workspace is a different person (a new profile).
    mine = client.post("/api/v1/profiles", json={"email": "them@example.com"}, headers=ws.admin)
    assert mine.status_code == 201 and mine.json()["id"] != theirs
