"""Settings → Compliance → Overview: the numbers, the charts and their table fallbacks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tests.fixtures.factories import make_profile
from veil.compliance.overview import compliance_overview, percentile
from veil.kit.ids import new_id
from veil.models import DeletionRequest, ExportRequest

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
    assert html.count('<svg class="chart"') == 2
    assert re.search(r'<svg class="chart"[^>]*aria-hidden="true"', html)
    assert "<caption>Export and deletion requests by week" in html
    assert "<caption>Open requests by days left to their deadline</caption>" in html
    assert 'class="bar-exports"' in html
    assert "3 min" in html  # the median time to complete
    assert 'aria-current="page"><svg' in html.split('aria-label="Compliance"')[1]
    assert member.client.get("/settings/compliance/overview").status_code == 403
