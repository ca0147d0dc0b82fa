"""Restriction of processing (GDPR art. 18, SPEC §9): kept, exportable, deletable, still
recording events, never a campaign recipient; audited; bad input changes nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from veil.models import Profile
from veil.runtime import Runtime

REASON = "Customer contests the accuracy of their order history (ticket 4411)."


def _contact(client: TestClient, ws: WorkspaceHandle, email: str) -> str:
    response = client.post(
        "/api/v1/profiles",
        json={"email": email, "first_name": "Rita", "consent": {"email": "subscribed"}},
        headers=ws.admin,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _restrict(client: TestClient, ws: WorkspaceHandle, profile_id: str, body: Any) -> Any:
    return client.post(f"/api/v1/profiles/{profile_id}/restrict", json=body, headers=ws.admin)


def _profile(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.member)
    assert response.status_code == 200
    return dict(response.json())


def _campaign(client: TestClient, ws: WorkspaceHandle) -> str:
    response = client.post(
        "/api/v1/campaigns",
        json={"name": "Spring", "channel": "email", "links": ["https://shop.example.com/"]},
        headers=ws.admin,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_restricted_profile_keeps_everything_but_gets_no_campaign(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    rita = _contact(client, ws, "rita@example.com")
    other = _contact(client, ws, "other@example.com")
    restricted = _restrict(client, ws, rita, {"reason": REASON})
    assert restricted.status_code == 200, restricted.text
    body = restricted.json()
    assert body["restricted"] is True and body["restricted_at"].endswith("Z")
    assert body["restriction_reason"] == REASON
    shown = _profile(client, ws, rita)
    assert (shown["restricted"], shown["email"], shown["first_name"]) == (
        True,
        "rita@example.com",
        "Rita",
    )

    # Still records events, and can be exported.
    event = client.post(
        "/api/v1/events",
        json={"type": "Placed Order", "profile": {"email": "rita@example.com"}},
        headers=ws.member,
    )
    assert event.status_code == 202 and event.json()["profile_id"] == rita
    assert client.post(f"/api/v1/profiles/{rita}/export", headers=ws.admin).status_code == 202

    # Never a recipient: not by default, not when named.
    sent = client.post(f"/api/v1/campaigns/{_campaign(client, ws)}/send", headers=ws.admin)
    assert sent.json() == {"recipients": 1, "skipped": 0}
    named = client.post(
        f"/api/v1/campaigns/{_campaign(client, ws)}/send",
        json={"profile_ids": [rita, other]},
        headers=ws.admin,
    )
    assert named.json() == {"recipients": 1, "skipped": 1}

    lifted = client.post(f"/api/v1/profiles/{rita}/unrestrict", headers=ws.admin)
    assert lifted.status_code == 200
    assert (lifted.json()["restricted"], lifted.json()["restricted_at"]) == (False, None)
    assert lifted.json()["restriction_reason"] is None
    after = client.post(
        f"/api/v1/campaigns/{_campaign(client, ws)}/send",
        json={"profile_ids": [rita]},
        headers=ws.admin,
    )
    assert after.json() == {"recipients": 1, "skipped": 0}

    audit = client.get("/api/v1/audit", params={"limit": 500}, headers=ws.admin).json()["data"]
    mine = [e for e in audit if e["target_id"] == rita]
    assert {"profile.restricted", "profile.unrestricted"} <= {e["action"] for e in mine}
    assert REASON not in str(audit)


def test_restricting_again_keeps_the_date_and_lifting_twice_is_harmless(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    rita = _contact(client, ws, "rita@example.com")
    first = _restrict(client, ws, rita, {"reason": REASON}).json()
    second = _restrict(client, ws, rita, {"reason": "A second, clearer reason."}).json()
    assert second["restricted_at"] == first["restricted_at"]
    assert second["restriction_reason"] == "A second, clearer reason."
    for _ in range(2):
        lifted = client.post(f"/api/v1/profiles/{rita}/unrestrict", headers=ws.admin)
        assert lifted.status_code == 200 and lifted.json()["restricted"] is False


def test_a_restriction_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    rita = _contact(client, ws, "rita@example.com")
    for body in (None, {}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}, {"why": "x"}):
        response = client.post(
            f"/api/v1/profiles/{rita}/restrict",
            **({"json": body} if body is not None else {}),
            headers=ws.admin,
        )
        assert_error(response, 422, "validation_error")
    assert_error(_restrict(client, ws, rita, {"reason": "a\x00b"}), 422, "validation_error")
    assert _profile(client, ws, rita)["restricted"] is False


def test_a_deleted_profile_cannot_be_restricted_and_a_restricted_one_can_be_deleted(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    gone = _contact(client, ws, "gone@example.com")
    client.post(f"/api/v1/profiles/{gone}/delete", json={"confirm": True}, headers=ws.admin)
    assert_error(_restrict(client, ws, gone, {"reason": REASON}), 409, "profile_deleted")
    assert_error(
        client.post(f"/api/v1/profiles/{gone}/unrestrict", headers=ws.admin),
        409,
        "profile_deleted",
    )

    rita = _contact(client, ws, "rita@example.com")
    assert _restrict(client, ws, rita, {"reason": REASON}).status_code == 200
    deleted = client.post(
        f"/api/v1/profiles/{rita}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202
    assert _profile(client, ws, rita)["restricted"] is False
    with runtime.sessionmaker() as session:
        reason = session.scalar(select(Profile.restriction_reason).where(Profile.id == rita))
    assert reason is None  # the free text went with the person


def test_members_and_other_workspaces_cannot_restrict(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    rita = _contact(client, ws, "rita@example.com")
    for path in ("restrict", "unrestrict"):
        url = f"/api/v1/profiles/{rita}/{path}"
        body = {"reason": REASON}
        assert_error(client.post(url, json=body, headers=ws.member), 403, "forbidden")
        assert_error(client.post(url, json=body, headers=other_ws.admin), 404, "not_found")
    assert _profile(client, ws, rita)["restricted"] is False
