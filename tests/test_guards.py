"""Input limits: every kind of bad input gets a clear 4xx in SPEC's error shape, and nothing of
the request is stored — not one event of a batch, not a profile resolved on the way."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from veil.kit.jsonwalk import MAX_DEPTH, MAX_PROPERTIES_BYTES, MAX_STRING
from veil.models import Event, Profile
from veil.runtime import Runtime


def stored(runtime: Runtime) -> tuple[int, int]:
    with runtime.sessionmaker() as session:
        events = session.scalar(select(func.count()).select_from(Event))
        profiles = session.scalar(select(func.count()).select_from(Profile))
    return int(events or 0), int(profiles or 0)


def post_raw(client: TestClient, ws: WorkspaceHandle, path: str, body: bytes, **headers: str):
    return client.post(
        path,
        content=body,
        headers={**ws.member, "Content-Type": "application/json", **headers},
    )


def event(**overrides: Any) -> dict[str, Any]:
    return {"type": "Viewed Product", "profile": {"email": "ada@example.com"}, **overrides}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


BAD_PROPERTIES = [
    pytest.param(nested(MAX_DEPTH + 1), "nested deeper", id="too-deep"),
    pytest.param({"pad": "x" * (MAX_STRING + 1)}, "longer than", id="long-string"),
    pytest.param({"k" * 257: 1}, "key longer", id="long-key"),
    pytest.param(
        {f"p{i}": "x" * 60_000 for i in range(MAX_PROPERTIES_BYTES // 60_000 + 1)},
        "larger than",
        id="too-big",
    ),
    pytest.param({"total": 2**64}, "out of range", id="int-beyond-64-bit"),
    pytest.param({"total": -(2**63) - 1}, "out of range", id="int-below-64-bit"),
    pytest.param({"total": 10**30}, "out of range", id="int-10e30"),
]


@pytest.mark.parametrize(("properties", "says"), BAD_PROPERTIES)
def test_property_limits_are_422_naming_the_limit(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, properties: Any, says: str
) -> None:
    for path, body in (
        ("/api/v1/events", event(properties=properties)),
        ("/api/v1/events/batch", {"events": [event(), event(properties=properties)]}),
        ("/api/v1/profiles", {"email": "ada@example.com", "properties": properties}),
    ):
        response = client.post(path, json=body, headers=ws.member)
        assert says in assert_error(response, 422, "validation_error"), path
    assert stored(runtime) == (0, 0)


def test_the_deepest_and_largest_allowed_values_are_stored(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    properties = {"deep": nested(MAX_DEPTH - 2), "pad": "x" * MAX_STRING, "big": 2**63 - 1}
    response = client.post("/api/v1/events", json=event(properties=properties), headers=ws.member)
    assert response.status_code == 202, response.text
    assert stored(runtime) == (1, 1)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        pytest.param(b'{"type": "x", "profile": {"email": "a@b.co"', "not valid JSON", id="cut"),
        pytest.param(b"", "", id="empty"),
        pytest.param(b"\xff\xfe{}", "not valid JSON", id="bad-utf8"),
        pytest.param(b'{"type": "x", "properties": {"v": NaN}}', "not valid JSON", id="nan"),
        pytest.param(b'{"type": "x", "properties": {"v": Infinity}}', "not valid JSON", id="inf"),
        pytest.param(b'{"type": "x", "properties": {"v": -Infinity}}', "not valid JSON", id="-inf"),
        pytest.param(b'{"type": "x", "properties": {"v": 1e400}}', "not valid JSON", id="1e400"),
        pytest.param(
            b'{"type": "x", "profile": {"email": "a@b.co"}, "properties": {"v": "\\ud800"}}',
            "not valid JSON",
            id="lone-surrogate",
        ),
        pytest.param(
            b'{"type": "x\\udfff", "profile": {"email": "a@b.co"}}',
            "not valid JSON",
            id="lone-low-surrogate",
        ),
        pytest.param(
            b'{"type": "x", "profile": {"email": "a@b.co"}, "properties": {"v": "a\\u0000b"}}',
            "body.properties.v contains a NUL",
            id="nul-in-property",
        ),
        pytest.param(
            b'{"type": "x\\u0000", "profile": {"email": "a@b.co"}}',
            "body.type contains a NUL",
            id="nul-in-type",
        ),
        pytest.param(
            b'{"type": "x", "profile": {"email": "a\\u0000@b.co"}}',
            "body.profile.email contains a NUL",
            id="nul-in-email",
        ),
        pytest.param(
            b'{"type": "x", "profile": {"email": "a@b.co"}, "properties": {"k\\u0000": 1}}',
            "a key of body.properties",
            id="nul-in-key",
        ),
        pytest.param(b"[1, 2, 3]", "", id="array"),
        pytest.param(b'"just a string"', "", id="string"),
    ],
)
def test_bodies_that_are_not_acceptable_json_are_422(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, raw: bytes, says: str
) -> None:
    for path in ("/api/v1/events", "/api/v1/profiles"):
        message = assert_error(post_raw(client, ws, path, raw), 422, "validation_error")
        assert says in message
        assert "a@b.co" not in message  # where, never what
    batch = b'{"events": [' + raw + b"]}" if raw else b'{"events": ['
    assert_error(post_raw(client, ws, "/api/v1/events/batch", batch), 422, "validation_error")
    assert stored(runtime) == (0, 0)


def test_a_nul_in_a_batchs_last_item_stores_nothing(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    items = [event(properties={"n": n}) for n in range(999)]
    items.append(event(properties={"note": "fine\x00not fine"}))
    response = client.post("/api/v1/events/batch", json={"events": items}, headers=ws.member)
    message = assert_error(response, 422, "validation_error")
    assert "body.events[999].properties.note" in message
    assert stored(runtime) == (0, 0)


def test_a_bad_item_late_in_a_batch_stores_nothing(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    items = [event(profile={"email": f"p{n}@example.com"}) for n in range(4999)]
    items.append(event(profile={"phone": "not a phone"}))
    response = client.post("/api/v1/events/batch", json={"events": items}, headers=ws.member)
    assert "events[4999]" in assert_error(response, 422, "validation_error")
    assert stored(runtime) == (0, 0)  # not even the 4,999 profiles resolved on the way


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_an_api_body_that_is_not_json_is_415(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, content_type: str
) -> None:
    body = b'{"type": "x", "profile": {"email": "a@b.co"}}'
    headers = {**ws.member, "Content-Type": content_type}
    response = client.post("/api/v1/events", content=body, headers=headers)
    assert "Content-Type: application/json" in assert_error(response, 415, "unsupported_media_type")
    assert stored(runtime) == (0, 0)


def test_json_with_a_charset_or_a_json_suffix_is_accepted(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    for content_type in ("application/json; charset=utf-8", "application/vnd.veil+json"):
        response = client.post(
            "/api/v1/events",
            content=b'{"type": "x", "profile": {"email": "a@b.co"}}',
            headers={**ws.member, "Content-Type": content_type},
        )
        assert response.status_code == 202, (content_type, response.text)


def test_unicode_that_is_valid_is_kept_exactly(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    text = "Zoë 👩🏽‍💻 מַזָּל e\u0301 \u200b\ufeff 𝔘𝔫𝔦"
    response = client.post(
        "/api/v1/profiles",
        json={"email": "zoe@example.com", "first_name": text, "properties": {text: [text]}},
        headers=ws.member,
    )
    assert response.status_code == 201, response.text
    profile = client.get(f"/api/v1/profiles/{response.json()['id']}", headers=ws.member).json()
    assert profile["first_name"] == text and profile["properties"] == {text: [text]}


def test_top_level_string_lengths_are_limited(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    for body in (
        {"email": "a" * 321},
        {"email": "a@b.co", "first_name": "x" * 201},
        {"external_id": "x" * 256},
    ):
        assert_error(
            client.post("/api/v1/profiles", json=body, headers=ws.member), 422, "validation_error"
        )
    assert_error(
        client.post("/api/v1/events", json=event(type="t" * 201), headers=ws.member),
        422,
        "validation_error",
    )
    assert stored(runtime) == (0, 0)


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/profiles?query=a%00b",
        "/api/v1/profiles/prf%00x",
        "/api/v1/profiles/prf_x/events?type=%00",
        "/api/v1/compliance/exports?cursor=%00",
        "/profiles?s=%00",
    ],
)
def test_a_nul_in_the_url_is_422(client: TestClient, ws: WorkspaceHandle, url: str) -> None:
    assert "NUL" in assert_error(client.get(url, headers=ws.admin), 422, "validation_error")


def test_a_nul_in_a_form_is_refused(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    response = client.post(
        "/login",
        content=b"email=a%00%40b.co&password=x&csrf_token=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 422, "validation_error")
