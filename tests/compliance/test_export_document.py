"""The export document (SPEC §4.4): its shape (docs/export.schema.json), content and order."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from sqlalchemy import Text, cast, insert, select, text
from sqlalchemy.dialects import sqlite

from tests.compliance.export_support import (
    EMAIL,
    FIRST,
    LAST,
    PHONE,
    document,
    download,
    export_row,
    make_subject,
    request_export,
)
from tests.conftest import run_jobs
from tests.fixtures.factories import (
    WorkspaceHandle,
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
)
from veil.compliance.exports import writer
from veil.compliance.exports.writer import _EVENTS
from veil.db import read_only_session
from veil.kit.ids import new_id
from veil.kit.time import rfc3339, utcnow
from veil.models import Event
from veil.runtime import Runtime

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "export.schema.json").read_text()
)


def _export(client: TestClient, runtime: Runtime, ws: WorkspaceHandle, profile_id: str) -> Any:
    response = request_export(client, ws, profile_id)
    assert response.status_code == 202, response.text
    run_jobs(runtime)
    return document(download(client, ws, response.json()["id"]))


def test_the_schema_itself_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)


def test_document_matches_the_schema_and_holds_everything(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws, external_id="cust-1815")
    response = request_export(client, ws, subject.profile_id)
    export_id = response.json()["id"]
    run_jobs(runtime)
    doc = document(download(client, ws, export_id))

    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(doc), key=str)
    assert errors == []
    assert list(doc) == [
        "format", "version", "generated_at", "workspace", "request", "profile",
        "previous_identifiers", "consents", "events", "messages",
    ]  # fmt: skip
    assert (doc["format"], doc["version"]) == ("veil.profile-export", 1)
    assert doc["workspace"] == {"id": ws.id, "name": "Acme Store"}
    row = export_row(runtime, export_id)
    assert doc["request"] == {
        "id": export_id,
        "requested_at": rfc3339(row.requested_at),
        "requested_by": "API key initial admin",
    }
    profile = doc["profile"]
    assert profile["id"] == subject.profile_id
    assert (profile["email"], profile["phone"], profile["external_id"]) == (
        EMAIL,
        PHONE,
        "cust-1815",
    )
    assert (profile["first_name"], profile["last_name"]) == (FIRST, LAST)
    assert profile["properties"] == {"city": "London", "vip": True}
    assert [(c["channel"], c["state"]) for c in doc["consents"]] == [
        ("email", "subscribed"),
        ("sms", "unsubscribed"),
    ]
    # Every event, oldest first.
    assert [e["id"] for e in doc["events"]] == subject.event_ids
    timestamps = [e["timestamp"] for e in doc["events"]]
    assert timestamps == sorted(timestamps)
    order = doc["events"][0]
    assert order["type"] == "Placed Order" and order["source"] == "api"
    assert order["properties"]["items"] == [{"sku": "SKU-1", "qty": 1}]
    assert order["campaign_id"] is None
    click = doc["events"][-1]
    assert click["type"] == "Clicked Email" and click["campaign_id"] == subject.campaign_id

    [message] = doc["messages"]
    assert message["id"] == subject.recipient_id
    assert message["campaign_id"] == subject.campaign_id
    assert (message["campaign_name"], message["kind"], message["channel"]) == (
        "Winter Sale",
        "campaign",
        "email",
    )
    assert (message["email"], message["phone"], message["status"]) == (EMAIL, None, "sent")
    assert [(a["type"], a["url"]) for a in message["activity"]] == [
        ("Opened Email", None),
        ("Clicked Email", "https://shop.example.com/sale"),
    ]
    assert export_row(runtime, export_id).event_count == len(subject.event_ids)


def test_events_are_oldest_first_across_chunks_and_equal_timestamps(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """More events than one keyset chunk, many sharing a timestamp across chunk borders."""
    total = writer.EVENT_CHUNK * 2 + 500
    base = utcnow().replace(microsecond=0) - timedelta(days=1)
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id, email="many@example.com")
        profile_id = profile.id
        rows = [
            {
                "id": new_id("evt"),
                "workspace_id": ws.id,
                "profile_id": profile_id,
                "type": "Viewed Product",
                # Only three distinct times, inserted in reverse order.
                "timestamp": base + timedelta(seconds=(total - index) % 3),
                "received_at": base,
                "properties": {"n": index},
                "source": "api",
            }
            for index in range(total)
        ]
        session.execute(insert(Event), rows)
    doc = _export(client, runtime, ws, profile_id)
    got = [(e["timestamp"], e["id"]) for e in doc["events"]]
    expected = sorted((rfc3339(r["timestamp"]), r["id"]) for r in rows)
    assert got == expected
    assert len({e["id"] for e in doc["events"]}) == total


def test_properties_keep_nesting_unicode_and_numbers(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    nested = {
        "note": "Grüße — 東京 🚚",
        "lines": [{"sku": "A", "price": 12.5, "qty": 2, "tags": ["x", None, True]}],
        "big": 2**53 + 1,
    }
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session, workspace_id=ws.id, email="unicode@example.com", properties=nested
        )
        session.add(
            Event(
                id=new_id("evt"),
                workspace_id=ws.id,
                profile_id=profile.id,
                type="Placed Order",
                timestamp=utcnow(),
                properties=nested,
                source="shopify",
            )
        )
        profile_id = profile.id
    doc = _export(client, runtime, ws, profile_id)
    assert doc["profile"]["properties"] == nested
    assert doc["events"][0]["properties"] == nested
    assert doc["events"][0]["source"] == "shopify"


def test_a_contact_without_history_exports_empty_lists(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="new@example.com").id
    doc = _export(client, runtime, ws, profile_id)
    assert (doc["consents"], doc["events"], doc["messages"]) == ([], [], [])
    assert doc["previous_identifiers"] == []
    assert list(Draft202012Validator(SCHEMA).iter_errors(doc)) == []


def test_previous_identifiers_are_listed(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    created = client.post(
        "/api/v1/profiles",
        json={"email": "ada.byron@example.com", "phone": "+14155550132", "external_id": "c-1"},
        headers=ws.member,
    ).json()
    profile_id = created["id"]
    for body in ({"email": "ada@example.com"}, {"phone": "+14155550199", "external_id": "c-2"}):
        response = client.patch(f"/api/v1/profiles/{profile_id}", json=body, headers=ws.member)
        assert response.status_code == 200, response.text
    doc = _export(client, runtime, ws, profile_id)
    assert list(Draft202012Validator(SCHEMA).iter_errors(doc)) == []
    assert (doc["profile"]["email"], doc["profile"]["phone"]) == ("ada@example.com", "+14155550199")
    previous = doc["previous_identifiers"]
    assert sorted((p["type"], p["value"]) for p in previous) == [
        ("email", "ada.byron@example.com"),
        ("external_id", "c-1"),
        ("phone", "+14155550132"),
    ]
    assert previous[-1]["type"] == "email"  # replaced first, listed last
    assert all(created["created_at"] < p["until"] <= doc["generated_at"] for p in previous)


def test_only_this_profiles_data_is_in_the_file(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    neighbour = make_subject(runtime, ws, email="neighbour@example.com", phone=None)
    stranger = make_subject(runtime, other_ws)
    response = request_export(client, ws, subject.profile_id)
    run_jobs(runtime)
    raw = download(client, ws, response.json()["id"]).content
    for foreign in (neighbour, stranger):
        assert foreign.profile_id.encode() not in raw
        for event_id in foreign.event_ids:
            assert event_id.encode() not in raw
        assert foreign.recipient_id.encode() not in raw
    assert b"neighbour@example.com" not in raw


# Input timestamps in several zones and precisions; the document has each in UTC, RFC 3339.
_INPUT_TIMES = [
    "2025-03-30T01:59:59.999999+01:00",
    "2025-03-30T00:59:59.999999Z",  # the same instant as the one above, written in UTC
    "2025-06-01T23:30:00-07:00",
    "2025-06-02T06:30:00.000001Z",
    "2025-12-31T23:59:59.5+05:45",
    "2024-02-29T12:00:00+00:00",
    "2025-01-01T00:00:00.120000-03:30",
    "2025-07-15T10:11:12.654321+14:00",
]


def _zoned_events(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> tuple[str, bytes]:
    """A profile whose events came in with _INPUT_TIMES and non-ASCII text, and the bytes
    its events array must have: each event as orjson writes {id, type, timestamp (rfc3339 of
    the input instant, in UTC), source, properties (the stored JSON text), campaign_id},
    ordered by (instant, id)."""
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="zones@example.com").id
    instants: dict[str, datetime] = {}
    for index, at in enumerate(_INPUT_TIMES):
        response = client.post(
            "/api/v1/events",
            headers=ws.admin,
            json={
                "type": "Commande passée ✓" if index % 2 else "Viewed Product",
                "profile": {"id": profile_id},
                "timestamp": at,
                "properties": {
                    "note": f'Grüße — 東京 🚚 "quoted" \\ {index}',
                    "nested": {"ü": [1.5, None, True, "\u2028"]},
                },
            },
        )
        assert response.status_code == 202, response.text
        instants[response.json()["id"]] = datetime.fromisoformat(at).astimezone(UTC)
    with runtime.sessionmaker() as session:
        stored = session.execute(
            select(Event.id, Event.type, Event.source, cast(Event.properties, Text)).where(
                Event.profile_id == profile_id
            )
        ).all()
    assert {row[0] for row in stored} == set(instants)
    expected = b",".join(
        orjson.dumps(
            {
                "id": event_id,
                "type": type_,
                "timestamp": rfc3339(instants[event_id]),
                "source": source,
                "properties": orjson.Fragment(properties),
                "campaign_id": None,
            }
        )
        for event_id, type_, source, properties in sorted(
            stored, key=lambda row: (instants[row[0]], row[0])
        )
    )
    return profile_id, b',"events":[' + expected + b'],"messages":['


def test_event_bytes_are_exactly_the_stored_values_in_the_spec_format(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """The events array byte for byte, for non-ASCII text, microseconds and inputs in other
    time zones."""
    profile_id, expected = _zoned_events(client, runtime, ws)
    response = request_export(client, ws, profile_id)
    run_jobs(runtime)
    raw = download(client, ws, response.json()["id"]).content
    assert expected in raw
    events = json.loads(raw)["events"]
    assert "Grüße — 東京 🚚" in events[0]["properties"]["note"]
    assert [e["timestamp"] for e in events][4:6] == [
        "2025-06-02T06:30:00Z",  # 23:30-07:00, before the microsecond after it
        "2025-06-02T06:30:00.000001Z",
    ]


def test_postgresql_session_time_zone_does_not_change_the_document(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, is_postgres: bool
) -> None:
    """psycopg returns timestamps in the connection's zone: the document still says UTC."""
    if not is_postgres:
        pytest.skip("PostgreSQL session time zones")
    profile_id, expected = _zoned_events(client, runtime, ws)
    job = writer.ExportJob(
        export_id="exp_zone",
        workspace_id=ws.id,
        profile_id=profile_id,
        requested_at=utcnow(),
        requested_by="test",
        file_key="unused",
    )
    with read_only_session(runtime.sessionmaker) as session:
        session.execute(text("SET LOCAL TIME ZONE 'Asia/Kathmandu'"))
        fragments = writer.document_fragments(
            session, job, generated_at=utcnow(), stats=writer.BuildStats(), heartbeat=lambda: None
        )
        raw = b"".join(fragments)
    assert expected in raw


def test_sqlite_timestamp_text_becomes_rfc3339_by_slicing_or_by_parsing() -> None:
    """SQLite keeps timestamps as text; the export turns that text into rfc3339()'s output
    without building datetimes, and parses anything not in the usual format."""
    dialect = sqlite.dialect()
    write = _EVENTS.c.timestamp.type._cached_bind_processor(dialect)
    to_text = writer._SqliteTimestamp(dialect)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-11))]
    for micro in (0, 1, 10, 120000, 999999):
        for zone in zones:
            at = datetime(2025, 12, 31, 23, 59, 58, micro, tzinfo=zone)
            assert to_text(write(at)) == rfc3339(at)
    # Other text SQLite may hold (CURRENT_TIMESTAMP, hand-written rows): parsed, same output.
    assert to_text("2025-01-02 03:04:05") == "2025-01-02T03:04:05Z"
    assert to_text("2025-01-02 03:04:05.5") == "2025-01-02T03:04:05.500000Z"
    assert to_text("2025-01-02 03:04:05.000000") == "2025-01-02T03:04:05Z"


def test_postgresql_timestamps_in_another_session_zone_come_out_in_utc() -> None:
    """psycopg hands back datetimes in the connection's time zone; orjson then writes UTC."""
    at = datetime(2025, 6, 1, 23, 30, 0, 7, tzinfo=timezone(timedelta(hours=-7)))
    written = orjson.dumps(writer._postgres_timestamp(at), option=orjson.OPT_UTC_Z)
    assert written == b'"2025-06-02T06:30:00.000007Z"'
    assert written == orjson.dumps(rfc3339(at))


def test_message_activity_is_this_messages_events_oldest_first(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Each message lists its own opens and clicks (this profile's), oldest first, with the
    url when it is a string; a long history around them changes nothing."""
    base = datetime(2025, 5, 1, 8, 0, 0, tzinfo=UTC)
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id, email="reader@example.com")
        other = make_profile(session, workspace_id=ws.id, email="forwarded@example.com")
        campaign = make_campaign(session, workspace_id=ws.id, name="Spring")
        first = make_recipient(session, campaign=campaign, profile=profile, sent_at=base)
        second = make_recipient(
            session, campaign=campaign, profile=profile, sent_at=base + timedelta(hours=1)
        )

        def track(who: Any, recipient: Any, minutes: int, micro: int, props: Any) -> str:
            return make_event(
                session,
                profile=who,
                type="Clicked Email" if props else "Opened Email",
                source="tracking",
                timestamp=base + timedelta(minutes=minutes, microseconds=micro),
                properties=props,
                campaign_id=campaign.id,
                recipient_id=recipient.id,
            ).id

        for minute in range(300):  # history that is not activity
            make_event(session, profile=profile, timestamp=base + timedelta(minutes=minute))
        late_click = track(profile, first, 90, 0, {"url": "https://shop.example.com/ü"})
        open_first = track(profile, first, 5, 250, {})
        odd_url = track(profile, second, 70, 999999, {"url": 42})
        track(other, first, 6, 0, {"url": "https://shop.example.com/forwarded"})
        profile_id = profile.id
    doc = _export(client, runtime, ws, profile_id)
    by_id = {m["id"]: m["activity"] for m in doc["messages"]}
    assert [m["id"] for m in doc["messages"]] == [first.id, second.id]
    assert by_id[first.id] == [
        {
            "id": open_first,
            "type": "Opened Email",
            "timestamp": "2025-05-01T08:05:00.000250Z",
            "url": None,
        },
        {
            "id": late_click,
            "type": "Clicked Email",
            "timestamp": "2025-05-01T09:30:00Z",
            "url": "https://shop.example.com/ü",
        },
    ]
    assert by_id[second.id] == [
        {
            "id": odd_url,
            "type": "Clicked Email",
            "timestamp": "2025-05-01T09:10:00.999999Z",
            "url": None,
        }
    ]
