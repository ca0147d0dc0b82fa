"""Cross-cutting HTTP behaviour: auth, SPEC's error shape everywhere, body limit, OpenAPI."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from veil.runtime import Runtime

API_ROUTES = [
    ("post", "/api/v1/profiles"),
    ("get", "/api/v1/profiles"),
    ("get", "/api/v1/profiles/prf_x"),
    ("get", "/api/v1/profiles/prf_x/events"),
    ("post", "/api/v1/events"),
    ("post", "/api/v1/events/batch"),
    ("post", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns"),
    ("get", "/api/v1/campaigns/cmp_x"),
    ("post", "/api/v1/campaigns/cmp_x/send"),
    ("get", "/api/v1/campaigns/cmp_x/recipients"),
    ("get", "/api/v1/workspace"),
    ("patch", "/api/v1/workspace/settings"),
    ("post", "/api/v1/workspace/keys"),
    ("get", "/api/v1/workspace/keys"),
    ("delete", "/api/v1/workspace/keys/key_x"),
    ("get", "/api/v1/audit"),
]


def test_every_api_route_needs_a_key(client: TestClient) -> None:
    for method, path in API_ROUTES:
        response = client.request(method, path, json={})
        message = assert_error(response, 401, "unauthorized")
        assert "Bearer" in message
        assert response.headers["www-authenticate"] == "Bearer"


def test_an_invalid_or_malformed_key_is_401(client: TestClient, ws: WorkspaceHandle) -> None:
    for header in (
        "Bearer veil_sk_not-a-real-key",
        "Bearer something-else",
        f"Basic {ws.admin_key}",
        "Bearer ",
        ws.admin_key,
    ):
        response = client.get("/api/v1/profiles", headers={"Authorization": header})
        assert_error(response, 401, "unauthorized")


def test_a_write_key_cannot_read_the_api(client: TestClient, ws: WorkspaceHandle) -> None:
    response = client.get("/api/v1/profiles", headers={"Authorization": f"Bearer {ws.write_key}"})
    assert_error(response, 401, "unauthorized")


def test_member_gets_403_on_every_admin_route(client: TestClient, ws: WorkspaceHandle) -> None:
    admin_routes = [
        ("post", "/api/v1/campaigns", {"name": "x", "channel": "email"}),
        ("post", "/api/v1/campaigns/cmp_x/send", {}),
        ("get", "/api/v1/workspace", None),
        ("patch", "/api/v1/workspace/settings", {"name": "x"}),
        ("post", "/api/v1/workspace/keys", {"role": "member"}),
        ("get", "/api/v1/workspace/keys", None),
        ("delete", "/api/v1/workspace/keys/key_x", None),
        ("get", "/api/v1/audit", None),
    ]
    for method, path, body in admin_routes:
        response = client.request(method, path, json=body, headers=ws.member)
        assert_error(response, 403, "forbidden")


def test_unknown_route_and_wrong_method_have_the_error_shape(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    assert_error(client.get("/api/v1/nope", headers=ws.admin), 404, "not_found")
    assert_error(client.get("/definitely/not/here"), 404, "not_found")
    assert_error(client.put("/api/v1/events", json={}, headers=ws.admin), 405, "method_not_allowed")


def test_fastapi_validation_errors_have_the_error_shape(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = client.post(
        "/api/v1/events",
        content=b"{not json",
        headers={**ws.member, "Content-Type": "application/json"},
    )
    message = assert_error(response, 422, "validation_error")
    assert "JSON" in message
    response = client.post(
        "/api/v1/events", json={"profile": {"email": "a@b.co"}}, headers=ws.member
    )
    message = assert_error(response, 422, "validation_error")
    assert "type" in message
    response = client.get("/api/v1/profiles", params={"limit": "lots"}, headers=ws.member)
    assert "limit" in assert_error(response, 422, "validation_error")


def test_limit_and_cursor_are_checked(client: TestClient, ws: WorkspaceHandle) -> None:
    for params in ({"limit": 0}, {"limit": 501}, {"cursor": "garbage!!"}):
        response = client.get("/api/v1/profiles", params=params, headers=ws.member)
        assert_error(response, 422, "validation_error")
    assert (
        client.get("/api/v1/profiles", params={"limit": 500}, headers=ws.member).status_code == 200
    )


def test_an_oversized_body_is_413_before_any_work(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    limit = runtime.settings.max_body_bytes
    body = b'{"type": "x", "profile": {"email": "a@b.co"}, "properties": {"pad": "' + b"a" * limit
    response = client.post(
        "/api/v1/events", content=body, headers={**ws.member, "Content-Type": "application/json"}
    )
    assert_error(response, 413, "payload_too_large")

    def chunks():  # no Content-Length: counted while streaming
        for _ in range(limit // 65536 + 2):
            yield b"a" * 65536

    response = client.post(
        "/api/v1/events",
        content=chunks(),
        headers={**ws.member, "Content-Type": "application/json"},
    )
    assert_error(response, 413, "payload_too_large")


def test_openapi_document_describes_the_api(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    for route in (
        "/api/v1/profiles",
        "/api/v1/profiles/{profile_id}",
        "/api/v1/profiles/{profile_id}/events",
        "/api/v1/events",
        "/api/v1/events/batch",
        "/api/v1/campaigns",
        "/api/v1/campaigns/{campaign_id}",
        "/api/v1/campaigns/{campaign_id}/send",
        "/api/v1/campaigns/{campaign_id}/recipients",
        "/api/v1/workspace",
        "/api/v1/workspace/settings",
        "/api/v1/workspace/keys",
        "/api/v1/workspace/keys/{key_id}",
        "/api/v1/audit",
    ):
        assert route in paths, route
    assert "202" in paths["/api/v1/events"]["post"]["responses"]
    # The webhook secret is write-only: readable shapes only say whether it is set.
    read_fields = doc["components"]["schemas"]["WorkspaceRead"]["properties"]
    assert "shopify_webhook_secret" not in read_fields
    assert "shopify_webhook_secret_set" in read_fields


def test_responses_carry_security_headers(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"


def test_declared_errors_are_documented_with_their_codes_and_examples(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    conflict = doc["paths"]["/api/v1/profiles/{profile_id}/export"]["post"]["responses"]["409"]
    assert conflict["description"].startswith("already_requested: ")
    content = conflict["content"]["application/json"]
    assert content["schema"] == {"$ref": "#/components/schemas/Error"}
    example = content["examples"]["profile_deleted"]["value"]
    assert example == {
        "error": {"code": "profile_deleted", "message": "This profile has been deleted."}
    }
    gone = doc["paths"]["/api/v1/compliance/exports/{export_id}/download"]["get"]["responses"]
    assert "export_expired" in gone["410"]["content"]["application/json"]["examples"]


def test_an_event_body_is_documented_and_read_only_after_authentication(
    client: TestClient,
) -> None:
    doc = client.get("/openapi.json").json()
    body = doc["paths"]["/api/v1/events/batch"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/EventBatch"
    }
    assert "EventBatch" in doc["components"]["schemas"]
    refused = client.post("/api/v1/events", json={"type": 5})
    assert refused.status_code == 401
