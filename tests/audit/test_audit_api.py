"""HTTP: GET /api/v1/audit — admins read their workspace's log, newest first, ids only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error, collect_pages
from veil.audit.service import verify_chain
from veil.runtime import Runtime


def _make_activity(client: TestClient, ws: WorkspaceHandle) -> None:
    client.post(
        "/api/v1/profiles",
        json={"email": "ada@example.com", "consent": {"email": "subscribed"}},
        headers=ws.admin,
    )
    campaign = client.post(
        "/api/v1/campaigns", json={"name": "Spring", "channel": "email"}, headers=ws.admin
    ).json()
    client.post(f"/api/v1/campaigns/{campaign['id']}/send", headers=ws.admin)
    key = client.post("/api/v1/workspace/keys", json={"role": "member"}, headers=ws.admin).json()
    client.delete(f"/api/v1/workspace/keys/{key['id']}", headers=ws.admin)
    client.patch("/api/v1/workspace/settings", json={"pii_keys": ["vat_number"]}, headers=ws.admin)


def test_admin_reads_the_log_newest_first(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _make_activity(client, ws)
    response = client.get("/api/v1/audit", headers=ws.admin)
    assert response.status_code == 200, response.text
    entries = response.json()["data"]
    assert [e["action"] for e in entries] == [
        "workspace.settings_changed",
        "api_key.revoked",
        "api_key.created",
        "campaign.sent",
        "campaign.created",
    ]
    assert [e["seq"] for e in entries] == [5, 4, 3, 2, 1]
    sent = entries[3]
    assert sent["details"] == {"recipients": 1, "skipped": 0}
    assert sent["target_type"] == "campaign" and sent["target_id"].startswith("cmp_")
    assert sent["actor"].startswith("key:key_")
    assert sent["created_at"].endswith("Z")
    # Ids and counts only: nobody's email or the workspace's settings values.
    assert "ada@example.com" not in response.text and "vat_number" not in response.text
    with runtime.sessionmaker() as session:
        assert verify_chain(session, workspace_id=ws.id).ok


def test_log_paginates_and_filters(client: TestClient, ws: WorkspaceHandle) -> None:
    for i in range(5):
        client.post(
            "/api/v1/workspace/keys", json={"role": "member", "name": f"k{i}"}, headers=ws.admin
        )
    entries = collect_pages(client, "/api/v1/audit", ws.admin, limit=2)
    assert [e["seq"] for e in entries] == [5, 4, 3, 2, 1]
    one = entries[2]["target_id"]
    filtered = client.get("/api/v1/audit", params={"target_id": one}, headers=ws.admin).json()
    assert [e["target_id"] for e in filtered["data"]] == [one]
    by_action = client.get("/api/v1/audit", params={"action": "api_key.revoked"}, headers=ws.admin)
    assert by_action.json() == {"data": [], "next_cursor": None}


def test_log_is_admin_only_and_per_workspace(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    _make_activity(client, other_ws)
    assert client.get("/api/v1/audit", headers=ws.admin).json()["data"] == []
    assert_error(client.get("/api/v1/audit", headers=ws.member), 403, "forbidden")
    assert_error(client.get("/api/v1/audit"), 401, "unauthorized")
    response = client.get("/api/v1/audit", params={"cursor": "!!"}, headers=ws.admin)
    assert_error(response, 422, "validation_error")
