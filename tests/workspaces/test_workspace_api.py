"""HTTP: /api/v1/workspace — settings (the Shopify secret write-only) and API keys."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error, collect_pages
from tests.fixtures.raw_files import raw_bytes
from veil.models import ApiKey, AuditEntry, Workspace
from veil.runtime import Runtime
from veil.workspaces.service import shopify_secret


def _audit(runtime: Runtime, workspace_id: str) -> list[AuditEntry]:
    with runtime.sessionmaker() as session:
        return list(
            session.scalars(
                select(AuditEntry)
                .where(AuditEntry.workspace_id == workspace_id)
                .order_by(AuditEntry.seq)
            )
        )


def _all_text_in_database(runtime: Runtime) -> str:
    """Every value of every row of every table, as one string."""
    from veil.models import Base

    parts: list[str] = []
    with runtime.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                parts.extend(str(value) for value in row)
    return "\n".join(parts)


def _sqlite_files(runtime: Runtime) -> list[Path]:
    url = runtime.settings.resolved_database_url
    if not url.startswith("sqlite"):
        return []
    db = Path(url.removeprefix("sqlite:///"))
    return [p for p in (db, Path(f"{db}-wal")) if p.exists()]


def test_admin_reads_the_workspace(client: TestClient, ws: WorkspaceHandle) -> None:
    response = client.get("/api/v1/workspace", headers=ws.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == ws.id
    assert body["name"] == "Acme Store"
    assert body["default_phone_region"] == "US"
    assert body["pii_keys"] == []
    assert body["shopify_webhook_secret_set"] is False
    assert body["write_key"] == ws.write_key
    assert "shopify_webhook_secret" not in body
    assert body["timezone"] == "UTC"


def test_the_time_zone_is_a_setting(client: TestClient, ws: WorkspaceHandle) -> None:
    response = client.patch(
        "/api/v1/workspace/settings", json={"timezone": "Europe/Berlin"}, headers=ws.admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["timezone"] == "Europe/Berlin"
    assert client.get("/api/v1/workspace", headers=ws.admin).json()["timezone"] == "Europe/Berlin"


def test_settings_change_and_the_shopify_secret_stays_write_only(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    secret = "shpss_0123456789abcdef-very-secret"
    response = client.patch(
        "/api/v1/workspace/settings",
        json={
            "name": "Acme GmbH",
            "default_phone_region": "de",
            "pii_keys": ["loyalty_card", "loyalty_card", "Tax ID"],
            "shopify_webhook_secret": secret,
        },
        headers=ws.admin,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Acme GmbH"
    assert body["default_phone_region"] == "DE"
    assert body["pii_keys"] == ["loyalty_card", "Tax ID"]
    assert body["shopify_webhook_secret_set"] is True
    assert secret not in response.text
    assert secret not in client.get("/api/v1/workspace", headers=ws.admin).text

    with runtime.sessionmaker() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace is not None
        assert shopify_secret(workspace, runtime.seal_keyring) == secret
    assert secret not in _all_text_in_database(runtime)

    # Phones are now read with the new default region.
    created = client.post("/api/v1/profiles", json={"phone": "030 1234567"}, headers=ws.admin)
    assert created.json()["phone"] == "+49301234567"

    # Only the given fields change; an empty secret removes it.
    cleared = client.patch(
        "/api/v1/workspace/settings", json={"shopify_webhook_secret": ""}, headers=ws.admin
    ).json()
    assert cleared["shopify_webhook_secret_set"] is False
    assert cleared["name"] == "Acme GmbH" and cleared["pii_keys"] == ["loyalty_card", "Tax ID"]

    changes = [e for e in _audit(runtime, ws.id) if e.action == "workspace.settings_changed"]
    assert [e.details["fields"] for e in changes] == [
        ["name", "default_phone_region", "pii_keys", "shopify_webhook_secret"],
        ["shopify_webhook_secret"],
    ]
    assert all(e.target_id == ws.id and e.actor.startswith("key:") for e in changes)
    assert "Acme GmbH" not in str([e.details for e in changes])


def test_settings_reject_bad_input(client: TestClient, ws: WorkspaceHandle) -> None:
    cases = [
        ({"default_phone_region": "XX"}, "default_phone_region"),
        ({"default_phone_region": "USA"}, "default_phone_region"),
        ({"pii_keys": ["ok", "bad/key!"]}, "pii_keys"),
        ({"pii_keys": "email"}, "pii_keys"),
        ({"pii_keys": ["k"] * 201}, "pii_keys"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"shopify_webhook_secret": "s" * 201}, "shopify_webhook_secret"),
        ({"colour": "blue"}, "colour"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "localtime"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": ""}, "timezone"),
    ]
    for body, mentioned in cases:
        response = client.patch("/api/v1/workspace/settings", json=body, headers=ws.admin)
        assert mentioned in assert_error(response, 422, "validation_error"), body
    assert client.get("/api/v1/workspace", headers=ws.admin).json()["name"] == "Acme Store"


def test_workspace_routes_are_admin_only_and_per_workspace(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    assert_error(client.get("/api/v1/workspace", headers=ws.member), 403, "forbidden")
    response = client.patch("/api/v1/workspace/settings", json={"name": "x"}, headers=ws.member)
    assert_error(response, 403, "forbidden")
    client.patch("/api/v1/workspace/settings", json={"name": "Renamed"}, headers=other_ws.admin)
    assert client.get("/api/v1/workspace", headers=ws.admin).json()["name"] == "Acme Store"
    assert client.get("/api/v1/workspace", headers=other_ws.admin).json()["id"] == other_ws.id


def test_api_key_lifecycle(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    created = client.post(
        "/api/v1/workspace/keys", json={"role": "member", "name": "reporting"}, headers=ws.admin
    )
    assert created.status_code == 201, created.text
    key = created.json()
    token = key["token"]
    assert token.startswith("veil_sk_") and len(token) > 40
    assert key["role"] == "member" and key["name"] == "reporting" and key["active"] is True
    assert key["masked"] == token[:12] + "…"
    member = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/profiles", headers=member).status_code == 200
    assert_error(client.get("/api/v1/workspace", headers=member), 403, "forbidden")

    listed = client.get("/api/v1/workspace/keys", headers=ws.admin)
    assert listed.status_code == 200
    assert token not in listed.text
    rows = {k["id"]: k for k in listed.json()["data"]}
    assert set(rows[key["id"]]) == {
        "id",
        "name",
        "role",
        "masked",
        "active",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert rows[key["id"]]["last_used_at"] is not None

    revoked = client.delete(f"/api/v1/workspace/keys/{key['id']}", headers=ws.admin)
    assert revoked.status_code == 200
    assert revoked.json()["active"] is False and revoked.json()["revoked_at"]
    assert_error(client.get("/api/v1/profiles", headers=member), 401, "unauthorized")
    # Revoking again is harmless and not audited twice.
    assert client.delete(f"/api/v1/workspace/keys/{key['id']}", headers=ws.admin).status_code == 200

    entries = [
        (e.action, e.target_id, e.details)
        for e in _audit(runtime, ws.id)
        if e.action.startswith("api_key.")
    ]
    assert entries == [
        ("api_key.created", key["id"], {"role": "member"}),
        ("api_key.revoked", key["id"], {"role": "member"}),
    ]


def test_admin_keys_are_admins(client: TestClient, ws: WorkspaceHandle) -> None:
    token = client.post("/api/v1/workspace/keys", json={"role": "admin"}, headers=ws.admin).json()[
        "token"
    ]
    response = client.get("/api/v1/workspace", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_key_routes_reject_bad_input_wrong_role_and_other_workspaces(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    for body in (
        {"role": "owner"},
        {},
        {"role": "admin", "name": "x" * 201},
        {"role": "admin", "x": 1},
    ):
        response = client.post("/api/v1/workspace/keys", json=body, headers=ws.admin)
        assert_error(response, 422, "validation_error")
    response = client.post("/api/v1/workspace/keys", json={"role": "admin"}, headers=ws.member)
    assert_error(response, 403, "forbidden")
    assert_error(client.get("/api/v1/workspace/keys", headers=ws.member), 403, "forbidden")

    with runtime.sessionmaker() as session:
        theirs = session.scalar(select(ApiKey.id).where(ApiKey.workspace_id == other_ws.id))
        mine = session.scalar(select(ApiKey.id).where(ApiKey.workspace_id == ws.id))
    assert_error(
        client.delete(f"/api/v1/workspace/keys/{mine}", headers=ws.member), 403, "forbidden"
    )
    assert_error(
        client.delete(f"/api/v1/workspace/keys/{theirs}", headers=ws.admin), 404, "not_found"
    )
    assert_error(
        client.delete("/api/v1/workspace/keys/key_nope", headers=ws.admin), 404, "not_found"
    )
    assert client.get("/api/v1/profiles", headers=other_ws.admin).status_code == 200
    listed = client.get("/api/v1/workspace/keys", headers=ws.admin).json()["data"]
    assert theirs not in {k["id"] for k in listed}


def test_key_list_paginates_newest_first(client: TestClient, ws: WorkspaceHandle) -> None:
    for i in range(5):
        client.post(
            "/api/v1/workspace/keys", json={"role": "member", "name": f"k{i}"}, headers=ws.admin
        )
    keys = collect_pages(client, "/api/v1/workspace/keys", ws.admin, limit=2)
    assert len(keys) == 7  # the fixture's admin and member keys + 5
    assert [k["id"] for k in keys] == sorted((k["id"] for k in keys), reverse=True)


def test_keys_are_never_stored_in_plaintext(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    token = client.post("/api/v1/workspace/keys", json={"role": "admin"}, headers=ws.admin).json()[
        "token"
    ]
    secret_part = token.removeprefix("veil_sk_")
    everything = _all_text_in_database(runtime)
    for value in (token, secret_part, ws.admin_key, ws.member_key, ws.write_key):
        assert value not in everything
    with runtime.engine.connect() as conn:
        hashes = conn.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert all(len(h) == 64 for h in hashes)
    for path in _sqlite_files(runtime):
        raw = raw_bytes(path)
        assert secret_part.encode() not in raw
        assert ws.write_key.removeprefix("veil_wk_").encode() not in raw
