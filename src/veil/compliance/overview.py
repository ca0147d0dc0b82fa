"""How a workspace answers privacy requests (SPEC §8), in numbers (Compliance → Overview).

Requests by local week and type (access, erasure, restriction), the median and 95th-percentile
time from receipt to completion, open requests by days left to their legal deadline (`due_at`,
per regulation and extension), overdue and failed counts, the failed export and deletion steps
(retried from the Downloaded and Deleted tabs), and the data suppression kept out (SPEC §9) by
week and source. Read-only; every number comes from the request rows themselves and the
workspace's hourly drop counters. Weeks are bucketed in Python in the workspace's time zone,
so the queries are plain comparisons that read the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import func
from sqlalchemy.orm import Session

from veil.compliance.deletions.repository import DeletionRepository
from veil.compliance.exports.repository import ExportRepository
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository, overdue_clause
from veil.compliance.suppressions.repository import DropCountRepository
from veil.kit.time import as_utc, utcnow
from veil.models import DeletionRequest, ExportRequest, PrivacyRequest
from veil.models.deletion_request import DeletionStatus
from veil.models.export_request import ExportStatus
from veil.models.privacy_request import CLOSED_STATUSES, PrivacyRequestStatus, PrivacyRequestType

WEEKS = 12
# Open requests by whole days left to their deadline: (label, from, to), `to` exclusive.
DUE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("Overdue", -math.inf, 0),
    ("0–7 days", 0, 8),
    ("8–14 days", 8, 15),
    ("15–21 days", 15, 22),
    ("22+ days", 22, math.inf),
)
TYPES: tuple[PrivacyRequestType, ...] = tuple(PrivacyRequestType)
# Neither completed nor cancelled: these still owe the person an answer (a failed one too).
OPEN_STATUSES = tuple(s for s in PrivacyRequestStatus if s not in CLOSED_STATUSES)


@dataclass(frozen=True)
class WeekCount:
    start: date
    access: int
    erasure: int
    restriction: int


@dataclass(frozen=True)
class DropWeek:
    start: date
    dropped: int


@dataclass(frozen=True)
class DropSource:
    source: str  # api, segment, shopify, tracking: where the data arrived
    label: str
    dropped: int


@dataclass(frozen=True)
class TimeToComplete:
    kind: str
    completed: int
    median: timedelta | None
    p95: timedelta | None


@dataclass(frozen=True)
class DueBucket:
    label: str
    access: int
    erasure: int
    restriction: int


@dataclass(frozen=True)
class Overview:
    weeks: list[WeekCount]
    times: list[TimeToComplete]
    due: list[DueBucket]
    open_requests: int
    overdue: int
    failed: int  # privacy requests whose step kept failing (retryable)
    failed_exports: int  # the steps themselves, retried from Downloaded / Deleted
    failed_deletions: int
    drop_weeks: list[DropWeek]
    drop_sources: list[DropSource]  # over the charted weeks, every entry point listed
    dropped: int  # over the charted weeks


# The entry points that screen for suppressed people (screening.py's callers), in display order.
DROP_SOURCES: tuple[tuple[str, str], ...] = (
    ("segment", "Segment"),
    ("shopify", "Shopify"),
    ("tracking", "Opens and clicks"),
    ("api", "API"),
)


def percentile(values: Sequence[timedelta], share: float) -> timedelta | None:
    """Nearest-rank percentile (the value a `share` of the requests completed within)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def _week_start(moment: datetime, zone: tzinfo) -> date:
    day = moment.astimezone(zone).date()
    return day - timedelta(days=day.weekday())  # weeks start on Monday


def _times(kind: str, pairs: Sequence[tuple[datetime, datetime | None]]) -> TimeToComplete:
    spans = [as_utc(done) - as_utc(start) for start, done in pairs if done is not None]
    return TimeToComplete(kind, len(spans), percentile(spans, 0.5), percentile(spans, 0.95))


def _by_type(rows: Sequence[PrivacyRequestType]) -> tuple[int, int, int]:
    access, erasure, restriction = (sum(1 for t in rows if t == kind) for kind in TYPES)
    return access, erasure, restriction


def compliance_overview(
    session: Session, *, workspace_id: str, zone: tzinfo, now: datetime | None = None
) -> Overview:
    now = now or utcnow()
    this_week = _week_start(now, zone)
    first_week = this_week - timedelta(weeks=WEEKS - 1)
    since = now - timedelta(weeks=WEEKS + 1)  # generous; rows are bucketed by local week below

    requests_stmt = PrivacyRequestRepository(session, workspace_id).statement()
    received = session.execute(
        requests_stmt.with_only_columns(
            PrivacyRequest.type,
            PrivacyRequest.received_at,
            PrivacyRequest.completed_at,
            PrivacyRequest.status,
        ).where(PrivacyRequest.received_at >= since)
    ).all()

    by_week: dict[date, list[PrivacyRequestType]] = {
        first_week + timedelta(weeks=i): [] for i in range(WEEKS)
    }
    for type_, received_at, _done, _status in received:
        week = _week_start(as_utc(received_at), zone)
        if week in by_week:
            by_week[week].append(PrivacyRequestType(type_))
    weeks = [WeekCount(start, *_by_type(types)) for start, types in sorted(by_week.items())]

    # From receipt (the legal clock's start) to completion, over the charted weeks.
    done = [
        (PrivacyRequestType(t), r, c)
        for t, r, c, status in received
        if status == PrivacyRequestStatus.COMPLETED
    ]
    times = [_times("All requests", [(r, c) for _t, r, c in done])] + [
        _times(kind.value.capitalize(), [(r, c) for t, r, c in done if t == kind])
        for kind in (PrivacyRequestType.ACCESS, PrivacyRequestType.ERASURE)
    ]

    # Open requests, however old: their deadlines matter most when they are old.
    open_rows = session.execute(
        requests_stmt.with_only_columns(PrivacyRequest.type, PrivacyRequest.due_at).where(
            PrivacyRequest.status.in_([s.value for s in OPEN_STATUSES])
        )
    ).all()
    due: list[DueBucket] = []
    for label, low, high in DUE_BUCKETS:
        types = [
            PrivacyRequestType(t)
            for t, due_at in open_rows
            if low <= (as_utc(due_at) - now).total_seconds() / 86400 < high
        ]
        due.append(DueBucket(label, *_by_type(types)))
    overdue = session.scalar(
        requests_stmt.with_only_columns(func.count()).where(overdue_clause(now))
    )
    failed = session.scalar(
        requests_stmt.with_only_columns(func.count()).where(
            PrivacyRequest.status == PrivacyRequestStatus.FAILED
        )
    )
    failed_exports = session.scalar(
        ExportRepository(session, workspace_id)
        .statement()
        .with_only_columns(func.count())
        .where(ExportRequest.status == ExportStatus.FAILED)
    )
    failed_deletions = session.scalar(
        DeletionRepository(session, workspace_id)
        .statement()
        .with_only_columns(func.count())
        .where(DeletionRequest.status == DeletionStatus.FAILED)
    )
    drop_weeks, drop_sources = _drops(session, workspace_id, zone, first_week, since)
    return Overview(
        weeks=weeks,
        times=times,
        due=due,
        open_requests=len(open_rows),
        overdue=int(overdue or 0),
        failed=int(failed or 0),
        failed_exports=int(failed_exports or 0),
        failed_deletions=int(failed_deletions or 0),
        drop_weeks=drop_weeks,
        drop_sources=drop_sources,
        dropped=sum(w.dropped for w in drop_weeks),
    )


def _drops(
    session: Session, workspace_id: str, zone: tzinfo, first_week: date, since: datetime
) -> tuple[list[DropWeek], list[DropSource]]:
    """Suppressed drops by local week, and by source over those weeks."""
    by_week = {first_week + timedelta(weeks=i): 0 for i in range(WEEKS)}
    by_source = {source: 0 for source, _label in DROP_SOURCES}
    for hour, source, dropped in DropCountRepository(session, workspace_id).since(since):
        week = _week_start(as_utc(hour), zone)
        if week in by_week:
            by_week[week] += dropped
            by_source[source] = by_source.get(source, 0) + dropped
    labels = dict(DROP_SOURCES)
    return (
        [DropWeek(start, dropped) for start, dropped in sorted(by_week.items())],
        [DropSource(s, labels.get(s, s), n) for s, n in by_source.items()],
    )
