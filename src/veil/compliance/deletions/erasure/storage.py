"""Settling storage after a completed erasure: the old page images leave the files on disk.

A completed request has `storage_settled_at` NULL until this step succeeds; the deletions
sweep retries it (index ix_deletion_requests_storage) until it does. On PostgreSQL without
VEIL_PG_REWRITE_AFTER_ERASURE there is nothing to do: the request is settled as it completes.

Batched: a checkpoint(TRUNCATE) costs as much as a small erasure, and it settles every erasure
committed before it at once. So while a batch of jobs is queued behind a completed erasure
(STORAGE_DEFER_QUEUED or more: a bulk, not one erasure's own follow-ups), the worker runs them
first and checkpoints once, when it finds its queue empty (an idle hook of
veil.worker.queue) — or at the first completion STORAGE_DEFER_LIMIT after the batch began
waiting, so a queue that never empties still checkpoints every few seconds. With nothing
queued it runs at once; a stopping worker settles what it deferred (a shutdown hook), and the
sweep settles whatever a crashed one left.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.deletions.compaction import compact
from veil.kit.time import utcnow
from veil.models import DeletionRequest
from veil.models.deletion_request import DeletionStatus
from veil.runtime import Runtime

log = logging.getLogger("veil.compliance.deletions")

# The longest a completed erasure's checkpoint waits for the jobs queued behind it.
STORAGE_DEFER_LIMIT = 2.0
# Only a queue this long is a batch worth waiting for: one erasure's own follow-ups (its
# privacy request's check, a callback) do not delay its checkpoint.
STORAGE_DEFER_QUEUED = 3


def storage_step_needed(runtime: Runtime) -> bool:
    """Whether a completed erasure has a storage step (SQLite's checkpoint, PostgreSQL's
    optional table rewrite); without one the request is settled as it completes."""
    return runtime.engine.dialect.name == "sqlite" or runtime.settings.pg_rewrite_after_erasure


class _Deferral:
    """Whether this process (for one runtime) left a storage step to its queue's next idle
    moment, and since when."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._since: float | None = None

    @property
    def active(self) -> bool:
        with self._lock:
            return self._since is not None

    def wait(self) -> bool:
        """Defer (True) unless the batch has waited STORAGE_DEFER_LIMIT already."""
        with self._lock:
            now = time.monotonic()
            if self._since is None:
                self._since = now
            return now - self._since < STORAGE_DEFER_LIMIT

    def take(self) -> bool:
        """Whether something was deferred (and no longer is)."""
        with self._lock:
            deferred, self._since = self._since is not None, None
            return deferred


_deferrals: weakref.WeakKeyDictionary[Runtime, _Deferral] = weakref.WeakKeyDictionary()
_deferrals_lock = threading.Lock()


def _deferral(runtime: Runtime) -> _Deferral:
    with _deferrals_lock:
        found = _deferrals.get(runtime)
        if found is None:
            found = _deferrals[runtime] = _Deferral()
        return found


def settle_or_defer(runtime: Runtime, request_id: str) -> None:
    """After a completed erasure: settle now, or, while other jobs are queued, when this
    worker next finds its queue empty (`settle_when_idle`) or stops, whichever comes first —
    at most STORAGE_DEFER_LIMIT after the first erasure of the batch."""
    pending, deferral = runtime.queue.pending_count(), _deferral(runtime)
    # A batch starts with a long enough queue and goes on while anything is queued.
    if (pending >= STORAGE_DEFER_QUEUED or (pending and deferral.active)) and deferral.wait():
        return
    if not settle_pending(runtime):
        log.warning(
            "storage step after erasure is still pending; the sweep retries",
            extra={"fields": {"deletion_request_id": request_id}},
        )


def settle_when_idle(runtime: Runtime) -> None:
    """The queue is empty: settle what this worker deferred (nothing to do otherwise)."""
    if _deferral(runtime).take():
        settle_pending(runtime)


def settle_pending(runtime: Runtime) -> bool:
    """Settle every completed erasure still waiting for its storage step, with one checkpoint
    (or rewrite): True when none is left waiting."""
    _deferral(runtime).take()  # what completes after this point is deferred anew
    with db.session_scope(runtime.sessionmaker) as session:
        waiting = storage_pending(session, limit=None)
    if not waiting:
        return True
    if not _settle_files(runtime):
        log.warning(
            "WAL checkpoint after erasure is still blocked by readers; the sweep retries",
            extra={"fields": {"deletion_requests": len(waiting)}},
        )
        return False
    _mark_settled(runtime, waiting)
    return True


def settle_storage(runtime: Runtime, request_id: str) -> bool:
    """After a completed erasure: push the old page images out of the storage files.

    SQLite: a WAL checkpoint(TRUNCATE) (retried while readers hold the WAL), so the pre-erasure
    pages are neither in the -wal file nor, thanks to secure_delete, in freed database pages.
    PostgreSQL: when VEIL_PG_REWRITE_AFTER_ERASURE is on, rewrite the touched tables
    (docs/erasure.md). Marked done on the request; the sweep retries until it is.
    """
    if not _settle_files(runtime):
        log.warning(
            "WAL checkpoint after erasure is still blocked by readers; the sweep retries",
            extra={"fields": {"deletion_request_id": request_id}},
        )
        return False
    _mark_settled(runtime, [request_id])
    return True


def _settle_files(runtime: Runtime) -> bool:
    engine = runtime.engine
    if engine.dialect.name == "sqlite":
        return db.checkpoint_sqlite(engine)
    if runtime.settings.pg_rewrite_after_erasure:
        compact(engine)
    return True


def _mark_settled(runtime: Runtime, request_ids: list[str]) -> None:
    """Only requests completed before the checkpoint: their ids were read before it ran."""
    with db.session_scope(runtime.sessionmaker) as session:
        for chunk in range(0, len(request_ids), 500):
            session.execute(
                update(DeletionRequest)
                .where(
                    DeletionRequest.id.in_(request_ids[chunk : chunk + 500]),
                    DeletionRequest.status == DeletionStatus.COMPLETED,
                    DeletionRequest.storage_settled_at.is_(None),
                )
                .values(storage_settled_at=utcnow())
                .execution_options(synchronize_session=False)
            )


def storage_pending(session: Session, *, limit: int | None = 50) -> list[str]:
    """Completed requests whose post-erasure checkpoint / rewrite has not been done yet,
    newest first."""
    return list(
        session.scalars(
            select(DeletionRequest.id)
            .where(
                DeletionRequest.status == DeletionStatus.COMPLETED,
                DeletionRequest.storage_settled_at.is_(None),
            )
            .order_by(DeletionRequest.completed_at.desc())
            .limit(limit)
        )
    )
