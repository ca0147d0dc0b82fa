"""Shopify consent semantics: only an explicit `unsubscribed` withdraws consent. An order or
checkout whose customer did not tick the marketing box (`not_subscribed`, or the legacy
`accepts_marketing: false`) leaves an explicitly subscribed contact subscribed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.integrations.support import deliver, fixture, set_shopify_secret

SECRET = "shpss_consent_0123456789abcdef0123"
EMAIL = "returning@example.com"


def _subscribed(client: TestClient, ws: WorkspaceHandle) -> str:
    set_shopify_secret(client, ws, SECRET)
    response = client.post(
        "/api/v1/profiles",
        json={"email": EMAIL, "consent": {"email": "subscribed", "sms": "subscribed"}},
        headers=ws.admin,
    )
    assert response.status_code == 201
    return str(response.json()["id"])


def _consent(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> dict[str, str]:
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
    return dict(profile["consent"])


def _document(topic: str, customer_consent: dict[str, Any], n: int) -> dict[str, Any]:
    document = fixture(topic.replace("/", "_"))
    document["id"] = 9000 + n
    document["token"] = f"token-{n}"
    document["email"] = EMAIL
    document["phone"] = None
    customer = {"id": 555, "email": EMAIL, "phone": None, **customer_consent}
    document["customer"] = customer
    return document


NOT_A_WITHDRAWAL = [
    {"accepts_marketing": False},
    {"email_marketing_consent": {"state": "not_subscribed"}},
    {"email_marketing_consent": {"state": "pending"}},
    {"email_marketing_consent": None, "accepts_marketing": False},
    {"sms_marketing_consent": {"state": "not_subscribed"}, "accepts_marketing": False},
]


@pytest.mark.parametrize("topic", ["orders/create", "checkouts/create", "customers/update"])
def test_an_unticked_box_does_not_unsubscribe_a_subscribed_contact(
    client: TestClient, ws: WorkspaceHandle, topic: str
) -> None:
    profile_id = _subscribed(client, ws)
    for n, consent in enumerate(NOT_A_WITHDRAWAL):
        body = (
            {"id": 555, "email": EMAIL, **consent}
            if topic.startswith("customers")
            else _document(topic, consent, n)
        )
        response = deliver(client, ws, topic, body, secret=SECRET)
        assert response.json()["status"] == "processed", response.text
        assert _consent(client, ws, profile_id) == {"email": "subscribed", "sms": "subscribed"}


@pytest.mark.parametrize("topic", ["orders/create", "checkouts/create", "customers/update"])
def test_an_explicit_unsubscribed_state_does(
    client: TestClient, ws: WorkspaceHandle, topic: str
) -> None:
    profile_id = _subscribed(client, ws)
    consent = {
        "email_marketing_consent": {"state": "unsubscribed"},
        "sms_marketing_consent": {"state": "unsubscribed"},
    }
    body = (
        {"id": 555, "email": EMAIL, **consent}
        if topic.startswith("customers")
        else _document(topic, consent, 0)
    )
    assert deliver(client, ws, topic, body, secret=SECRET).json()["status"] == "processed"
    assert _consent(client, ws, profile_id) == {"email": "unsubscribed", "sms": "unsubscribed"}


def test_the_legacy_flag_still_records_a_yes(client: TestClient, ws: WorkspaceHandle) -> None:
    set_shopify_secret(client, ws, SECRET)
    body = _document("orders/create", {"accepts_marketing": True}, 1)
    assert deliver(client, ws, "orders/create", body, secret=SECRET).json()["status"] == "processed"
    (profile,) = client.get("/api/v1/profiles", headers=ws.admin).json()["data"]
    assert profile["consent"] == {"email": "subscribed"}
