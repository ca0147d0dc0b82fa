"""Settings → Compliance → Overview: the numbers, the charts and their table fallbacks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.integrations.support import (
    deliver,
    fixture,
    local_path,
    set_shopify_secret,
    subscriber_with_message,
)
from veil.compliance.overview import compliance_overview, percentile
from veil.compliance.suppressions.repository import DropCountRepository
from veil.db import make_engine
from veil.kit.ids import new_id
from veil.models import DeletionRequest, ExportRequest, SuppressedDropCount

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def _export(session, profile, *, requested: datetime, ready_after: timedelta | None, status: str):
    session.add(
        ExportRequest(
            id=new_id("exp"),
            workspace_id=profile.workspace_id,
            profile_id=profile.id,
            status=status,
            requested_at=requested,
            requested_by="dpo@acme.test",
            due_at=requested + timedelta(days=30),
            expires_at=requested + timedelta(days=7),
            ready_at=requested + ready_after if ready_after else None,
        )
    )


def _deletion(session, profile, *, requested: datetime, done_after: timedelta | None, status):
    session.add(
        DeletionRequest(
            id=new_id("del"),
            workspace_id=profile.workspace_id,
            profile_id=profile.id,
            status=status,
            requested_at=requested,
            requested_by="dpo@acme.test",
            due_at=requested + timedelta(days=30),
            completed_at=requested + done_after if done_after else None,
        )
    )


def test_percentiles_are_nearest_rank() -> None:
    spans = [timedelta(minutes=m) for m in range(1, 21)]
    assert percentile(spans, 0.5) == timedelta(minutes=10)
    assert percentile(spans, 0.95) == timedelta(minutes=19)
    assert percentile([], 0.5) is None


def test_overview_counts_weeks_times_deadlines_and_failures(runtime, ws, other_ws):
    with runtime.sessionmaker.begin() as session:
        people = [
            make_profile(session, workspace_id=ws.id, email=f"p{i}@example.com") for i in range(6)
        ]
        stranger = make_profile(session, workspace_id=other_ws.id)
        for minutes, person in zip((2, 4, 6, 60), people, strict=False):
            _export(
                session,
                person,
                requested=NOW - timedelta(days=3),
                ready_after=timedelta(minutes=minutes),
                status="expired",
            )
        # Open: one 25 days old (5 days left), one 40 days old (overdue), one failed.
        _export(
            session,
            people[4],
            requested=NOW - timedelta(days=25),
            ready_after=None,
            status="pending",
        )
        _export(
            session,
            people[5],
            requested=NOW - timedelta(days=40),
            ready_after=None,
            status="failed",
        )
        _deletion(
            session,
            people[0],
            requested=NOW - timedelta(days=10),
            done_after=timedelta(hours=2),
            status="completed",
        )
        _deletion(
            session,
            people[1],
            requested=NOW - timedelta(days=1),
            done_after=None,
            status="processing",
        )
        _export(
            session, stranger, requested=NOW - timedelta(days=1), ready_after=None, status="failed"
        )
    with runtime.sessionmaker() as session:
        overview = compliance_overview(session, workspace_id=ws.id, zone=UTC, now=NOW)
    assert sum(w.exports for w in overview.weeks) == 6  # not the other workspace's
    assert sum(w.deletions for w in overview.weeks) == 2
    assert overview.weeks[-1].start.weekday() == 0 and len(overview.weeks) == 12
    exports, deletions = overview.times
    assert (exports.completed, exports.median, exports.p95) == (
        4,
        timedelta(minutes=4),
        timedelta(minutes=60),
    )
    assert deletions.median == timedelta(hours=2)
    due = {b.label: (b.exports, b.deletions) for b in overview.due}
    assert due["Overdue"] == (1, 0)
    assert due["0–7 days"] == (1, 0)
    assert due["22+ days"] == (0, 1)
    assert (overview.open_requests, overview.overdue) == (3, 1)
    assert (overview.failed_exports, overview.failed_deletions) == (1, 0)


def test_overview_page_draws_charts_with_table_fallbacks(runtime, ws, admin, member):
    with runtime.sessionmaker.begin() as session:
        person = make_profile(session, workspace_id=ws.id)
        _export(
            session,
            person,
            requested=datetime.now(UTC) - timedelta(days=2),
            ready_after=timedelta(minutes=3),
            status="expired",
        )
    page = admin.client.get("/settings/compliance/overview")
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart"') == 3
    assert re.search(r'<svg class="chart"[^>]*aria-hidden="true"', html)
    assert "<caption>Export and deletion requests by week" in html
    assert "<caption>Open requests by days left to their deadline</caption>" in html
    assert "<caption>Suppressed drops by week" in html
    assert 'class="bar-exports"' in html
    assert "3 min" in html  # the median time to complete
    assert 'aria-current="page"><svg' in html.split('aria-label="Compliance"')[1]
    assert member.client.get("/settings/compliance/overview").status_code == 403


# -- suppressed drops (SPEC §9) ----------------------------------------------------------------

GONE = {"email": "gone@example.com", "phone": "+14155550100", "external_id": "crm-7731"}
SHOPIFY_SECRET = "shpss_dashboard_0123456789abcdef"


def _suppress_a_reader(client: TestClient, ws: WorkspaceHandle) -> dict[str, Any]:
    """A subscriber who got a campaign, then was erased with suppression: their recipient
    record (open and click URLs) stays behind."""
    person, recipient = subscriber_with_message(client, ws, GONE)
    deleted = client.post(
        f"/api/v1/profiles/{person['id']}/delete",
        json={"confirm": True, "suppress": True},
        headers=ws.admin,
    )
    assert deleted.status_code == 202, deleted.text
    return dict(recipient)


def _send_their_data_everywhere(client: TestClient, ws: WorkspaceHandle) -> None:
    """8 drops through every entry point: API 3, Segment 2, Shopify 1, opens and clicks 2."""
    recipient = _suppress_a_reader(client, ws)
    refused = client.post("/api/v1/profiles", json={"email": GONE["email"]}, headers=ws.admin)
    assert refused.status_code == 409
    batch = client.post(
        "/api/v1/events/batch",
        json={
            "events": [
                {"type": "Viewed Product", "profile": {"phone": GONE["phone"]}},
                {"type": "Viewed Product", "profile": {"email": "stays@example.com"}},
                {"type": "Placed Order", "profile": {"external_id": GONE["external_id"]}},
            ]
        },
        headers=ws.member,
    )
    assert batch.json() == {"accepted": 1, "suppressed": 2}
    auth = (ws.write_key, "")
    track = {"userId": GONE["external_id"], "event": "Viewed Product"}
    assert client.post("/v1/track", json=track, auth=auth).status_code == 200
    segment_batch = {
        "batch": [{"type": "identify", "anonymousId": "a-1", "traits": {"email": GONE["email"]}}]
    }
    assert client.post("/v1/batch", json=segment_batch, auth=auth).status_code == 200
    set_shopify_secret(client, ws, SHOPIFY_SECRET)
    order = fixture("orders_create")
    order["email"] = order["customer"]["email"] = GONE["email"]
    shopify = deliver(client, ws, "orders/create", order, secret=SHOPIFY_SECRET)
    assert shopify.json()["status"] == "suppressed"
    assert client.get(local_path(recipient["open_url"])).status_code == 200
    (tracked,) = recipient["click_urls"].values()
    assert client.get(local_path(tracked), follow_redirects=False).status_code == 302


def test_drops_from_every_entry_point_reach_the_dashboard_and_stay(
    client, runtime, ws, other_ws, admin, database_url
) -> None:  # type: ignore[no-untyped-def]
    _send_their_data_everywhere(client, ws)
    # Another workspace's drop is its own.
    _suppress_a_reader(client, other_ws)
    assert client.post("/api/v1/profiles", json=GONE, headers=other_ws.admin).status_code == 409

    with runtime.sessionmaker() as session:
        overview = compliance_overview(session, workspace_id=ws.id, zone=UTC)
    assert overview.dropped == 8 and overview.drop_weeks[-1].dropped == 8
    assert sum(w.dropped for w in overview.drop_weeks[:-1]) == 0
    assert {s.source: s.dropped for s in overview.drop_sources} == {
        "api": 3,
        "segment": 2,
        "shopify": 1,
        "tracking": 2,
    }

    html = admin.client.get("/settings/compliance/overview").text
    assert "<dt>Suppressed drops, 12 weeks</dt><dd>8</dd>" in html
    assert "Segment 2, Shopify 1, Opens and clicks 2, API 3." in html
    drops_table = html.split("<caption>Suppressed drops by week")[1].split("</table>")[0]
    assert drops_table.count("<tr>") == 13  # the header and 12 weeks
    assert drops_table.strip().removesuffix("</tbody>").endswith("<td>8</td></tr>")
    drawn = re.findall(r'<rect class="bar-drops"[^>]*height="([\d.]+)"', html)
    assert len(drawn) == 12 and float(drawn[-1]) > 0 and float(drawn[0]) == 0

    # In the database, not in this process: a fresh engine reads the same numbers, and
    # lifting the suppression keeps them (they count what was kept out, not who).
    (entry,) = client.get("/api/v1/compliance/suppressions", headers=ws.admin).json()["data"]
    assert entry["dropped"] == 8
    lifted = client.delete(f"/api/v1/compliance/suppressions/{entry['id']}", headers=ws.admin)
    assert lifted.status_code == 204
    fresh = make_engine(database_url)
    try:
        with Session(fresh) as session:
            again = compliance_overview(session, workspace_id=ws.id, zone=UTC)
            rows = session.execute(
                select(SuppressedDropCount.source, SuppressedDropCount.dropped).where(
                    SuppressedDropCount.workspace_id == ws.id
                )
            ).all()
            dump = repr(session.execute(text("SELECT * FROM suppressed_drop_counts")).all())
    finally:
        fresh.dispose()
    assert again.dropped == 8
    # One row per source within the hour (an upsert), even for drops counted one by one.
    assert sorted(rows) == [("api", 3), ("segment", 2), ("shopify", 1), ("tracking", 2)]
    for needle in ("gone@", "example.com", "4155550100", "crm-7731", "7731"):
        assert needle not in dump.lower()


def test_drops_are_charted_by_week_in_the_workspace_zone(runtime, ws, other_ws) -> None:  # type: ignore[no-untyped-def]
    berlin = ZoneInfo("Europe/Berlin")
    # Sunday 23:30 UTC is Monday 00:30 in Berlin: the next week there.
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    with runtime.sessionmaker.begin() as session:
        counters = DropCountRepository(session, ws.id)
        counters.add("segment", 2, sunday_night)
        counters.add("segment", 3, sunday_night + timedelta(minutes=20))  # same hour: summed
        counters.add("api", 1, NOW - timedelta(weeks=13))  # before the charted weeks
        DropCountRepository(session, other_ws.id).add("segment", 7, sunday_night)
    with runtime.sessionmaker() as session:
        local = compliance_overview(session, workspace_id=ws.id, zone=berlin, now=NOW)
        utc = compliance_overview(session, workspace_id=ws.id, zone=UTC, now=NOW)
    weeks = {w.start.isoformat(): w.dropped for w in local.drop_weeks if w.dropped}
    assert weeks == {"2026-11-30": 5}
    assert {w.start.isoformat(): w.dropped for w in utc.drop_weeks if w.dropped} == {
        "2026-11-23": 5
    }
    assert local.dropped == 5
    assert [(s.source, s.dropped) for s in local.drop_sources if s.dropped] == [("segment", 5)]
