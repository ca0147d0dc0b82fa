"""Leases on request rows: the row is the source of truth, the queue only wakes a worker.

A worker claims a request with one conditional UPDATE (a lease with an end time). If the
process dies, the lease runs out and the sweep re-enqueues the request. `next_attempt_at`
means "the sweep should not enqueue this again before": set when a message is already on
its way, and to a backoff time after a failure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from veil.db import rowcount
from veil.kit.time import utcnow


def backoff(attempts: int) -> timedelta:
    """5s, 20s, 80s, 5m20s … capped at one hour."""
    return timedelta(seconds=min(3600, 5 * 4 ** max(0, attempts - 1)))


def claim(
    session: Session,
    model: Any,
    object_id: str,
    *,
    runnable: Sequence[str],
    lease: timedelta,
    set_status: str | None = None,
    also: Mapping[str, Any] | None = None,
) -> bool:
    """Take the lease on a runnable request; False if it is done, failed, or leased by another.
    `also`: more columns the same UPDATE sets."""
    now = utcnow()
    values: dict[str, Any] = {"lease_until": now + lease, "attempts": model.attempts + 1}
    if set_status:
        values["status"] = set_status
    values.update(also or {})
    result = session.execute(
        update(model)
        .where(
            model.id == object_id,
            model.status.in_(runnable),
            or_(model.lease_until.is_(None), model.lease_until < now),
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def record_failure(
    session: Session,
    model: Any,
    object_id: str,
    *,
    error_code: str,
    max_attempts: int,
    failed_status: str,
) -> bool:
    """Release the lease after a failed attempt; True when the request is now `failed`."""
    row = session.get(model, object_id)
    if row is None:
        return False
    row.lease_until = None
    row.last_error = error_code[:200]
    if row.attempts >= max_attempts:
        row.status = failed_status
        row.next_attempt_at = None
        return True
    row.next_attempt_at = utcnow() + backoff(row.attempts)
    return False


def due_for_enqueue(
    session: Session, model: Any, *, runnable: Sequence[str], limit: int = 500
) -> list[str]:
    """Requests with no live lease whose `next_attempt_at` has passed (or was never set)."""
    now = utcnow()
    rows = session.scalars(
        select(model.id)
        .where(
            model.status.in_(runnable),
            or_(model.lease_until.is_(None), model.lease_until < now),
            or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
        )
        .limit(limit)
    ).all()
    return list(rows)


def mark_enqueued(session: Session, model: Any, ids: Sequence[str], *, hold: timedelta) -> None:
    if ids:
        session.execute(
            update(model)
            .where(model.id.in_(list(ids)))
            .values(next_attempt_at=utcnow() + hold)
            .execution_options(synchronize_session=False)
        )
