"""Retention (SPEC §9): workspace settings, the preview, and a sweep that deletes old events in
batches (leaving no bytes behind on SQLite) and erases inactive profiles through §5."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_event, make_profile
from tests.fixtures.http import assert_error
from tests.fixtures.raw_files import raw_bytes
from veil.compliance.retention import service as retention
from veil.kit.time import utcnow
from veil.models import Event
from veil.runtime import Runtime
from veil.worker.queue import sweep

MARKER = "old-order-note-7f3a9c"


def _settings(client: TestClient, ws: WorkspaceHandle, **body: object) -> httpx.Response:
    return client.patch("/api/v1/workspace/settings", json=body, headers=ws.admin)


def _preview(client: TestClient, ws: WorkspaceHandle) -> dict[str, int]:
    response = client.get("/api/v1/compliance/retention/preview", headers=ws.admin)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_retention_settings_are_durations_or_null(client: TestClient, ws: WorkspaceHandle) -> None:
    workspace = client.get("/api/v1/workspace", headers=ws.admin).json()
    assert (workspace["retention_events"], workspace["retention_inactive_profiles"]) == (None, None)
    response = _settings(client, ws, retention_events="400d", retention_inactive_profiles="12H")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["retention_events"], body["retention_inactive_profiles"]) == ("400d", "12h")
    # Another field alone leaves them as they are; null clears one.
    assert _settings(client, ws, name="Renamed").json()["retention_events"] == "400d"
    cleared = _settings(client, ws, retention_events=None).json()
    assert (cleared["retention_events"], cleared["retention_inactive_profiles"]) == (None, "12h")
    audit = client.get("/api/v1/audit", headers=ws.admin).json()["data"]
    assert any("retention_events" in str(e["details"]) for e in audit)


@pytest.mark.parametrize("value", ["0s", "-1d", "1y2", "30", "1.5d", "", "d", 3600, "36501d"])
def test_a_bad_retention_duration_is_refused_and_changes_nothing(
    client: TestClient, ws: WorkspaceHandle, value: object
) -> None:
    assert _settings(client, ws, retention_events="30d").status_code == 200
    for field in ("retention_events", "retention_inactive_profiles"):
        response = _settings(client, ws, **{field: value}, name="Should not stick")
        assert_error(response, 422, "validation_error")
    workspace = client.get("/api/v1/workspace", headers=ws.admin).json()
    assert workspace["retention_events"] == "30d"
    assert workspace["retention_inactive_profiles"] is None
    assert workspace["name"] != "Should not stick"


def test_the_sweep_deletes_old_events_in_batches_and_leaves_no_bytes(
    client: TestClient,
    ws: WorkspaceHandle,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    is_postgres: bool,
) -> None:
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        shopper = make_profile(session, workspace_id=ws.id, email="shopper@example.com")
        kept = make_profile(session, workspace_id=ws.id, email="kept@example.com")
        for days in (500, 450, 420, 401, 401):
            make_event(
                session,
                profile=shopper,
                properties={"note": MARKER},
                timestamp=now - timedelta(days=days),
            )
        make_event(session, profile=shopper, timestamp=now - timedelta(days=399))
        make_event(session, profile=kept, timestamp=now - timedelta(days=600))
        kept.restricted_at = now
        kept.restriction_reason = "legal claim"
    assert _preview(client, ws) == {"events": 0, "profiles": 0}  # no setting: nothing goes
    _settings(client, ws, retention_events="400d")
    assert _preview(client, ws) == {"events": 5, "profiles": 0}

    monkeypatch.setattr(retention, "EVENT_BATCH", 2)
    sweep(runtime)
    assert _preview(client, ws) == {"events": 0, "profiles": 0}
    with runtime.sessionmaker() as session:
        left = session.execute(select(Event.profile_id, func.count()).group_by(Event.profile_id))
        assert dict(left.all()) == {shopper.id: 1, kept.id: 1}  # the recent one, the restricted
    if not is_postgres:
        data = Path(runtime.settings.resolved_database_url.removeprefix("sqlite:///"))
        for path in (data, data.with_name(data.name + "-wal")):
            if path.exists():
                assert MARKER.encode() not in raw_bytes(path), path


def test_the_sweep_erases_inactive_profiles_through_privacy_requests(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    old = utcnow() - timedelta(days=30)
    with runtime.sessionmaker.begin() as session:
        idle = make_profile(session, workspace_id=ws.id, email="idle@example.com")
        buyer = make_profile(session, workspace_id=ws.id, email="buyer@example.com")
        restricted = make_profile(session, workspace_id=ws.id, email="restricted@example.com")
        make_profile(session, workspace_id=ws.id, email="fresh@example.com")
        make_event(session, profile=idle, timestamp=old - timedelta(days=1))
        make_event(session, profile=buyer, timestamp=utcnow() - timedelta(days=1))
        for profile in (idle, buyer, restricted):
            profile.updated_at = old
        restricted.restricted_at = old
    _settings(client, ws, retention_inactive_profiles="7d")
    assert _preview(client, ws) == {"events": 0, "profiles": 1}

    sweep(runtime)
    run_jobs(runtime)
    deletions = client.get("/api/v1/compliance/deletions", headers=ws.admin).json()["data"]
    assert [(d["profile_id"], d["requested_by"], d["source"]) for d in deletions] == [
        (idle.id, "retention policy", "retention")
    ]
    assert deletions[0]["status"] == "completed"
    # SPEC §9: the erasure goes through a privacy request with source `retention`.
    requests = client.get(
        "/api/v1/privacy-requests", params={"source": "retention"}, headers=ws.admin
    ).json()["data"]
    assert [(r["type"], r["requested_by"], r["profile_ids"]) for r in requests] == [
        ("erasure", "retention policy", [idle.id])
    ]
    assert requests[0]["deletion_ids"] == [deletions[0]["id"]]
    assert requests[0]["status"] == "completed" and requests[0]["verified"] is True
    remaining = client.get("/api/v1/profiles", headers=ws.admin).json()["data"]
    assert sorted(p["email"] for p in remaining) == [
        "buyer@example.com",
        "fresh@example.com",
        "restricted@example.com",
    ]
    # Retention never suppresses: the person may come back.
    back = client.post("/api/v1/profiles", json={"email": "idle@example.com"}, headers=ws.admin)
    assert back.status_code == 201
    assert _preview(client, ws) == {"events": 0, "profiles": 0}


def test_the_preview_is_for_admins_of_the_workspace(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = client.get("/api/v1/compliance/retention/preview", headers=ws.member)
    assert_error(response, 403, "forbidden")
