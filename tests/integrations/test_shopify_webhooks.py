"""Shopify webhooks with payloads in Shopify's documented shapes (tests/integrations/fixtures):
HMAC verification, de-duplication, every topic, and the GDPR topics end to end."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import (
    SHOP,
    deliver,
    events,
    fixture,
    fixture_bytes,
    one_profile,
    profiles,
    set_shopify_secret,
    shopify_signature,
)
from veil.runtime import Runtime

SECRET = "shpss_0123456789abcdef0123456789abcdef"
ADA = "ada.shopper@example.com"


@pytest.fixture
def shop(client: TestClient, ws: WorkspaceHandle) -> WorkspaceHandle:
    set_shopify_secret(client, ws, SECRET)
    return ws


def _ok(response: Any, status: str = "processed") -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"status": status}


def _consent(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> dict[str, str]:
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
    return dict(profile["consent"])


def _all_strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_all_strings(v)]]
    if isinstance(value, list):
        return [s for item in value for s in _all_strings(item)]
    return [str(value)] if value is not None else []


# -- customers ---------------------------------------------------------------------------------


def test_customers_create_and_update_upsert_one_profile(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    _ok(deliver(client, shop, "customers/create", fixture_bytes("customers_create"), secret=SECRET))
    bob = one_profile(client, shop, "bob.biller@example.com")
    assert bob["external_id"] == "shopify:706405506930370084"
    assert (bob["first_name"], bob["last_name"], bob["phone"]) == ("Bob", "Biller", "+16135550142")
    assert bob["properties"]["shopify"]["tags"] == "vip, newsletter"
    assert bob["properties"]["shopify"]["default_address"]["city"] == "Ottawa"
    assert "x_future_field_veil_does_not_know" not in json.dumps(bob["properties"])
    # email subscribed; sms "not_subscribed" is no consent at all (neither given nor withdrawn).
    assert _consent(client, shop, bob["id"]) == {"email": "subscribed"}

    # The update lacks phone, addresses and sms consent: what is missing stays as it was.
    _ok(deliver(client, shop, "customers/update", fixture_bytes("customers_update"), secret=SECRET))
    robert = one_profile(client, shop, "bob.biller@example.com")
    assert robert["id"] == bob["id"]
    assert (robert["first_name"], robert["phone"]) == ("Robert", "+16135550142")
    assert robert["properties"]["shopify"]["tags"] == "vip"
    assert _consent(client, shop, bob["id"]) == {"email": "unsubscribed"}
    assert len(profiles(client, shop)) == 1


# -- orders and checkouts --------------------------------------------------------------------------


def test_orders_create_is_a_placed_order_carrying_the_order(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))
    ada = one_profile(client, shop, ADA)
    assert ada["external_id"] == "shopify:115310627314723954"
    assert (ada["first_name"], ada["last_name"], ada["phone"]) == ("Ada", "Shopper", "+16135550199")
    assert _consent(client, shop, ada["id"]) == {"email": "subscribed"}
    (order,) = events(client, shop, ada["id"])
    assert (order["type"], order["source"]) == ("Placed Order", "shopify")
    assert order["timestamp"] == "2026-11-28T17:00:05Z"  # processed_at, in UTC
    sent = fixture("orders_create")
    props = order["properties"]
    assert props["order_id"] == sent["id"]
    for key in (
        "name",
        "total_price",
        "subtotal_price",
        "total_tax",
        "total_discounts",
        "currency",
    ):
        assert props[key] == sent[key], key
    assert props["line_items"] == sent["line_items"]  # as Shopify sends them
    assert props["shipping_address"] == sent["shipping_address"]
    assert props["billing_address"] == sent["billing_address"]
    assert props["discount_codes"] == sent["discount_codes"]
    # Not kept: the embedded customer, client details (IP, user agent), notes, unknown fields.
    for dropped in (
        "customer",
        "client_details",
        "browser_ip",
        "note",
        "email",
        "x_unknown_field_from_a_newer_api_version",
    ):
        assert dropped not in props, dropped


def test_orders_updated_brings_the_orders_event_to_its_latest_state(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))
    _ok(deliver(client, shop, "orders/updated", fixture_bytes("orders_updated"), secret=SECRET))
    ada = one_profile(client, shop, ADA)
    (order,) = events(client, shop, ada["id"])
    assert order["type"] == "Placed Order"
    assert order["properties"]["fulfillment_status"] == "fulfilled"
    assert order["timestamp"] == "2026-11-28T17:00:05Z"  # still when it was placed
    # Shopify does not promise delivery order: an older state arriving late changes nothing.
    stale = fixture("orders_updated")
    stale["updated_at"] = "2026-11-28T12:30:00-05:00"
    stale["fulfillment_status"] = "partial"
    _ok(deliver(client, shop, "orders/updated", stale, secret=SECRET))
    (order,) = events(client, shop, ada["id"])
    assert order["properties"]["fulfillment_status"] == "fulfilled"
    # A late orders/create does not add a second order either.
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))
    assert len(events(client, shop, ada["id"])) == 1


def test_orders_updated_for_a_missed_create_records_the_order(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    _ok(deliver(client, shop, "orders/updated", fixture_bytes("orders_updated"), secret=SECRET))
    (order,) = events(client, shop, one_profile(client, shop, ADA)["id"])
    assert (order["type"], order["properties"]["fulfillment_status"]) == (
        "Placed Order",
        "fulfilled",
    )


def test_checkouts_create_is_started_checkout(client: TestClient, shop: WorkspaceHandle) -> None:
    _ok(deliver(client, shop, "checkouts/create", fixture_bytes("checkouts_create"), secret=SECRET))
    carol = one_profile(client, shop, "carol.camper@example.com")
    assert carol["external_id"] == "shopify:207119551"
    # The legacy accepts_marketing=false is no consent, and no withdrawal either.
    assert _consent(client, shop, carol["id"]) == {}
    (checkout,) = events(client, shop, carol["id"])
    assert checkout["type"] == "Started Checkout"
    sent = fixture("checkouts_create")
    assert checkout["properties"]["abandoned_checkout_url"] == sent["abandoned_checkout_url"]
    assert checkout["properties"]["line_items"] == sent["line_items"]
    assert checkout["properties"]["total_price"] == "59.00"


def test_a_payload_naming_nobody_is_acknowledged_and_ignored(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    order = fixture("orders_create")
    for key in ("customer", "email", "contact_email", "phone"):
        order.pop(key)
    _ok(deliver(client, shop, "orders/create", order, secret=SECRET), "ignored")
    _ok(
        deliver(client, shop, "products/update", {"id": 1, "title": "Tent"}, secret=SECRET),
        "ignored",
    )
    assert profiles(client, shop) == []


# -- verification and de-duplication -----------------------------------------------------------


def test_the_same_webhook_id_is_applied_once(client: TestClient, shop: WorkspaceHandle) -> None:
    body = fixture_bytes("orders_create")
    _ok(deliver(client, shop, "orders/create", body, secret=SECRET, webhook_id="wh-1"))
    _ok(deliver(client, shop, "orders/create", body, secret=SECRET, webhook_id="wh-1"), "duplicate")
    assert len(events(client, shop, one_profile(client, shop, ADA)["id"])) == 1


def test_a_bad_or_missing_signature_is_401_and_stores_nothing(
    client: TestClient, shop: WorkspaceHandle, other_ws: WorkspaceHandle, runtime: Runtime
) -> None:
    body = fixture_bytes("orders_create")
    tampered = body.replace(b'"412.76"', b'"0.01"')
    url = f"/integrations/shopify/{shop.id}/webhooks"
    base = {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "wh-2"}
    attempts: list[tuple[bytes, dict[str, str], str]] = [
        (body, {}, url),  # no signature
        (body, {"X-Shopify-Hmac-Sha256": ""}, url),
        (body, {"X-Shopify-Hmac-Sha256": "not base64 at all"}, url),
        (body, {"X-Shopify-Hmac-Sha256": shopify_signature("wrong secret", body)}, url),
        (tampered, {"X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body)}, url),
        # The right signature for another workspace that has no secret, or does not exist.
        (
            body,
            {"X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body)},
            f"/integrations/shopify/{other_ws.id}/webhooks",
        ),
        (
            body,
            {"X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body)},
            "/integrations/shopify/ws_nope/webhooks",
        ),
    ]
    for raw, headers, target in attempts:
        response = client.post(target, content=raw, headers={**base, **headers})
        assert_error(response, 401, "unauthorized")
    assert profiles(client, shop) == [] and profiles(client, other_ws) == []
    # Not even the webhook id was kept: the genuine delivery with it is processed.
    _ok(deliver(client, shop, "orders/create", body, secret=SECRET, webhook_id="wh-2"))


def test_removing_the_secret_refuses_webhooks(client: TestClient, shop: WorkspaceHandle) -> None:
    set_shopify_secret(client, shop, "")
    response = deliver(
        client, shop, "customers/create", fixture_bytes("customers_create"), secret=SECRET
    )
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    ("topic", "raw", "status", "code"),
    [
        ("orders/create", b"this is not json", 400, "bad_request"),
        ("orders/create", b"", 400, "bad_request"),
        ("orders/create", b"[1, 2, 3]", 422, "validation_error"),
        ("", b"{}", 422, "validation_error"),
        ("orders/create", json.dumps({"customer": {"id": 1}}).encode(), 422, "validation_error"),
        (
            "orders/create",
            json.dumps({"id": 5, "customer": "bob"}).encode(),
            422,
            "validation_error",
        ),
        ("customers/create", json.dumps({"id": {"nested": 1}}).encode(), 422, "validation_error"),
        (
            "customers/create",
            json.dumps({"id": 9, "email": "not an email"}).encode(),
            422,
            "validation_error",
        ),
        (
            "customers/create",
            json.dumps({"id": 9, "email_marketing_consent": "yes"}).encode(),
            422,
            "validation_error",
        ),
        ("customers/redact", json.dumps({"customer": []}).encode(), 422, "validation_error"),
        (
            "customers/create",
            json.dumps({"id": 9, "first_name": "A\u0000"}).encode(),
            422,
            "validation_error",
        ),
        (
            "orders/create",
            json.dumps({"id": 5, "email": "a@b.co", "line_items": [{"k\u0000": 1}]}).encode(),
            422,
            "validation_error",
        ),
    ],
)
def test_malformed_deliveries_are_4xx_and_store_nothing(
    client: TestClient, shop: WorkspaceHandle, topic: str, raw: bytes, status: int, code: str
) -> None:
    response = deliver(client, shop, topic, raw, secret=SECRET)
    assert_error(response, status, code)
    assert profiles(client, shop) == []


# -- GDPR topics -------------------------------------------------------------------------------


def test_customers_data_request_is_an_export_request_by_shopify(
    client: TestClient, shop: WorkspaceHandle, runtime: Runtime
) -> None:
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))

    def data_request() -> Any:
        body = fixture_bytes("customers_data_request")
        return deliver(client, shop, "customers/data_request", body, secret=SECRET)

    _ok(data_request())
    ada = one_profile(client, shop, ADA)
    (export,) = client.get("/api/v1/compliance/exports", headers=shop.admin).json()["data"]
    assert (export["profile_id"], export["requested_by"], export["status"]) == (
        ada["id"],
        "shopify",
        "pending",
    )
    # Shopify asking again while one is open is acknowledged; still one request.
    _ok(data_request(), "ignored")
    run_jobs(runtime)
    (export,) = client.get("/api/v1/compliance/exports", headers=shop.admin).json()["data"]
    assert export["status"] == "ready"
    document = client.get(export["download_url"], headers=shop.admin).json()
    assert [e["type"] for e in document["events"]] == ["Placed Order"]


def test_orders_create_then_customers_redact_erases_the_customer(
    client: TestClient, shop: WorkspaceHandle, runtime: Runtime
) -> None:
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))
    ada = one_profile(client, shop, ADA)
    _ok(deliver(client, shop, "customers/redact", fixture_bytes("customers_redact"), secret=SECRET))
    # At once: the profile no longer matches; the Deleted table says Shopify asked.
    assert profiles(client, shop, ADA) == []
    (record,) = client.get("/api/v1/compliance/deletions", headers=shop.admin).json()["data"]
    assert (record["profile_id"], record["requested_by"]) == (ada["id"], "shopify")
    run_jobs(runtime)

    record = client.get(f"/api/v1/compliance/deletions/{record['id']}", headers=shop.admin).json()
    assert record["status"] == "completed" and record["summary"]["verified"] is True
    tombstone = client.get(f"/api/v1/profiles/{ada['id']}", headers=shop.admin).json()
    assert tombstone["status"] == "deleted"
    for key in ("email", "phone", "external_id", "first_name", "last_name"):
        assert tombstone[key] is None, key
    assert tombstone["properties"] == {}
    (order,) = events(client, shop, ada["id"])
    props = order["properties"]
    # Kept: the non-personal order.
    assert order["type"] == "Placed Order"
    assert props["total_price"] == "412.76"
    assert [i["sku"] for i in props["line_items"]] == ["TENT-RL2-GRN", "MUG-TRL"]
    assert [i["quantity"] for i in props["line_items"]] == [1, 2]
    # Gone: addresses and every trace of the person, in any formatting.
    assert "shipping_address" not in props and "billing_address" not in props
    text = " ".join(_all_strings(props)).lower()
    for needle in (ADA, "shopper", "analytical row", "6135550199", "613) 555-0199", "k1a 0b1"):
        assert needle not in text, needle

    # Whatever Shopify sends next for the same customer lands on a NEW profile (SPEC §2).
    _ok(deliver(client, shop, "orders/updated", fixture_bytes("orders_updated"), secret=SECRET))
    newcomer = one_profile(client, shop, ADA)
    assert newcomer["id"] != ada["id"]
    assert [e["type"] for e in events(client, shop, newcomer["id"])] == ["Updated Order"]
    (old_order,) = events(client, shop, ada["id"])
    assert old_order["properties"] == props  # nothing written back into the erased history


def test_customers_redact_finds_the_customer_by_email_or_phone_too(
    client: TestClient, shop: WorkspaceHandle, runtime: Runtime
) -> None:
    for body in (
        {"email": "split@example.com", "first_name": "Split"},
        {"phone": "+16135550177", "first_name": "Phoney"},
        {"email": "bystander@example.com"},
    ):
        assert client.post("/api/v1/profiles", json=body, headers=shop.admin).status_code == 201
    redact = {
        "shop_id": 954889,
        "shop_domain": SHOP,
        "customer": {"id": 42, "email": "SPLIT@example.com", "phone": "613-555-0177"},
        "orders_to_redact": [],
    }
    _ok(deliver(client, shop, "customers/redact", redact, secret=SECRET))
    assert [p["email"] for p in profiles(client, shop)] == ["bystander@example.com"]
    deletions = client.get("/api/v1/compliance/deletions", headers=shop.admin).json()["data"]
    assert sorted(d["requested_by"] for d in deletions) == ["shopify", "shopify"]
    # Nobody left to find: acknowledged, nothing more requested.
    _ok(deliver(client, shop, "customers/redact", redact, secret=SECRET), "ignored")


def test_shop_redact_deletes_every_profile_from_the_shop(
    client: TestClient, shop: WorkspaceHandle, runtime: Runtime
) -> None:
    _ok(deliver(client, shop, "customers/create", fixture_bytes("customers_create"), secret=SECRET))
    _ok(deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret=SECRET))
    # Created by the API first, then matched by a Shopify webhook: it carries a Shopify id.
    client.post("/api/v1/profiles", json={"email": "carol.camper@example.com"}, headers=shop.admin)
    _ok(deliver(client, shop, "checkouts/create", fixture_bytes("checkouts_create"), secret=SECRET))
    # Never seen by Shopify: stays.
    client.post("/api/v1/profiles", json={"email": "walkin@example.com"}, headers=shop.admin)
    assert len(profiles(client, shop)) == 4

    _ok(deliver(client, shop, "shop/redact", fixture_bytes("shop_redact"), secret=SECRET))
    # Answered at once; a background job fans out over the shop's profiles.
    assert len(profiles(client, shop)) == 4
    [parent] = client.get("/api/v1/privacy-requests", headers=shop.admin).json()["data"]
    assert parent["source"] == "shopify" and parent["type"] == "erasure"
    runtime.queue.run_one()  # the fan-out
    assert [p["email"] for p in profiles(client, shop)] == ["walkin@example.com"]
    deletions = client.get("/api/v1/compliance/deletions", headers=shop.admin).json()["data"]
    assert len(deletions) == 3 and {d["requested_by"] for d in deletions} == {"shopify"}
    requests = client.get("/api/v1/privacy-requests", headers=shop.admin).json()["data"]
    assert len(requests) == 4 and {r["source"] for r in requests} == {"shopify"}
    assert sorted(d for r in requests for d in r["deletion_ids"]) == sorted(
        d["id"] for d in deletions
    )
    run_jobs(runtime)
    assert {
        r["status"]
        for r in client.get("/api/v1/privacy-requests", headers=shop.admin).json()["data"]
    } == {"completed"}
    statuses = {
        client.get(f"/api/v1/compliance/deletions/{d['id']}", headers=shop.admin).json()["status"]
        for d in deletions
    }
    assert statuses == {"completed"}


def test_no_payload_reaches_the_logs(
    client: TestClient, shop: WorkspaceHandle, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        for topic, name in (
            ("customers/create", "customers_create"),
            ("orders/create", "orders_create"),
            ("customers/redact", "customers_redact"),
        ):
            _ok(deliver(client, shop, topic, fixture_bytes(name), secret=SECRET))
        deliver(client, shop, "customers/create", {"id": 1, "email": "leak@bad"}, secret=SECRET)
        deliver(client, shop, "orders/create", fixture_bytes("orders_create"), secret="wrong")
        run_jobs(runtime)
    assert "shopify webhook" in caplog.text
    for needle in ("bob.biller", ADA, "leak@bad", "Shopper", "Analytical", "6135550199", "Biller"):
        assert needle.lower() not in caplog.text.lower(), needle


def test_the_route_is_in_the_openapi_document(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][
        "/integrations/shopify/{workspace_id}/webhooks"
    ]["post"]
    assert {"200", "401", "422"} <= set(operation["responses"])
