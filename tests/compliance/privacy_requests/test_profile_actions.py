"""The per-profile doors (§4/§5 API, Shopify GDPR topics) create privacy requests too (§8),
keeping their answers."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.compliance.privacy_requests.support import URL, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from tests.integrations.support import deliver, fixture_bytes, set_shopify_secret
from veil.runtime import Runtime

SECRET = "shpss_0123456789abcdef0123456789abcdef"


def _requests(client: TestClient, ws: WorkspaceHandle) -> list[dict]:
    return client.get(URL, headers=ws.admin).json()["data"]


def test_api_export_and_delete_are_privacy_requests(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        exported = make_profile(session, workspace_id=ws.id, email="a@example.com").id
        erased = make_profile(session, workspace_id=ws.id, email="b@example.com").id
    export = client.post(f"/api/v1/profiles/{exported}/export", headers=ws.admin)
    assert export.status_code == 202 and export.json()["profile_id"] == exported
    deletion = client.post(
        f"/api/v1/profiles/{erased}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deletion.status_code == 202 and deletion.json()["profile_id"] == erased
    erasure, access = _requests(client, ws)
    assert (access["type"], access["source"], access["status"]) == ("access", "api", "in_progress")
    assert access["identities"] == [{"type": "profile_id", "value": exported}]
    assert access["profile_ids"] == [exported] and access["export_ids"] == [export.json()["id"]]
    assert erasure["type"] == "erasure" and erasure["deletion_ids"] == [deletion.json()["id"]]
    # A refused action stores no privacy request and answers as before.
    assert_error(
        client.post(f"/api/v1/profiles/{exported}/export", headers=ws.admin),
        409,
        "already_requested",
    )
    assert len(_requests(client, ws)) == 2
    settle(runtime)
    statuses = {(r["type"], r["status"], r["verified"]) for r in _requests(client, ws)}
    assert statuses == {("access", "completed", None), ("erasure", "completed", True)}


def test_shopify_topics_are_privacy_requests_by_shopify(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    set_shopify_secret(client, ws, SECRET)
    orders = fixture_bytes("orders_create")
    assert deliver(client, ws, "orders/create", orders, secret=SECRET).status_code == 200
    body = fixture_bytes("customers_data_request")
    assert deliver(client, ws, "customers/data_request", body, secret=SECRET).json() == {
        "status": "processed"
    }
    body = fixture_bytes("customers_redact")
    assert deliver(client, ws, "customers/redact", body, secret=SECRET).json() == {
        "status": "processed"
    }
    erasure, access = _requests(client, ws)
    assert {access["source"], erasure["source"]} == {"shopify"}
    assert (access["type"], erasure["type"]) == ("access", "erasure")
    assert access["requested_by"] == "shopify"


def test_shopify_customers_redact_finds_a_profile_by_its_previous_email(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    set_shopify_secret(client, ws, SECRET)
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="ada.old@example.com").id
    renamed = client.patch(
        f"/api/v1/profiles/{profile_id}", json={"email": "ada.new@example.com"}, headers=ws.admin
    )
    assert renamed.status_code == 200, renamed.text
    body = {
        "shop_domain": "alpine-outfitters.myshopify.com",
        "customer": {"id": 4711, "email": "Ada.Old@example.com"},
    }
    answer = deliver(client, ws, "customers/redact", body, secret=SECRET)
    assert answer.json() == {"status": "processed"}
    (erasure,) = _requests(client, ws)
    assert erasure["type"] == "erasure" and erasure["profile_ids"] == [profile_id]
    settle(runtime)
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
    assert profile["status"] == "deleted"
