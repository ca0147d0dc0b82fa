"""Leases on request rows: the row is the source of truth, the queue only wakes a worker.

A worker claims a request with one conditional UPDATE (a lease with an end time). If the
process dies, the lease runs out and the sweep re-enqueues the request. `next_attempt_at`
means "the sweep should not enqueue this again before": set when a message is already on
its way, and to a backoff time after a failure.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Update, bindparam, func, or_, select, update
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
    mark_started: bool = False,
) -> bool:
    """Take the lease on a runnable request; False if it is done, failed, or leased by another.
    `set_status`: the status the claim moves the row to; `mark_started`: also set `started_at`
    on the first claim (kept on later ones)."""
    now = utcnow()
    statement = _claim_statement(model, tuple(runnable), set_status, mark_started)
    result = session.execute(statement, {"claimed_id": object_id, "now": now, "until": now + lease})
    return rowcount(result) == 1


@functools.cache
def _claim_statement(
    model: Any, runnable: tuple[str, ...], set_status: str | None, mark_started: bool
) -> Update:
    """The claim's UPDATE for one model and shape, built once (values bound at execution)."""
    table = model.__table__
    now = bindparam("now", type_=table.c.lease_until.type)
    values: dict[str, Any] = {
        "lease_until": bindparam("until", type_=table.c.lease_until.type),
        "attempts": table.c.attempts + 1,
    }
    if set_status:
        values["status"] = set_status
    if mark_started:
        values["started_at"] = func.coalesce(table.c.started_at, now)
    return (
        update(table)
        .where(
            table.c.id == bindparam("claimed_id"),
            table.c.status.in_(runnable),
            or_(table.c.lease_until.is_(None), table.c.lease_until < now),
        )
        .values(**values)
    )


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
