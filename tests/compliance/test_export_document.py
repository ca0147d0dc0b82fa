"""The export document (SPEC §4.4): its shape (docs/export.schema.json), content and order."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from sqlalchemy import insert

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
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.exports import writer
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
        "format", "version", "generated_at", "workspace", "request", "profile", "consents",
        "events", "messages",
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
    assert list(Draft202012Validator(SCHEMA).iter_errors(doc)) == []


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
