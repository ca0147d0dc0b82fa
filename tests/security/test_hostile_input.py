"""Hostile input at every ingestion edge (issue 16): out-of-range times, NUL characters and
numbers beyond 64 bits get a 4xx in the edge's error shape, never a 500, on both backends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import deliver, fixture, profiles, set_shopify_secret

SECRET = "shpss_hostile_input_0123456789abcdef"
OUT_OF_RANGE = ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:00-01:00"]
# A 31-digit integer: orjson would read it as the float 1e30.
HUGE_INTEGER = b"1000000000000000000000000000000"


@pytest.fixture
def shop(client: TestClient, ws: WorkspaceHandle) -> WorkspaceHandle:
    set_shopify_secret(client, ws, SECRET)
    return ws


def _event(timestamp: Any) -> dict[str, Any]:
    return {
        "type": "Viewed Product",
        "profile": {"email": "ada@example.com"},
        "timestamp": timestamp,
    }


def _segment(client: TestClient, ws: WorkspaceHandle, path: str, body: Any) -> Any:
    return client.post(path, json=body, auth=(ws.write_key, ""))


# -- 1. times out of datetime's comfortable range -------------------------------------------------


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE)
def test_api_event_with_an_out_of_range_timestamp_is_422(
    client: TestClient, ws: WorkspaceHandle, timestamp: str
) -> None:
    response = client.post("/api/v1/events", json=_event(timestamp), headers=ws.admin)
    assert "timestamp" in assert_error(response, 422, "validation_error")
    batch = client.post(
        "/api/v1/events/batch", json={"events": [_event(timestamp)]}, headers=ws.admin
    )
    assert_error(batch, 422, "validation_error")
    assert profiles(client, ws) == []


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE)
@pytest.mark.parametrize("field", ["timestamp", "sentAt", "originalTimestamp"])
@pytest.mark.parametrize("path", ["/v1/track", "/v1/identify", "/v1/batch"])
def test_segment_call_with_an_out_of_range_time_is_422(
    client: TestClient, ws: WorkspaceHandle, path: str, field: str, timestamp: str
) -> None:
    message: dict[str, Any] = {"userId": "u-1", "event": "Clicked", field: timestamp}
    body = {"batch": [{"type": "track", **message}]} if path == "/v1/batch" else message
    message_text = assert_error(_segment(client, ws, path, body), 422, "validation_error")
    assert field in message_text
    assert profiles(client, ws) == []


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE)
def test_segment_clock_skew_correction_cannot_overflow(
    client: TestClient, ws: WorkspaceHandle, timestamp: str
) -> None:
    # Both in range alone, but a batch-level sentAt far from the message's time: the
    # correction receivedAt - (sentAt - timestamp) must not leave datetime's range either.
    body = {
        "sentAt": timestamp,
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "2026-01-01T00:00:00Z"}
        ],
    }
    assert_error(_segment(client, ws, "/v1/batch", body), 422, "validation_error")
    body = {
        "sentAt": "2200-12-31T00:00:00Z",
        "batch": [
            {"type": "track", "userId": "u", "event": "E", "timestamp": "1900-01-01T00:00:00Z"}
        ],
    }
    assert_error(_segment(client, ws, "/v1/batch", body), 422, "validation_error")


def test_shopify_order_processed_in_year_one_is_acknowledged_at_its_creation_time(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    order = fixture("orders_create")
    order["processed_at"] = OUT_OF_RANGE[0]
    response = deliver(client, shop, "orders/create", order, secret=SECRET)
    assert response.status_code == 200, response.text
    (ada,) = profiles(client, shop)
    (event,) = client.get(f"/api/v1/profiles/{ada['id']}/events", headers=shop.admin).json()["data"]
    # An unusable processed_at counts as absent: created_at is the order's time.
    assert event["timestamp"].startswith(order["created_at"][:10])


_TIMES = st.one_of(
    st.sampled_from(OUT_OF_RANGE),
    st.from_regex(
        r"\A[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}([Tt ][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,12})?)?"
        r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?)?\Z"
    ),
    st.text(max_size=30),
)
_FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _no_server_error(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"code", "message"}


@given(text=_TIMES, field=st.sampled_from(["timestamp", "sentAt", "originalTimestamp"]))
@_FUZZ
def test_arbitrary_times_at_the_segment_edge_never_answer_500(
    client: TestClient, ws: WorkspaceHandle, text: str, field: str
) -> None:
    _no_server_error(_segment(client, ws, "/v1/track", {"userId": "u", "event": "E", field: text}))
    batch = {"sentAt": text, "batch": [{"type": "identify", "userId": "u", field: text}]}
    _no_server_error(_segment(client, ws, "/v1/batch", batch))


@given(text=_TIMES)
@_FUZZ
def test_arbitrary_times_at_the_api_never_answer_500(
    client: TestClient, ws: WorkspaceHandle, text: str
) -> None:
    _no_server_error(client.post("/api/v1/events", json=_event(text), headers=ws.admin))


@given(text=_TIMES, field=st.sampled_from(["processed_at", "created_at", "updated_at"]))
@_FUZZ
def test_arbitrary_times_at_the_shopify_edge_never_answer_500(
    client: TestClient, shop: WorkspaceHandle, text: str, field: str
) -> None:
    order = {**fixture("orders_create"), field: text}
    for topic in ("orders/create", "orders/updated", "checkouts/create"):
        _no_server_error(deliver(client, shop, topic, order, secret=SECRET))


# -- 3. NUL characters at the integration edges ---------------------------------------------------


def test_shopify_customers_redact_with_a_nul_in_the_customer_id_is_not_a_500(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    body = fixture("customers_redact")
    body["customer"]["id"] = "7\x0006"
    response = deliver(client, shop, "customers/redact", body, secret=SECRET)
    assert_error(response, 422, "validation_error")
    created = fixture("customers_create")
    created["email"] = "nul\x00@example.com"
    assert_error(
        deliver(client, shop, "customers/create", created, secret=SECRET), 422, "validation_error"
    )
    assert profiles(client, shop) == []


def test_segment_with_a_nul_in_an_identifier_is_422(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = _segment(client, ws, "/v1/identify", {"userId": "u\x00", "traits": {"plan": "x"}})
    assert_error(response, 422, "validation_error")


# -- 4. numbers: one rule at every edge -----------------------------------------------------------


def _raw(client: TestClient, path: str, body: bytes, **kw: Any) -> Any:
    return client.post(path, content=body, **kw)


def test_an_integer_beyond_64_bits_is_refused_at_every_edge(
    client: TestClient, shop: WorkspaceHandle
) -> None:
    ws = shop
    api = b'{"type": "E", "profile": {"email": "a@example.com"}, "properties": {"n": %s}}'
    response = _raw(
        client,
        "/api/v1/events",
        api % HUGE_INTEGER,
        headers={**ws.admin, "content-type": "application/json"},
    )
    assert_error(response, 422, "validation_error")
    for path, body in (
        ("/v1/track", b'{"userId": "u", "event": "E", "properties": {"n": %s}}'),
        ("/v1/identify", b'{"userId": "u", "traits": {"n": %s}}'),
        (
            "/v1/batch",
            b'{"batch": [{"type": "track", "userId": "u", "event": "E", "properties": {"n": %s}}]}',
        ),
    ):
        response = _raw(
            client,
            path,
            body % HUGE_INTEGER,
            auth=(ws.write_key, ""),
            headers={"content-type": "application/json"},
        )
        assert "out of range" in assert_error(response, 422, "validation_error"), path
    order = json.dumps(fixture("orders_create")).encode()
    order = order.replace(b'"total_price": "', b'"total_price": %s, "x": "' % HUGE_INTEGER, 1)
    assert HUGE_INTEGER in order
    assert_error(
        deliver(client, ws, "orders/create", order, secret=SECRET), 422, "validation_error"
    )
    assert profiles(client, ws) == []


def test_a_float_within_range_is_accepted_alike_at_the_api_and_segment(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    ok = client.post(
        "/api/v1/events",
        json={"type": "E", "profile": {"external_id": "u"}, "properties": {"n": 1e30}},
        headers=ws.admin,
    )
    assert ok.status_code == 202, ok.text
    seg = _segment(
        client, ws, "/v1/track", {"userId": "u", "event": "E", "properties": {"n": 1e30}}
    )
    assert seg.status_code == 200, seg.text


@pytest.mark.parametrize("timestamp", OUT_OF_RANGE)
def test_a_forged_cursor_with_an_out_of_range_time_is_422(
    client: TestClient, ws: WorkspaceHandle, timestamp: str
) -> None:
    import base64

    profile = client.post("/api/v1/profiles", json={"email": "c@example.com"}, headers=ws.admin)
    cursor = base64.urlsafe_b64encode(json.dumps([{"t": timestamp}, "evt_x"]).encode()).decode()
    response = client.get(
        f"/api/v1/profiles/{profile.json()['id']}/events",
        params={"cursor": cursor.rstrip("=")},
        headers=ws.admin,
    )
    assert_error(response, 422, "validation_error")
