"""HTTP: PATCH /api/v1/profiles/{id} — rectification (SPEC §9, GDPR art. 16)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from veil.models import IdentifierType
from veil.profiles.history import find_profiles_by_identifier
from veil.runtime import Runtime


def _create(client: TestClient, ws: WorkspaceHandle, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/profiles", json=body, headers=ws.member)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _patch(client: TestClient, ws: WorkspaceHandle, profile_id: str, body: Any) -> Any:
    return client.patch(f"/api/v1/profiles/{profile_id}", json=body, headers=ws.member)


def _audit(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/audit",
        params={"target_id": profile_id, "action": "profile.rectified"},
        headers=ws.admin,
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_a_member_rectifies_every_field(client: TestClient, ws: WorkspaceHandle) -> None:
    ada = _create(
        client,
        ws,
        email="ada@example.com",
        phone="+14155550132",
        external_id="c-1",
        first_name="Ada",
        last_name="Byron",
        properties={"tier": "gold", "city": "London", "pets": ["cat"]},
        consent={"email": "subscribed"},
    )
    response = _patch(
        client,
        ws,
        ada["id"],
        {
            "email": " Ada.Lovelace@Example.com ",
            "phone": "(415) 555-0199",
            "external_id": "c-2",
            "first_name": "Augusta Ada",
            "last_name": "Lovelace",
            "properties": {"tier": "platinum", "city": None, "nested": {"a": 1}},
        },
    )
    assert response.status_code == 200, response.text
    fixed = response.json()
    assert fixed["id"] == ada["id"]
    assert (fixed["email"], fixed["phone"], fixed["external_id"]) == (
        "ada.lovelace@example.com",
        "+14155550199",
        "c-2",
    )
    assert (fixed["first_name"], fixed["last_name"]) == ("Augusta Ada", "Lovelace")
    assert fixed["properties"] == {"tier": "platinum", "pets": ["cat"], "nested": {"a": 1}}
    assert fixed["consent"] == {"email": "subscribed"}
    assert fixed["updated_at"] > ada["updated_at"]
    assert client.get(f"/api/v1/profiles/{ada['id']}", headers=ws.member).json() == fixed

    (entry,) = _audit(client, ws, ada["id"])
    assert entry["details"] == {
        "fields": ["email", "phone", "external_id", "first_name", "last_name", "properties"]
    }
    text = str(entry)
    for value in ("ada", "lovelace", "415", "c-2", "platinum", "London"):
        assert value not in text.lower().replace("profile.rectified", ""), value


def test_only_the_fields_sent_change_and_null_clears_one(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    ada = _create(client, ws, email="ada@example.com", phone="+14155550132", first_name="Ada")
    response = _patch(client, ws, ada["id"], {"phone": None, "last_name": "Lovelace"})
    assert response.status_code == 200, response.text
    fixed = response.json()
    assert (fixed["email"], fixed["phone"], fixed["first_name"], fixed["last_name"]) == (
        "ada@example.com",
        None,
        "Ada",
        "Lovelace",
    )
    (entry,) = _audit(client, ws, ada["id"])
    assert entry["details"] == {"fields": ["phone", "last_name"]}


def test_replaced_identifiers_become_previous_identifiers(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    ada = _create(client, ws, email="ada@example.com", phone="+14155550132", external_id="c-1")
    body = {"email": "lovelace@example.com", "phone": None, "external_id": "c-2"}
    assert _patch(client, ws, ada["id"], body).status_code == 200
    with runtime.sessionmaker() as session:
        for kind, old in (
            (IdentifierType.EMAIL, "ada@example.com"),
            (IdentifierType.PHONE, "+14155550132"),
            (IdentifierType.EXTERNAL_ID, "c-1"),
            (IdentifierType.EMAIL, "lovelace@example.com"),
        ):
            assert find_profiles_by_identifier(session, ws.id, kind, old) == [ada["id"]]
    # The old email is free again: §2 resolution gives it to a new profile.
    other = _create(client, ws, email="ada@example.com")
    assert other["id"] != ada["id"]


def test_an_identifier_held_by_another_active_profile_is_a_conflict(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    ada = _create(client, ws, email="ada@example.com", first_name="Ada")
    _create(client, ws, email="grace@example.com", phone="+14155550100", external_id="g-1")
    for body in (
        {"email": "GRACE@example.com"},
        {"phone": "415-555-0100"},
        {"external_id": "g-1"},
        {"first_name": "Changed", "email": "grace@example.com"},
    ):
        message = assert_error(_patch(client, ws, ada["id"], body), 409, "identifier_conflict")
        assert "grace" not in message.lower()
    unchanged = client.get(f"/api/v1/profiles/{ada['id']}", headers=ws.member).json()
    assert (unchanged["email"], unchanged["first_name"]) == ("ada@example.com", "Ada")
    assert _audit(client, ws, ada["id"]) == []


@pytest.mark.parametrize(
    ("body", "mentioned"),
    [
        ({"phone": "call me maybe"}, "phone"),
        ({"phone": "+1 415"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"email": "ada\u0000@example.com"}, "email"),
        ({"first_name": "Ada\u0000"}, "first_name"),
        ({"properties": {"note": "a\u0000b"}}, "properties"),
        ({"surprise": 1}, "surprise"),
        ({"status": "deleted"}, "status"),
        ({"consent": {"email": "subscribed"}}, "consent"),
        ({"properties": [1]}, "properties"),
        ({"email": 42}, "email"),
        ({}, "email"),
        ({"email": None, "phone": None}, "at least one"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    client: TestClient, ws: WorkspaceHandle, body: dict[str, Any], mentioned: str
) -> None:
    ada = _create(client, ws, email="ada@example.com", first_name="Ada")
    message = assert_error(_patch(client, ws, ada["id"], body), 422, "validation_error")
    assert mentioned in message, message
    assert client.get(f"/api/v1/profiles/{ada['id']}", headers=ws.member).json() == ada


def test_a_deleted_profile_cannot_be_rectified(client: TestClient, ws: WorkspaceHandle) -> None:
    ada = _create(client, ws, email="ada@example.com")
    deleted = client.post(
        f"/api/v1/profiles/{ada['id']}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202, deleted.text
    response = _patch(client, ws, ada["id"], {"first_name": "Ada"})
    assert_error(response, 409, "profile_deleted")


def test_another_workspaces_profile_is_not_found(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    theirs = _create(client, other_ws, email="ada@example.com")
    assert_error(_patch(client, ws, theirs["id"], {"first_name": "X"}), 404, "not_found")
    assert_error(_patch(client, ws, "prf_missing", {"first_name": "X"}), 404, "not_found")
    response = client.get(f"/api/v1/profiles/{theirs['id']}", headers=other_ws.member)
    assert response.json()["first_name"] is None


def test_rectification_needs_a_key(client: TestClient, ws: WorkspaceHandle) -> None:
    ada = _create(client, ws, email="ada@example.com")
    response = client.patch(f"/api/v1/profiles/{ada['id']}", json={"first_name": "X"})
    assert_error(response, 401, "unauthorized")
    admin = client.patch(
        f"/api/v1/profiles/{ada['id']}", json={"first_name": "Augusta"}, headers=ws.admin
    )
    assert admin.status_code == 200 and admin.json()["first_name"] == "Augusta"
