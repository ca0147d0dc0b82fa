"""How a workspace answers GDPR requests, in numbers (Settings → Compliance → Overview).

Requests by week, the median and 95th-percentile time to complete, open requests by days left
to their deadline (`due_at`, one calendar month after the request), failed and overdue counts,
and the data suppression kept out (SPEC §9) by week and source. Read-only; every number comes
from the request rows themselves and the workspace's hourly drop counters.
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
from veil.compliance.suppressions.repository import DropCountRepository
from veil.kit.time import as_utc, utcnow
from veil.models import DeletionRequest, ExportRequest
from veil.models.deletion_request import DeletionStatus
from veil.models.export_request import UNFULFILLED_STATUSES, ExportStatus

WEEKS = 12
# Open requests by whole days left to their deadline: (label, from, to), `to` exclusive.
DUE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("Overdue", -math.inf, 0),
    ("0–7 days", 0, 8),
    ("8–14 days", 8, 15),
    ("15–21 days", 15, 22),
    ("22+ days", 22, math.inf),
)
# No file made available yet / not erased yet: these still owe the person an answer.
OPEN_EXPORTS = UNFULFILLED_STATUSES
OPEN_DELETIONS = (DeletionStatus.PENDING, DeletionStatus.PROCESSING, DeletionStatus.FAILED)


@dataclass(frozen=True)
class WeekCount:
    start: date
    exports: int
    deletions: int


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
    exports: int
    deletions: int


@dataclass(frozen=True)
class Overview:
    weeks: list[WeekCount]
    times: list[TimeToComplete]
    due: list[DueBucket]
    open_requests: int
    overdue: int
    failed_exports: int
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


def compliance_overview(
    session: Session, *, workspace_id: str, zone: tzinfo, now: datetime | None = None
) -> Overview:
    now = now or utcnow()
    this_week = _week_start(now, zone)
    first_week = this_week - timedelta(weeks=WEEKS - 1)
    since = now - timedelta(weeks=WEEKS + 1)  # generous; rows are bucketed by local week below

    exports_stmt = ExportRepository(session, workspace_id).statement()
    exports = session.execute(
        exports_stmt.with_only_columns(
            ExportRequest.requested_at, ExportRequest.ready_at, ExportRequest.status
        ).where(ExportRequest.requested_at >= since)
    ).all()
    deletions_stmt = DeletionRepository(session, workspace_id).statement()
    deletions = session.execute(
        deletions_stmt.with_only_columns(
            DeletionRequest.requested_at, DeletionRequest.completed_at, DeletionRequest.status
        ).where(DeletionRequest.requested_at >= since)
    ).all()

    counts: dict[date, list[int]] = {first_week + timedelta(weeks=i): [0, 0] for i in range(WEEKS)}
    for column, rows in ((0, exports), (1, deletions)):
        for row in rows:
            week = _week_start(as_utc(row[0]), zone)
            if week in counts:
                counts[week][column] += 1
    weeks = [WeekCount(start, e, d) for start, (e, d) in sorted(counts.items())]

    times = [
        _times("Exports", [(r[0], r[1]) for r in exports]),
        _times("Deletions", [(r[0], r[1]) for r in deletions]),
    ]

    # Open requests, however old: their deadlines matter most when they are old.
    open_exports = session.scalars(
        exports_stmt.with_only_columns(ExportRequest.due_at).where(
            ExportRequest.status.in_(OPEN_EXPORTS)
        )
    ).all()
    open_deletions = session.scalars(
        deletions_stmt.with_only_columns(DeletionRequest.due_at).where(
            DeletionRequest.status.in_(OPEN_DELETIONS)
        )
    ).all()

    def bucket_counts(dues: Sequence[datetime]) -> list[int]:
        days_left = [(as_utc(due) - now).total_seconds() / 86400 for due in dues]
        return [sum(low <= d < high for d in days_left) for _label, low, high in DUE_BUCKETS]

    by_export, by_deletion = bucket_counts(open_exports), bucket_counts(open_deletions)
    due = [
        DueBucket(label, by_export[i], by_deletion[i])
        for i, (label, _low, _high) in enumerate(DUE_BUCKETS)
    ]
    failed_exports = session.scalar(
        exports_stmt.with_only_columns(func.count()).where(
            ExportRequest.status == ExportStatus.FAILED
        )
    )
    failed_deletions = session.scalar(
        deletions_stmt.with_only_columns(func.count()).where(
            DeletionRequest.status == DeletionStatus.FAILED
        )
    )
    drop_weeks, drop_sources = _drops(session, workspace_id, zone, first_week, since)
    return Overview(
        weeks=weeks,
        times=times,
        due=due,
        open_requests=len(open_exports) + len(open_deletions),
        overdue=due[0].exports + due[0].deletions,
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
