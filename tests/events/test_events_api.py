"""HTTP: POST /api/v1/events, POST /api/v1/events/batch, GET /api/v1/profiles/{id}/events."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fixtures.factories import WorkspaceHandle, make_event, make_profile, shopify_order
from tests.fixtures.http import assert_error, collect_pages
from veil import guards
from veil.kit.time import rfc3339, utcnow
from veil.models import Event, Profile
from veil.runtime import Runtime


def _count(runtime: Runtime, model: type, workspace_id: str) -> int:
    with runtime.sessionmaker() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
            )
            or 0
        )


def test_one_event_resolves_its_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    order = shopify_order(email="ada@example.com", phone="+442071838750", first="Ada", last="L")
    when = utcnow() - timedelta(hours=2)
    response = client.post(
        "/api/v1/events",
        json={
            "type": "Placed Order",
            "profile": {"email": "ADA@example.com "},
            "properties": order,
            "timestamp": rfc3339(when),
        },
        headers=ws.member,
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"id", "profile_id"}
    with runtime.sessionmaker() as session:
        event = session.get(Event, body["id"])
        assert event is not None and event.profile_id == body["profile_id"]
        assert event.properties == order
        assert event.source == "api"
        assert abs((event.timestamp - when).total_seconds()) < 0.001
        profile = session.get(Profile, body["profile_id"])
        assert profile is not None and profile.email == "ada@example.com"

    again = client.post(
        "/api/v1/events",
        json={"type": "Viewed Product", "profile": {"id": body["profile_id"]}},
        headers=ws.member,
    )
    assert again.status_code == 202
    assert again.json()["profile_id"] == body["profile_id"]
    by_phone = client.post(
        "/api/v1/events",
        json={"type": "Viewed Product", "profile": {"phone": "+1 415 555 0199"}},
        headers=ws.member,
    )
    assert by_phone.json()["profile_id"] != body["profile_id"]


def test_message_id_makes_a_retry_harmless(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    body = {"type": "Viewed Product", "profile": {"external_id": "c-9"}, "message_id": "m-1"}
    first = client.post("/api/v1/events", json=body, headers=ws.member).json()
    second = client.post("/api/v1/events", json=body, headers=ws.member).json()
    assert first == second
    assert _count(runtime, Event, ws.id) == 1


def test_bad_events_are_422_and_store_nothing(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    future = rfc3339(utcnow() + timedelta(days=3))
    cases = [
        ({"profile": {"email": "a@b.co"}}, "type"),
        ({"type": "", "profile": {"email": "a@b.co"}}, "type"),
        ({"type": "X"}, "profile"),
        ({"type": "X", "profile": {}}, "profile"),
        ({"type": "X", "profile": {"id": "prf_1", "email": "a@b.co"}}, "profile"),
        ({"type": "X", "profile": {"email": "nope"}}, "email"),
        ({"type": "X", "profile": {"phone": "12"}}, "phone"),
        ({"type": "X", "profile": {"email": "a@b.co"}, "properties": "x"}, "properties"),
        ({"type": "X", "profile": {"email": "a@b.co"}, "timestamp": future}, "timestamp"),
        ({"type": "X", "profile": {"email": "a@b.co"}, "timestamp": "yesterday"}, "timestamp"),
        ({"type": "X", "profile": {"email": "a@b.co"}, "source": "shopify"}, "source"),
        ({"type": "X", "profile": {"email": "a@b.co"}, "properties": {"n": 2**70}}, "range"),
    ]
    for body, mentioned in cases:
        response = client.post("/api/v1/events", json=body, headers=ws.member)
        message = assert_error(response, 422, "validation_error")
        assert mentioned in message, (body, message)
    assert _count(runtime, Event, ws.id) == 0
    assert _count(runtime, Profile, ws.id) == 0


def test_event_for_a_missing_deleted_or_foreign_profile_id(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        theirs = make_profile(session, workspace_id=other_ws.id).id
        gone = make_profile(session, workspace_id=ws.id, email=None, first_name=None)
        gone.status, gone.deleted_at = "deleted", utcnow()
        gone_id = gone.id
    for pid, status, code in (
        (theirs, 404, "not_found"),
        ("prf_missing", 404, "not_found"),
        (gone_id, 409, "profile_deleted"),
    ):
        response = client.post(
            "/api/v1/events", json={"type": "X", "profile": {"id": pid}}, headers=ws.member
        )
        assert_error(response, status, code)
    assert _count(runtime, Event, other_ws.id) == 0


def test_batch_is_all_or_nothing(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    events = [
        {"type": "Viewed Product", "profile": {"email": f"p{i % 3}@example.com"}} for i in range(6)
    ]
    response = client.post("/api/v1/events/batch", json={"events": events}, headers=ws.member)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 6, "suppressed": 0}
    assert _count(runtime, Event, ws.id) == 6
    assert _count(runtime, Profile, ws.id) == 3

    bad_phone = [*events[:4], {"type": "X", "profile": {"phone": "not a phone"}}, events[0]]
    response = client.post("/api/v1/events/batch", json={"events": bad_phone}, headers=ws.member)
    assert "events[4]" in assert_error(response, 422, "validation_error")

    bad_shape = [*events[:2], {"profile": {"email": "x@example.com"}}]
    response = client.post("/api/v1/events/batch", json={"events": bad_shape}, headers=ws.member)
    assert "events.2.type" in assert_error(response, 422, "validation_error")

    future = rfc3339(utcnow() + timedelta(days=30))
    bad_time = [events[0], {**events[1], "timestamp": future}]
    response = client.post("/api/v1/events/batch", json={"events": bad_time}, headers=ws.member)
    assert "events[1]" in assert_error(response, 422, "validation_error")

    with runtime.sessionmaker.begin() as session:
        gone = make_profile(session, workspace_id=ws.id, email=None, first_name=None)
        gone.status = "deleted"
        gone_id = gone.id
    new_person = {"type": "X", "profile": {"email": "brand-new@example.com"}}
    deleted = [new_person, {"type": "X", "profile": {"id": gone_id}}]
    response = client.post("/api/v1/events/batch", json={"events": deleted}, headers=ws.member)
    assert "events[1]" in assert_error(response, 409, "profile_deleted")

    assert _count(runtime, Event, ws.id) == 6  # none of the rejected batches left anything
    assert _count(runtime, Profile, ws.id) == 4  # the 3 from the first batch + the tombstone


def test_batch_size_limits(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    assert_error(
        client.post("/api/v1/events/batch", json={"events": []}, headers=ws.member),
        422,
        "validation_error",
    )
    one = {"type": "Viewed Product", "profile": {"external_id": "c-1"}, "properties": {"i": 1}}
    too_many = client.post("/api/v1/events/batch", json={"events": [one] * 5001}, headers=ws.member)
    assert "5000" in assert_error(too_many, 422, "validation_error")
    full = client.post("/api/v1/events/batch", json={"events": [one] * 5000}, headers=ws.member)
    assert full.status_code == 202 and full.json() == {"accepted": 5000, "suppressed": 0}
    assert _count(runtime, Event, ws.id) == 5000


def test_profile_events_newest_first_with_cursor_pages(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        other = make_profile(session, workspace_id=ws.id, email="o@example.com")
        make_event(session, profile=other, type="Viewed Product")
        same_time = now - timedelta(hours=1)
        expected = []
        for i in range(9):
            ts = same_time if i in (3, 4, 5) else now - timedelta(days=i)
            kind = "Placed Order" if i % 2 else "Viewed Product"
            event = make_event(
                session, profile=profile, type=kind, timestamp=ts, properties={"i": i}
            )
            expected.append(event)
        pid = profile.id
        expected.sort(key=lambda e: (e.timestamp, e.id), reverse=True)
        expected_ids = [e.id for e in expected]
    url = f"/api/v1/profiles/{pid}/events"
    items = collect_pages(client, url, ws.member, limit=2)
    assert [e["id"] for e in items] == expected_ids
    first = items[0]
    assert set(first) == {
        "id",
        "profile_id",
        "type",
        "timestamp",
        "received_at",
        "source",
        "properties",
        "campaign_id",
        "recipient_id",
    }
    assert first["timestamp"].endswith("Z")

    orders = client.get(url, params={"type": "Placed Order"}, headers=ws.member).json()
    assert orders["data"] and all(e["type"] == "Placed Order" for e in orders["data"])
    assert_error(
        client.get(url, params={"cursor": "xyz"}, headers=ws.member), 422, "validation_error"
    )


def test_profile_events_of_another_workspace_are_not_found(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        theirs = make_profile(session, workspace_id=other_ws.id)
        make_event(session, profile=theirs)
        theirs_id = theirs.id
    response = client.get(f"/api/v1/profiles/{theirs_id}/events", headers=ws.member)
    assert_error(response, 404, "not_found")
    response = client.get("/api/v1/profiles/prf_none/events", headers=ws.member)
    assert_error(response, 404, "not_found")
    assert client.get(f"/api/v1/profiles/{theirs_id}/events", headers=other_ws.member).json()[
        "data"
    ]


def test_batch_resolves_known_profiles_and_records_each_message_once(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Batches resolve known people in bulk: by id, email, phone or external id they land on
    the existing profile (which is touched), new identifiers create a profile, and a
    message_id repeated in the batch or sent again later is recorded once."""
    with runtime.sessionmaker.begin() as session:
        known = make_profile(
            session, workspace_id=ws.id, email="known@example.com", phone="+14155550123"
        )
        known.external_id = "c-1"
        gone = make_profile(session, workspace_id=ws.id, email="gone@example.com")
        gone.status = "deleted"
        known_id, gone_id, touched_before = known.id, gone.id, known.updated_at
    refs = [
        {"email": " KNOWN@example.com"},
        {"phone": "(415) 555-0123"},
        {"external_id": "c-1"},
        {"id": known_id},
        {"email": "new@example.com"},
        {"email": "new@example.com"},
    ]
    events = [{"type": "Viewed Product", "profile": ref} for ref in refs]
    events += [
        {"type": "Placed Order", "profile": {"email": "known@example.com"}, "message_id": "m-1"},
        {"type": "Placed Order", "profile": {"email": "known@example.com"}, "message_id": "m-1"},
    ]
    first = client.post("/api/v1/events/batch", json={"events": events}, headers=ws.member)
    assert first.status_code == 202, first.text
    assert first.json() == {"accepted": len(events), "suppressed": 0}
    retry = client.post("/api/v1/events/batch", json={"events": events[-1:]}, headers=ws.member)
    assert retry.status_code == 202
    with runtime.sessionmaker() as session:
        rows = session.execute(
            select(Event.profile_id, Event.message_id).where(Event.workspace_id == ws.id)
        ).all()
        profiles = session.scalars(select(Profile).where(Profile.workspace_id == ws.id)).all()
        touched = session.get_one(Profile, known_id).updated_at
    assert len(rows) == 7  # 6 views + the order once
    assert sum(1 for _p, m in rows if m == "m-1") == 1
    new = [p for p in profiles if p.email == "new@example.com"]
    assert len(new) == 1 and len(profiles) == 3
    assert sorted(p for p, _m in rows) == sorted([known_id] * 5 + [new[0].id] * 2)
    assert touched > touched_before

    deleted = client.post(
        "/api/v1/events/batch",
        json={"events": [events[0], {"type": "Viewed Product", "profile": {"id": gone_id}}]},
        headers=ws.member,
    )
    assert_error(deleted, 409, "profile_deleted")
    assert "events[1]" in deleted.json()["error"]["message"]


def test_the_batch_body_is_parsed_once_unless_a_big_integer_needs_the_stdlib(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard's orjson parse is reused where it equals the stdlib's; a run of 19 digits
    (a possible integer beyond 64 bits, which orjson would turn into a float) is parsed again."""
    stdlib_parse = guards.parse_with_stdlib
    calls: list[int] = []

    def counting_parse(body: bytes) -> Any:
        calls.append(1)
        return stdlib_parse(body)

    monkeypatch.setattr(guards, "parse_with_stdlib", counting_parse)
    plain = {"type": "Viewed", "profile": {"email": "a@example.com"}, "properties": {"n": 12}}
    ok = client.post("/api/v1/events/batch", json={"events": [plain]}, headers=ws.member)
    assert ok.status_code == 202, ok.text
    assert calls == []
    big = {**plain, "properties": {"n": 2**64}}
    refused = client.post("/api/v1/events/batch", json={"events": [big]}, headers=ws.member)
    assert "out of range" in assert_error(refused, 422, "validation_error")
    assert calls == [1]
    # 19 digits inside a string also takes the careful way, and stores the same thing.
    text = {**plain, "properties": {"s": "1234567890123456789", "f": 0.1, "u": "Zoë"}}
    stored = client.post("/api/v1/events/batch", json={"events": [text]}, headers=ws.member)
    assert stored.status_code == 202, stored.text
    assert calls == [1, 1]
    with runtime.sessionmaker() as session:
        properties = list(
            session.scalars(select(Event.properties).where(Event.workspace_id == ws.id))
        )
    assert len(properties) == 2
    assert {"n": 12} in properties and text["properties"] in properties
