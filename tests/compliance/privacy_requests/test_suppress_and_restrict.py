"""An erasure request's `suppress` (SPEC §8.1, §9) and `restriction` requests (§8.4)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.compliance.privacy_requests.support import URL, by_email, create, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from veil.models import AuditEntry
from veil.runtime import Runtime

EMAIL = "gone@example.com"


def _event(client: TestClient, ws: WorkspaceHandle, email: str = EMAIL) -> Any:
    return client.post(
        "/api/v1/events",
        json={"type": "Viewed Product", "profile": {"email": email}},
        headers=ws.member,
    )


def _suppressions(client: TestClient, ws: WorkspaceHandle) -> list[dict[str, Any]]:
    response = client.get("/api/v1/compliance/suppressions", headers=ws.admin)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def _profile(runtime: Runtime, ws: WorkspaceHandle, **fields: Any) -> str:
    with runtime.sessionmaker.begin() as session:
        return make_profile(session, workspace_id=ws.id, **fields).id


def test_a_suppress_erasure_of_a_matched_profile_keeps_the_person_out(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email=EMAIL)
    response = create(client, ws, by_email(EMAIL, type="erasure", suppress=True))
    assert response.status_code == 202, response.text
    request_id = response.json()["id"]
    assert response.json()["suppress"] is True
    settle(runtime)
    done = client.get(f"{URL}/{request_id}", headers=ws.admin).json()
    assert done["status"] == "completed" and len(done["deletion_ids"]) == 1
    (entry,) = _suppressions(client, ws)
    assert entry["deletion_id"] == done["deletion_ids"][0]
    assert entry["privacy_request_id"] == request_id
    assert_error(_event(client, ws), 409, "subject_suppressed")


def test_a_suppress_erasure_that_matched_nobody_still_records_its_suppression(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    body = {
        "type": "erasure",
        "suppress": True,
        "identities": [
            {"type": "email", "value": " Gone@Example.com"},
            {"type": "profile_id", "value": "prof_nobody"},
        ],
    }
    response = create(client, ws, body)
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "completed" and response.json()["profile_ids"] == []
    (entry,) = _suppressions(client, ws)
    assert entry["deletion_id"] is None
    assert entry["privacy_request_id"] == response.json()["id"]
    assert entry["identifier_types"] == ["email"]
    assert_error(_event(client, ws), 409, "subject_suppressed")
    assert _event(client, ws, "someone.else@example.com").status_code == 202


def test_suppress_defaults_to_the_workspace_setting(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    plain = create(client, ws, by_email("kept@example.com", type="erasure"))
    assert plain.json()["suppress"] is False
    assert _suppressions(client, ws) == []
    assert _event(client, ws, "kept@example.com").status_code == 202

    patched = client.patch(
        "/api/v1/workspace/settings", json={"suppress_on_delete": True}, headers=ws.admin
    )
    assert patched.status_code == 200, patched.text
    _profile(runtime, ws, email=EMAIL)
    by_default = create(client, ws, by_email(EMAIL, type="erasure"))
    assert by_default.json()["suppress"] is True
    declined = create(client, ws, by_email("other@example.com", type="erasure", suppress=False))
    assert declined.json()["suppress"] is False
    settle(runtime)
    (entry,) = _suppressions(client, ws)
    assert entry["privacy_request_id"] == by_default.json()["id"]
    assert_error(_event(client, ws), 409, "subject_suppressed")
    assert _event(client, ws, "other@example.com").status_code == 202


def test_a_bulk_suppress_erasure_suppresses_matched_and_unmatched_subjects(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email=EMAIL)
    body = {
        "type": "erasure",
        "suppress": True,
        "subjects": [
            {"identities": [{"type": "email", "value": EMAIL}]},
            {"identities": [{"type": "email", "value": "never.seen@example.com"}]},
        ],
    }
    response = client.post(f"{URL}/bulk", json=body, headers=ws.admin)
    assert response.status_code == 202, response.text
    settle(runtime)
    assert len(_suppressions(client, ws)) == 2
    assert_error(_event(client, ws), 409, "subject_suppressed")
    assert_error(_event(client, ws, "never.seen@example.com"), 409, "subject_suppressed")


def test_a_restriction_request_restricts_every_matched_profile_at_once(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    by_mail = _profile(runtime, ws, email=EMAIL)
    by_phone = _profile(runtime, ws, email=None, phone="+14155550100")
    untouched = _profile(runtime, ws, email="bystander@example.com")
    body = {
        "type": "restriction",
        "identities": [
            {"type": "email", "value": EMAIL},
            {"type": "phone", "value": "+1 415 555 0100"},
        ],
        "reference": "ART18-1",
    }
    response = create(client, ws, body)
    assert response.status_code == 202, response.text
    request = response.json()
    assert request["type"] == "restriction" and request["status"] == "completed"
    assert request["profile_ids"] == [by_mail, by_phone]
    assert request["completed_at"] is not None
    for profile_id in (by_mail, by_phone):
        profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
        assert profile["restricted"] is True and profile["restricted_at"] is not None
    bystander = client.get(f"/api/v1/profiles/{untouched}", headers=ws.admin).json()
    assert bystander["restricted"] is False
    # Restricted, not erased: data and new events are kept.
    assert _event(client, ws).status_code == 202
    settle(runtime)
    again = client.get(f"{URL}/{request['id']}", headers=ws.admin).json()
    assert again["status"] == "completed"
    with runtime.sessionmaker() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor == f"privacy_request:{request['id']}")
        ).all()
    assert sorted(actions) == ["profile.restricted", "profile.restricted"]


def test_a_restriction_request_that_matches_nobody_completes(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = create(client, ws, by_email("nobody@example.com", type="restriction"))
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "completed" and response.json()["profile_ids"] == []


def test_suppress_on_a_restriction_request_is_refused(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = create(client, ws, by_email(EMAIL, type="restriction", suppress=True))
    assert_error(response, 422, "validation_error")
