"""Background jobs for deletions: the erasure job and the sweep that makes sure none is lost."""

from __future__ import annotations

from veil import db
from veil.compliance.deletions.erasure import RUNNABLE, run_deletion
from veil.compliance.deletions.erasure.storage import settle_pending, settle_when_idle
from veil.compliance.deletions.service import JOB
from veil.models import DeletionRequest
from veil.runtime import Runtime
from veil.worker import leases
from veil.worker.queue import register_idle, register_job, register_shutdown, register_sweeper


@register_job(JOB)
def deletion_job(runtime: Runtime, request_id: str) -> None:
    run_deletion(runtime, request_id)


@register_idle("deletion-storage")
def settle_deferred_storage(runtime: Runtime) -> None:
    """The queue is empty: the storage step of the erasures that completed while it was not
    (one checkpoint for the batch)."""
    settle_when_idle(runtime)


@register_shutdown("deletion-storage")
def settle_at_shutdown(runtime: Runtime) -> None:
    """A stopping worker leaves no erased bytes in the WAL it was batching."""
    settle_pending(runtime)


@register_sweeper("deletions")
def sweep_deletions(runtime: Runtime) -> None:
    """Re-enqueue requests whose message was lost (crash, lost lease, backoff over), and finish
    the storage step (WAL checkpoint / table rewrite) of completed ones where it was blocked."""
    with db.session_scope(runtime.sessionmaker) as session:
        due = leases.due_for_enqueue(session, DeletionRequest, runnable=RUNNABLE)
        leases.mark_enqueued(session, DeletionRequest, due, hold=runtime.settings.job_lease)
        for request_id in due:
            db.enqueue_after_commit(session, JOB, request_id)
    settle_pending(runtime)
