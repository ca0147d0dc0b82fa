"""The Segment-compatible API with hand-written requests: mapping, auth, time, de-duplication,
limits, gzip and malformed bodies. The real client libraries: test_segment_clients.py."""

from __future__ import annotations

import gzip
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import events, one_profile, profiles

KB = 1024


def _post(client: TestClient, ws: WorkspaceHandle, path: str, body: Any, **kw: Any) -> Any:
    return client.post(path, json=body, auth=(ws.write_key, ""), **kw)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_identify_maps_user_id_and_traits_to_the_profile(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = _post(
        client,
        ws,
        "/v1/identify",
        {
            "userId": "user-42",
            "traits": {
                "email": "  Ada@Example.COM ",
                "phone": "(202) 555-0143",
                "firstName": "Ada",
                "last_name": "Lovelace",
                "plan": "pro",
                "address": {"city": "London"},
            },
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    profile = one_profile(client, ws, "ada@example.com")
    assert profile["external_id"] == "user-42"
    assert profile["email"] == "ada@example.com"
    assert profile["phone"] == "+12025550143"
    assert (profile["first_name"], profile["last_name"]) == ("Ada", "Lovelace")
    assert profile["properties"] == {"plan": "pro", "address": {"city": "London"}}


def test_track_page_and_screen_become_events_and_honour_context_traits(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    context = {"traits": {"email": "grace@example.com", "lastName": "Hopper"}, "ip": "1.2.3.4"}
    calls = [
        ("/v1/track", {"userId": "u-7", "event": "Viewed Product", "properties": {"sku": "T-1"}}),
        ("/v1/page", {"userId": "u-7", "name": "Home", "properties": {"path": "/"}}),
        ("/v1/screen", {"userId": "u-7", "name": "Cart", "category": "Checkout"}),
    ]
    for path, body in calls:
        response = _post(client, ws, path, {**body, "context": context})
        assert response.status_code == 200, response.text
    profile = one_profile(client, ws, "grace@example.com")
    assert (profile["external_id"], profile["last_name"]) == ("u-7", "Hopper")
    got = sorted(
        (e["type"], e["source"], e["properties"]) for e in events(client, ws, profile["id"])
    )
    assert got == sorted(
        [
            ("Viewed Product", "segment", {"sku": "T-1"}),
            ("Viewed Page", "segment", {"path": "/", "name": "Home"}),
            ("Viewed Screen", "segment", {"name": "Cart", "category": "Checkout"}),
        ]
    )


def test_anonymous_id_alone_is_an_anonymous_profile_that_identify_later_names(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    _post(client, ws, "/v1/track", {"anonymousId": "anon-1", "event": "Viewed Product"})
    (anonymous,) = profiles(client, ws)
    assert anonymous["is_contact"] is False and anonymous["email"] is None
    _post(
        client,
        ws,
        "/v1/identify",
        {"anonymousId": "anon-1", "userId": "u-1", "traits": {"email": "lin@example.com"}},
    )
    (named,) = profiles(client, ws)
    assert named["id"] == anonymous["id"]
    assert (named["email"], named["external_id"], named["is_contact"]) == (
        "lin@example.com",
        "u-1",
        True,
    )


def test_write_key_in_the_body_works_and_a_wrong_or_missing_key_stores_nothing(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    body = {"userId": "u-9", "event": "Signed Up", "writeKey": ws.write_key}
    assert client.post("/v1/track", json=body).status_code == 200
    for headers, payload in (
        ({}, {"userId": "u-10", "event": "Signed Up"}),
        ({}, {"userId": "u-10", "event": "Signed Up", "writeKey": "veil_wk_wrong"}),
        ({}, {"userId": "u-10", "event": "Signed Up", "writeKey": ws.admin_key}),
    ):
        response = client.post("/v1/track", json=payload, headers=headers)
        assert_error(response, 401, "unauthorized")
    wrong = client.post(
        "/v1/track", json={"userId": "u-10", "event": "Signed Up"}, auth=("veil_wk_nope", "")
    )
    assert_error(wrong, 401, "unauthorized")
    # A wrong Basic key is refused even when the body carries a good one.
    both = client.post(
        "/v1/track",
        json={"userId": "u-10", "event": "X", "writeKey": ws.write_key},
        auth=("veil_wk_nope", ""),
    )
    assert_error(both, 401, "unauthorized")
    assert [p["external_id"] for p in profiles(client, ws)] == ["u-9"]


def test_a_write_key_only_ingests(client: TestClient, ws: WorkspaceHandle) -> None:
    bearer = {"Authorization": f"Bearer {ws.write_key}"}
    assert_error(client.get("/api/v1/profiles", headers=bearer), 401, "unauthorized")


def test_write_keys_keep_workspaces_apart(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    _post(client, other_ws, "/v1/identify", {"userId": "u-1", "traits": {"email": "o@example.com"}})
    assert profiles(client, ws) == []
    assert [p["email"] for p in profiles(client, other_ws)] == ["o@example.com"]


def test_message_id_is_deduplicated_per_workspace(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    batch = {
        "batch": [
            {"type": "track", "userId": "u-1", "event": "Placed Order", "messageId": "m-1"},
            {"type": "track", "userId": "u-1", "event": "Placed Order", "messageId": "m-1"},
            {"type": "track", "userId": "u-1", "event": "Viewed Product", "messageId": "m-2"},
        ]
    }
    for _ in range(2):  # a client retrying the whole batch
        assert _post(client, ws, "/v1/batch", batch).status_code == 200
    (profile,) = profiles(client, ws)
    assert sorted(e["type"] for e in events(client, ws, profile["id"])) == [
        "Placed Order",
        "Viewed Product",
    ]
    # The same messageId in another workspace is another message.
    assert _post(client, other_ws, "/v1/batch", batch).status_code == 200
    (theirs,) = profiles(client, other_ws)
    assert len(events(client, other_ws, theirs["id"])) == 2


def test_timestamps_are_corrected_for_the_clients_clock_skew(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    before = datetime.now(UTC)
    # The client's clock runs 3 hours fast; the event happened 10 minutes before sending.
    sent_at = before + timedelta(hours=3)
    happened = sent_at - timedelta(minutes=10)
    batch = {
        "sentAt": _iso(sent_at),
        "batch": [
            {"type": "track", "userId": "u", "event": "Skewed", "timestamp": _iso(happened)},
            {
                "type": "track",
                "userId": "u",
                "event": "Original wins",
                "originalTimestamp": _iso(happened),
                "timestamp": "2020-01-01T00:00:00Z",
            },
            {
                "type": "track",
                "userId": "u",
                "event": "Own sentAt",
                "timestamp": "2026-06-01T12:00:00Z",
                "sentAt": "2026-06-01T12:00:00Z",
            },
        ],
    }
    assert _post(client, ws, "/v1/batch", batch).status_code == 200
    after = datetime.now(UTC)
    # Unskewed, no sentAt: taken as it is.
    _post(
        client,
        ws,
        "/v1/track",
        {"userId": "u", "event": "Plain", "timestamp": "2025-05-05T05:05:05Z"},
    )
    # No time at all: received time.
    _post(client, ws, "/v1/track", {"userId": "u", "event": "Untimed"})
    done = datetime.now(UTC)
    (profile,) = profiles(client, ws)
    got = {e["type"]: _parse(e["timestamp"]) for e in events(client, ws, profile["id"])}
    for name in ("Skewed", "Original wins"):
        assert before - timedelta(minutes=10) <= got[name] <= after - timedelta(minutes=10), name
    assert before <= got["Own sentAt"] <= after
    assert got["Plain"] == datetime(2025, 5, 5, 5, 5, 5, tzinfo=UTC)
    assert after <= got["Untimed"] <= done


def test_alias_and_group_are_accepted_and_store_nothing(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    assert _post(client, ws, "/v1/alias", {"previousId": "a-1", "userId": "u-1"}).json() == {
        "success": True
    }
    assert _post(client, ws, "/v1/group", {"userId": "u-1", "groupId": "g-1"}).status_code == 200
    batch = {"batch": [{"type": "alias", "previousId": "a", "userId": "u"}]}
    assert _post(client, ws, "/v1/batch", batch).status_code == 200
    assert profiles(client, ws) == []


def test_a_bad_message_rejects_the_whole_batch_naming_its_index(
    client: TestClient, ws: WorkspaceHandle, caplog: pytest.LogCaptureFixture
) -> None:
    batch = {
        "batch": [
            {"type": "identify", "userId": "u-1", "traits": {"email": "kept@example.com"}},
            {"type": "track", "userId": "u-1", "event": "Viewed Product", "messageId": "m-9"},
            {"type": "identify", "userId": "u-2", "traits": {"phone": "call me maybe 555"}},
        ]
    }
    with caplog.at_level(logging.DEBUG):
        response = _post(client, ws, "/v1/batch", batch)
    message = assert_error(response, 422, "validation_error")
    assert message.startswith("batch[2]: ") and "phone" in message
    assert "call me maybe" not in message and "call me maybe" not in caplog.text
    assert "kept@example.com" not in caplog.text
    assert profiles(client, ws) == []
    # Nothing half-stored: with the bad message fixed, m-9 is new, not a duplicate.
    batch["batch"][2]["traits"] = {"phone": "+12025550100"}
    assert _post(client, ws, "/v1/batch", batch).status_code == 200
    kept = one_profile(client, ws, "kept@example.com")
    assert [e["type"] for e in events(client, ws, kept["id"])] == ["Viewed Product"]


@pytest.mark.parametrize(
    ("path", "body", "status", "code", "needle"),
    [
        ("/v1/batch", [1, 2], 422, "validation_error", "JSON object"),
        ("/v1/batch", {"batch": "nope"}, 422, "validation_error", "batch"),
        ("/v1/batch", {"batch": []}, 422, "validation_error", "batch"),
        ("/v1/batch", {"batch": ["text"]}, 422, "validation_error", "batch[0]"),
        (
            "/v1/batch",
            {"batch": [{"type": "launch", "userId": "u"}]},
            422,
            "validation_error",
            "type",
        ),
        (
            "/v1/batch",
            {"batch": [{"type": "track", "userId": "u"}]},
            422,
            "validation_error",
            "event",
        ),
        (
            "/v1/batch",
            {"sentAt": 5, "batch": [{"type": "alias"}]},
            422,
            "validation_error",
            "sentAt",
        ),
        ("/v1/track", {"event": "X"}, 422, "validation_error", "userId or anonymousId"),
        ("/v1/track", {"userId": {"a": 1}, "event": "X"}, 422, "validation_error", "userId"),
        ("/v1/track", {"userId": True, "event": "X"}, 422, "validation_error", "userId"),
        ("/v1/track", {"userId": "u", "event": 7}, 422, "validation_error", "event"),
        (
            "/v1/track",
            {"userId": "u", "event": "X", "properties": []},
            422,
            "validation_error",
            "properties",
        ),
        (
            "/v1/track",
            {"userId": "u", "event": "X", "timestamp": "yesterday"},
            422,
            "validation_error",
            "timestamp",
        ),
        (
            "/v1/track",
            {"userId": "u", "event": "X", "timestamp": "2999-01-01T00:00:00Z"},
            422,
            "validation_error",
            "timestamp",
        ),
        (
            "/v1/track",
            {"userId": "u", "event": "X", "context": "web"},
            422,
            "validation_error",
            "context",
        ),
        ("/v1/track", {"userId": "u" * 300, "event": "X"}, 422, "validation_error", "userId"),
        ("/v1/track", {"userId": "u", "event": "X" * 300}, 422, "validation_error", "type"),
        (
            "/v1/identify",
            {"userId": "u", "traits": {"email": "not-an-email"}},
            422,
            "validation_error",
            "email",
        ),
        (
            "/v1/identify",
            {"userId": "u", "traits": {"email": ["a@b.co"]}},
            422,
            "validation_error",
            "email",
        ),
        ("/v1/identify", {"userId": "u", "traits": "vip"}, 422, "validation_error", "traits"),
    ],
)
def test_malformed_messages_are_4xx_and_store_nothing(
    client: TestClient,
    ws: WorkspaceHandle,
    path: str,
    body: Any,
    status: int,
    code: str,
    needle: str,
) -> None:
    message = assert_error(_post(client, ws, path, body), status, code)
    assert needle in message
    assert profiles(client, ws) == []


def test_deeply_nested_properties_are_refused(client: TestClient, ws: WorkspaceHandle) -> None:
    nested: dict[str, Any] = {}
    cursor = nested
    for _ in range(40):
        cursor["x"] = {}
        cursor = cursor["x"]
    response = _post(client, ws, "/v1/track", {"userId": "u", "event": "X", "properties": nested})
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"userId": ', b"\xff\xfe\x00", b"[1, 2"])
def test_bodies_that_are_not_json_are_400(
    client: TestClient, ws: WorkspaceHandle, raw: bytes
) -> None:
    response = client.post(
        "/v1/batch",
        content=raw,
        auth=(ws.write_key, ""),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "bad_request")


def test_gzip_bodies_are_accepted(client: TestClient, ws: WorkspaceHandle) -> None:
    body = json.dumps(
        {"batch": [{"type": "identify", "userId": "gz", "traits": {"email": "gz@example.com"}}]}
    ).encode()
    response = client.post(
        "/v1/batch",
        content=gzip.compress(body),
        auth=(ws.write_key, ""),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert one_profile(client, ws, "gz@example.com")["external_id"] == "gz"


def test_broken_gzip_and_unknown_encodings_are_refused(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    body = gzip.compress(b'{"batch": [{"type": "alias"}]}')
    for raw, encoding, status, code in (
        (b"plainly not gzip", "gzip", 400, "bad_request"),
        (body[: len(body) // 2], "gzip", 400, "bad_request"),
        (body + b"trailing junk", "gzip", 400, "bad_request"),
        (body, "br", 415, "unsupported_media_type"),
    ):
        response = client.post(
            "/v1/batch",
            content=raw,
            auth=(ws.write_key, ""),
            headers={"Content-Encoding": encoding},
        )
        assert_error(response, status, code)


def _batch_of(size: int) -> dict[str, Any]:
    message = {
        "type": "track",
        "userId": "u",
        "event": "Viewed Product",
        "properties": {"p": "x" * 900},
    }
    count = size // len(json.dumps(message)) + 1
    return {"batch": [message] * count}


def test_batches_over_500_kb_are_413_with_segments_limit_named(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = _post(client, ws, "/v1/batch", _batch_of(520 * KB))
    assert "500 KB" in assert_error(response, 413, "payload_too_large")
    assert profiles(client, ws) == []
    # Just under the limit is fine.
    assert _post(client, ws, "/v1/batch", _batch_of(480 * KB)).status_code == 200


def test_messages_over_32_kb_are_413_in_a_batch_and_alone(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    big = {"type": "track", "userId": "u", "event": "Big", "properties": {"p": "x" * (33 * KB)}}
    small = {"type": "track", "userId": "u", "event": "Small"}
    message = assert_error(
        _post(client, ws, "/v1/batch", {"batch": [small, big]}), 413, "payload_too_large"
    )
    assert "batch[1]" in message and "32 KB" in message
    alone = assert_error(_post(client, ws, "/v1/track", big), 413, "payload_too_large")
    assert "32 KB" in alone
    assert profiles(client, ws) == []


def test_a_gzip_bomb_is_refused_by_its_decompressed_size(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    # 64 MB of JSON whitespace compresses to ~64 KB: small on the wire, far over the limit.
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * KB) + b"}", compresslevel=9)
    assert len(bomb) < 500 * KB
    response = client.post(
        "/v1/batch", content=bomb, auth=(ws.write_key, ""), headers={"Content-Encoding": "gzip"}
    )
    assert "500 KB" in assert_error(response, 413, "payload_too_large")
    single = client.post(
        "/v1/track", content=bomb, auth=(ws.write_key, ""), headers={"Content-Encoding": "gzip"}
    )
    assert "32 KB" in assert_error(single, 413, "payload_too_large")


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for kind in ("identify", "track", "page", "screen", "alias", "group", "batch"):
        operation = paths[f"/v1/{kind}"]["post"]
        assert {"200", "401", "413", "422"} <= set(operation["responses"]), kind
        assert "requestBody" in operation


@pytest.mark.parametrize(
    "body",
    [
        {"userId": "u\u0000x", "event": "X"},
        {"userId": "u", "event": "X\u0000"},
        {"userId": "u", "event": "X", "messageId": "m\u0000"},
        {"userId": "u", "event": "X", "properties": {"k\u0000": 1}},
        {"userId": "u", "event": "X", "properties": {"k": "v\u0000"}},
        {"userId": "u", "event": "X", "context": {"traits": {"email": "a\u0000@b.co"}}},
        {"userId": "u", "event": "X", "context": {"traits": {"firstName": "A\u0000"}}},
    ],
)
def test_nul_characters_are_refused_not_a_database_error(
    client: TestClient, ws: WorkspaceHandle, body: dict[str, Any]
) -> None:
    # PostgreSQL text and JSONB cannot hold NUL: a clear 422 on every backend.
    assert_error(_post(client, ws, "/v1/track", body), 422, "validation_error")
    assert profiles(client, ws) == []
