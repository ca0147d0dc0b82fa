"""Settings → Compliance → Overview: the numbers, the charts and their table fallbacks."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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
from veil.compliance.overview import Overview, WeekCount, compliance_overview, percentile
from veil.compliance.privacy_requests.deadlines import due_at, extended_due_at
from veil.compliance.privacy_requests.identities import Identity, seal_identities
from veil.compliance.suppressions.repository import DropCountRepository
from veil.db import make_engine
from veil.kit.ids import new_id
from veil.models import ExportRequest, PrivacyRequest, SuppressedDropCount
from veil.models.privacy_request import Regulation
from veil.web.dashboard import value_axis, weekly_chart

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


def test_percentiles_are_nearest_rank() -> None:
    spans = [timedelta(minutes=m) for m in range(1, 21)]
    assert percentile(spans, 0.5) == timedelta(minutes=10)
    assert percentile(spans, 0.95) == timedelta(minutes=19)
    assert percentile([], 0.5) is None


def _request(
    runtime,
    session,
    workspace_id: str,
    type: str,
    *,
    received: datetime,
    status: str = "completed",
    done_after: timedelta | None = None,
    regulation: str = "gdpr",
    extended: bool = False,
) -> str:
    """A privacy request row as the service stores it (identities sealed, deadline by law)."""
    request_id = new_id("prq")
    reg = Regulation(regulation)
    session.add(
        PrivacyRequest(
            id=request_id,
            workspace_id=workspace_id,
            type=type,
            status=status,
            regulation=reg,
            source="api",
            identities_sealed=seal_identities(
                runtime.seal_keyring,
                [Identity("email", f"{request_id}@example.com")],
                workspace_id=workspace_id,
                request_id=request_id,
            ),
            received_at=received,
            due_at=(
                extended_due_at(reg, received) if extended else due_at(reg, received, other_days=30)
            ),
            extended=extended,
            completed_at=received + done_after if done_after is not None else None,
            requested_by="ops",
        )
    )
    return request_id


def _privacy_history(runtime, ws, other_ws) -> None:
    with runtime.sessionmaker.begin() as session:
        person = make_profile(session, workspace_id=ws.id, email="p@example.com")
        three_days_ago = NOW - timedelta(days=3)
        for minutes in (2, 4, 6, 60):
            _request(
                runtime,
                session,
                ws.id,
                "access",
                received=three_days_ago,
                done_after=timedelta(minutes=minutes),
            )
        _request(
            runtime,
            session,
            ws.id,
            "erasure",
            received=NOW - timedelta(days=10),
            done_after=timedelta(hours=2),
        )
        _request(
            runtime,
            session,
            ws.id,
            "restriction",
            received=NOW - timedelta(days=10),
            done_after=timedelta(seconds=0),
        )
        # Open: GDPR 25 days old (5 days left), CCPA 50 days old (overdue), GDPR 40 days
        # old but extended (about 50 days left), an erasure failed 1 day ago (30 days left),
        # and a cancelled one (never open, never completed).
        _request(
            runtime,
            session,
            ws.id,
            "access",
            received=NOW - timedelta(days=25),
            status="in_progress",
        )
        _request(
            runtime,
            session,
            ws.id,
            "access",
            received=NOW - timedelta(days=50),
            status="pending",
            regulation="ccpa",
        )
        _request(
            runtime,
            session,
            ws.id,
            "access",
            received=NOW - timedelta(days=40),
            status="in_progress",
            extended=True,
        )
        _request(
            runtime, session, ws.id, "erasure", received=NOW - timedelta(days=1), status="failed"
        )
        _request(
            runtime, session, ws.id, "access", received=NOW - timedelta(days=2), status="cancelled"
        )
        # An old completed one (before the charted weeks) and another workspace's.
        _request(
            runtime,
            session,
            ws.id,
            "erasure",
            received=NOW - timedelta(weeks=20),
            done_after=timedelta(days=9),
        )
        _request(
            runtime,
            session,
            other_ws.id,
            "access",
            received=NOW - timedelta(days=1),
            status="failed",
        )
        # A failed export step (retried from Downloaded) still shows on its own tile.
        _export(
            session, person, requested=NOW - timedelta(days=1), ready_after=None, status="failed"
        )


def test_overview_counts_privacy_requests(runtime, ws, other_ws):
    _privacy_history(runtime, ws, other_ws)
    with runtime.sessionmaker() as session:
        overview = compliance_overview(session, workspace_id=ws.id, zone=UTC, now=NOW)
    assert overview.weeks[-1].start.weekday() == 0 and len(overview.weeks) == 12
    totals = [
        sum(getattr(w, t) for w in overview.weeks) for t in ("access", "erasure", "restriction")
    ]
    # 40 and 50 days ago are within the 12 charted weeks; 20 weeks ago is not.
    assert totals == [8, 2, 1]
    everything, access, erasure = overview.times
    assert (everything.kind, access.kind, erasure.kind) == ("All requests", "Access", "Erasure")
    assert (access.completed, access.median, access.p95) == (
        4,
        timedelta(minutes=4),
        timedelta(minutes=60),
    )
    assert (erasure.completed, erasure.median) == (1, timedelta(hours=2))
    assert everything.completed == 6 and everything.median == timedelta(minutes=4)
    due = {b.label: (b.access, b.erasure, b.restriction) for b in overview.due}
    assert due == {
        "Overdue": (1, 0, 0),
        "0–7 days": (1, 0, 0),
        "8–14 days": (0, 0, 0),
        "15–21 days": (0, 0, 0),
        "22+ days": (1, 1, 0),
    }
    assert (overview.open_requests, overview.overdue, overview.failed) == (4, 1, 1)
    assert (overview.failed_exports, overview.failed_deletions) == (1, 0)


def test_overview_buckets_requests_by_week_in_the_workspace_zone(runtime, ws, other_ws):
    berlin = ZoneInfo("Europe/Berlin")
    sunday_night = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)  # Monday 00:30 in Berlin
    with runtime.sessionmaker.begin() as session:
        _request(
            runtime,
            session,
            ws.id,
            "erasure",
            received=sunday_night,
            done_after=timedelta(minutes=5),
        )
    with runtime.sessionmaker() as session:
        local = compliance_overview(session, workspace_id=ws.id, zone=berlin, now=NOW)
        utc = compliance_overview(session, workspace_id=ws.id, zone=UTC, now=NOW)
    assert [w.start.isoformat() for w in local.weeks if w.erasure] == ["2026-11-30"]
    assert [w.start.isoformat() for w in utc.weeks if w.erasure] == ["2026-11-23"]


def test_overview_page_shows_privacy_requests_with_table_fallbacks(
    runtime, ws, other_ws, admin, member
):
    _privacy_history(runtime, ws, other_ws)
    page = admin.client.get("/settings/compliance/overview")
    assert page.status_code == 200
    html = page.text
    assert html.count('<svg class="chart"') == 3
    assert re.search(r'<svg class="chart"[^>]*aria-hidden="true"', html)
    assert "<caption>Privacy requests by week received and type" in html
    assert "<caption>Open requests by days left to their deadline</caption>" in html
    assert "<caption>Suppressed drops by week" in html
    for series in ("access", "erasure", "restriction"):
        assert f'class="bar-{series}"' in html
    assert "<dt>Open requests</dt><dd>4</dd>" in html
    assert "<dt>Overdue</dt><dd>1</dd>" in html
    assert "<dt>Failed requests</dt><dd>1</dd>" in html
    assert ">Failed exports</a></dt><dd>1</dd>" in html
    assert "<dt>Access: median time to complete</dt><dd>4 min</dd>" in html
    due_table = html.split("<caption>Open requests by days left")[1].split("</table>")[0]
    assert '<th scope="row">Overdue</th><td>1</td><td>0</td><td>0</td>' in due_table
    assert '<th scope="row">22+ days</th><td>1</td><td>1</td><td>0</td>' in due_table
    assert 'aria-current="page"><svg' in html.split('aria-label="Compliance"')[1]
    assert member.client.get("/settings/compliance/overview").status_code == 403


def test_value_axis_ticks_are_whole_and_evenly_spaced() -> None:
    for top in range(0, 2001):
        maximum, step = value_axis(top)
        ticks = list(range(0, maximum + 1, step))
        assert maximum >= max(top, 1) and maximum - step < max(top, 1)
        assert 2 <= len(ticks) <= 6 and ticks[-1] == maximum
    assert value_axis(5) == (5, 1)  # 0 1 2 3 4 5, never "0, 2, 5"
    assert value_axis(7) == (8, 2)
    assert value_axis(23) == (25, 5)


def test_weekly_chart_labels_whole_evenly_spaced_ticks() -> None:
    weeks = [WeekCount(date(2026, 9, 14) + timedelta(weeks=i), 0, 0, 0) for i in range(11)]
    weeks.append(WeekCount(date(2026, 11, 30), 5, 1, 0))
    overview = Overview(weeks, [], [], 0, 0, 0, 0, 0, [], [], 0)
    chart = weekly_chart(overview)
    labels = [t.label for t in chart.value_ticks]
    assert labels == ["0", "1", "2", "3", "4", "5"]
    positions = [t.position for t in chart.value_ticks]
    gaps = {round(b - a, 6) for a, b in zip(positions[1:], positions, strict=False)}
    assert len(gaps) == 1  # evenly spaced, top of the plot at 5
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.series == "access" and round(tallest.y, 6) == round(positions[-1], 6)


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
