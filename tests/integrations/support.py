"""Helpers shared by the integration tests: Shopify fixtures and signed deliveries, Segment
auth, and reading what a workspace holds through the API."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle

FIXTURES = Path(__file__).parent / "fixtures"
SHOP = "alpine-outfitters.myshopify.com"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def fixture(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


def shopify_signature(secret: str, body: bytes) -> str:
    """Computed here independently of Veil's code: base64 HMAC-SHA256 of the raw body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def set_shopify_secret(client: TestClient, ws: WorkspaceHandle, secret: str) -> None:
    response = client.patch(
        "/api/v1/workspace/settings", json={"shopify_webhook_secret": secret}, headers=ws.admin
    )
    assert response.status_code == 200, response.text


def deliver(
    client: TestClient,
    ws: WorkspaceHandle,
    topic: str,
    body: bytes | dict[str, Any],
    *,
    secret: str,
    webhook_id: str | None = None,
    signature: str | None = None,
) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": SHOP,
        "X-Shopify-Api-Version": "2026-10",
        "X-Shopify-Webhook-Id": webhook_id or secrets.token_hex(16),
        "X-Shopify-Hmac-Sha256": signature or shopify_signature(secret, raw),
    }
    return client.post(f"/integrations/shopify/{ws.id}/webhooks", content=raw, headers=headers)


def profiles(client: TestClient, ws: WorkspaceHandle, query: str | None = None) -> list[Any]:
    params = {"limit": 500, **({"query": query} if query else {})}
    response = client.get("/api/v1/profiles", params=params, headers=ws.admin)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def events(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> list[Any]:
    response = client.get(
        f"/api/v1/profiles/{profile_id}/events", params={"limit": 500}, headers=ws.admin
    )
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def one_profile(client: TestClient, ws: WorkspaceHandle, query: str) -> Any:
    found = profiles(client, ws, query)
    assert len(found) == 1, found
    return found[0]


def subscriber_with_message(
    client: TestClient, ws: WorkspaceHandle, profile: dict[str, Any]
) -> tuple[Any, Any]:
    """A contact subscribed to email who was sent one campaign with a link: (the profile, its
    recipient record with `open_url` and `click_urls`)."""
    person = client.post(
        "/api/v1/profiles",
        json={**profile, "consent": {"email": "subscribed"}},
        headers=ws.admin,
    ).json()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"name": "Sale", "channel": "email", "links": ["https://shop.example.com/sale"]},
        headers=ws.admin,
    ).json()
    client.post(f"/api/v1/campaigns/{campaign['id']}/send", headers=ws.admin)
    (recipient,) = client.get(
        f"/api/v1/campaigns/{campaign['id']}/recipients", headers=ws.admin
    ).json()["data"]
    return person, recipient


def local_path(url: str) -> str:
    """A tracking URL as the test client requests it: path and query."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
