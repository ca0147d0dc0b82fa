"""Privacy requests match previous identifiers too (SPEC §8.1, §9 identifier history)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.compliance.privacy_requests.support import URL, by_email, create, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.models import Profile
from veil.runtime import Runtime

BULK = f"{URL}/bulk"


def _renamed(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> str:
    """A profile that was ada@old.example and is now ada@new.example (rectified by PATCH)."""
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="ada@old.example").id
    response = client.patch(
        f"/api/v1/profiles/{profile_id}", json={"email": "ada@new.example"}, headers=ws.admin
    )
    assert response.status_code == 200, response.text
    return profile_id


def test_an_access_request_by_an_old_email_finds_the_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _renamed(client, runtime, ws)
    response = create(client, ws, by_email("ADA@old.example"))
    assert response.status_code == 202, response.text
    assert response.json()["profile_ids"] == [profile_id]
    settle(runtime)
    done = client.get(f"{URL}/{response.json()['id']}", headers=ws.admin).json()
    assert done["status"] == "completed" and len(done["export_ids"]) == 1
    export = client.get(f"/api/v1/compliance/exports/{done['export_ids'][0]}", headers=ws.admin)
    assert export.json()["profile_id"] == profile_id


def test_an_erasure_request_by_an_old_email_erases_the_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _renamed(client, runtime, ws)
    response = create(client, ws, by_email("ada@old.example", type="erasure"))
    assert response.json()["profile_ids"] == [profile_id]
    settle(runtime)
    done = client.get(f"{URL}/{response.json()['id']}", headers=ws.admin).json()
    assert done["status"] == "completed" and done["verified"] is True
    with runtime.sessionmaker() as session:
        assert session.get_one(Profile, profile_id).status == "deleted"


def test_current_holder_and_previous_holder_are_both_matched(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    previous = _renamed(client, runtime, ws)
    with runtime.sessionmaker.begin() as session:
        current = make_profile(session, workspace_id=ws.id, email="ada@old.example").id
    response = create(client, ws, by_email("ada@old.example"))
    assert response.json()["profile_ids"] == [current, previous]


def test_an_old_email_of_another_workspace_or_a_deleted_profile_does_not_match(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    profile_id = _renamed(client, runtime, ws)
    assert create(client, other_ws, by_email("ada@old.example")).json()["profile_ids"] == []
    deleted = client.post(
        f"/api/v1/profiles/{profile_id}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202, deleted.text
    assert create(client, ws, by_email("ada@old.example")).json()["profile_ids"] == []


def test_bulk_matches_old_emails(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    profile_id = _renamed(client, runtime, ws)
    body = {
        "type": "access",
        "subjects": [
            {"identities": [{"type": "email", "value": "nobody@example.com"}]},
            {"identities": [{"type": "email", "value": "ada@old.example"}]},
            {"identities": [{"type": "email", "value": "ada@new.example"}]},
        ],
    }
    response = client.post(BULK, json=body, headers=ws.admin)
    assert response.status_code == 202, response.text
    found = [
        client.get(f"{URL}/{i}", headers=ws.admin).json()["profile_ids"]
        for i in response.json()["requests"]
    ]
    assert found == [[], [profile_id], [profile_id]]
