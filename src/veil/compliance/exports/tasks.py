"""Background work for exports: the `export` job that builds a file, and the `exports` sweep.

The request row is the source of truth; a queue message only says "look at request X".
A job claims the row with a lease (veil.worker.leases.claim) and, in the same transaction,
gives this attempt its own random file key. That key is the fencing token: the lease
heartbeat, the final publish and the failure record all act only while the row still
carries this attempt's key and is `pending`. So a job whose lease ran out (and whose request
another worker took over), or whose request was expired or erased meanwhile, never publishes
or overwrites anything: it deletes the file it wrote and stops. Running the job twice, or
again after a crash at any point, ends in the same state.

Files appear in the store only by atomic rename and become downloadable only when the
publish transaction sets `ready`; a process killed mid-write leaves a `.part` file that
the sweep removes, and a complete file from an attempt that died before publishing is
deleted by the next claim (the row still names it).
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import timedelta

from veil.compliance.exports.repository import (
    extend_build_lease,
    get_by_id,
    past_expiry,
    referenced_file_keys,
)
from veil.compliance.exports.service import EXPORT_JOB, audit_export, expire_export
from veil.compliance.exports.writer import (
    BuildResult,
    ExportCancelled,
    ExportJob,
    write_export,
)
from veil.db import enqueue_after_commit, session_scope
from veil.kit.time import utcnow
from veil.models import ExportRequest
from veil.models.export_request import ExportStatus
from veil.models.profile import ACTIVE
from veil.profiles.repository import ProfileRepository
from veil.runtime import Runtime
from veil.worker import leases
from veil.worker.queue import register_job, register_sweeper

log = logging.getLogger("veil.exports")

EXPIRE_BATCH = 200

__all__ = ["build_export", "remove_orphaned_files", "sweep_exports"]


@register_job(EXPORT_JOB)
def build_export(runtime: Runtime, export_id: str) -> None:
    """Build one export file. Safe to call any number of times, from any number of workers."""
    job = _claim(runtime, export_id)
    if job is None:
        return
    started = time.monotonic()
    try:
        result = write_export(runtime, job, heartbeat=_Heartbeat(runtime, job))
    except ExportCancelled:
        _discard(runtime, job.file_key)
        log.info("export build stopped", extra={"fields": {"export_id": export_id}})
        return
    except Exception as exc:
        _discard(runtime, job.file_key)
        _record_failure(runtime, job, exc)
        return
    published = _publish(runtime, job, result)
    log.info(
        "export built" if published else "export discarded",
        extra={
            "fields": {
                "export_id": export_id,
                "events": result.event_count,
                "bytes": result.file_size,
                "seconds": round(time.monotonic() - started, 3),
            }
        },
    )


def _discard(runtime: Runtime, file_key: str) -> None:
    """Delete a file this job wrote (or may have written); a storage error is only logged:
    the row never points at it, and the failure path must still record the failure."""
    try:
        runtime.export_store.delete(file_key)
    except OSError as exc:
        log.warning(
            "could not delete a discarded export file",
            extra={"fields": {"error": type(exc).__name__}},
        )


def _claim(runtime: Runtime, export_id: str) -> ExportJob | None:
    settings = runtime.settings
    with session_scope(runtime.sessionmaker) as session:
        claimed = leases.claim(
            session,
            ExportRequest,
            export_id,
            runnable=(ExportStatus.PENDING,),
            lease=settings.job_lease,
        )
        if not claimed:
            return None  # built, expired, failed, or being built under a live lease
        export = get_by_id(session, export_id)
        if export is None:  # pragma: no cover - the claim just updated it
            return None
        profile = ProfileRepository(session, export.workspace_id).get(export.profile_id)
        if profile is None or profile.status != ACTIVE or export.expires_at <= utcnow():
            # Erased (or being erased) profile, or a request past its TTL: nothing to build.
            expire_export(session, runtime=runtime, export=export)
            return None
        leftover = export.file_key
        export.file_key = f"{export.id}.{secrets.token_hex(8)}.enc"
        job = ExportJob(
            export_id=export.id,
            workspace_id=export.workspace_id,
            profile_id=export.profile_id,
            requested_at=export.requested_at,
            requested_by=export.requested_by,
            file_key=export.file_key,
        )
    if leftover:
        # A previous attempt's file: it died after the rename but before publishing, or it
        # is still running without a lease and will discard its own output when it ends.
        _discard(runtime, leftover)
    return job


class _Heartbeat:
    """Called between chunks: renews the lease every third of it, and stops a build that
    no longer owns its request."""

    def __init__(self, runtime: Runtime, job: ExportJob) -> None:
        self.runtime = runtime
        self.job = job
        self.every = runtime.settings.job_lease.total_seconds() / 3
        self.last = time.monotonic()

    def __call__(self) -> None:
        if time.monotonic() - self.last < self.every:
            return
        with session_scope(self.runtime.sessionmaker) as session:
            owned = extend_build_lease(
                session,
                self.job.export_id,
                file_key=self.job.file_key,
                until=utcnow() + self.runtime.settings.job_lease,
            )
        if not owned:
            raise ExportCancelled("the request is no longer ours to build")
        self.last = time.monotonic()


def _publish(runtime: Runtime, job: ExportJob, result: BuildResult) -> bool:
    """Make the file downloadable, if the request is still this attempt's and still open."""
    published = False
    with session_scope(runtime.sessionmaker) as session:
        export = get_by_id(session, job.export_id, for_update=True)
        owned = (
            export is not None
            and export.status == ExportStatus.PENDING
            and export.file_key == job.file_key
        )
        if export is not None and owned and export.expires_at <= utcnow():
            expire_export(session, runtime=runtime, export=export)  # deletes our file too
        elif export is not None and owned:
            now = utcnow()
            export.status = ExportStatus.READY
            export.ready_at = now
            export.file_size = result.file_size
            export.event_count = result.event_count
            export.lease_until = None
            export.next_attempt_at = None
            export.last_error = None
            audit_export(session, export, "export.ready", events=result.event_count)
            published = True
    if not published:
        _discard(runtime, job.file_key)
    return published


def _record_failure(runtime: Runtime, job: ExportJob, exc: Exception) -> None:
    # The exception's type only: driver messages can quote row values (personal data).
    code = f"build_failed:{type(exc).__name__}"
    failed = False
    with session_scope(runtime.sessionmaker) as session:
        export = get_by_id(session, job.export_id, for_update=True)
        if (
            export is None
            or export.status != ExportStatus.PENDING
            or export.file_key != job.file_key
        ):
            return
        export.file_key = None
        failed = leases.record_failure(
            session,
            ExportRequest,
            job.export_id,
            error_code=code,
            max_attempts=runtime.settings.job_max_attempts,
            failed_status=ExportStatus.FAILED,
        )
        if failed:
            audit_export(session, export, "export.failed", attempts=export.attempts)
    log.warning(
        "export build failed",
        extra={"fields": {"export_id": job.export_id, "error": code, "final": failed}},
    )


# -- the sweep ----------------------------------------------------------------------------------


@register_sweeper("exports")
def sweep_exports(runtime: Runtime) -> dict[str, int]:
    """Expire requests past their TTL, re-enqueue lost or retrying builds, drop stale temp
    files and orphaned objects."""
    expired = _expire_due(runtime)
    enqueued = _enqueue_due(runtime)
    # A live build renews its lease every third of it: a part older than two leases is dead
    # (and a complete file that old which no row names is no build's any more).
    stale_after = max(2 * runtime.settings.job_lease, timedelta(seconds=60))
    parts = runtime.export_store.sweep_stale_parts(older_than=stale_after)
    orphans = remove_orphaned_files(runtime, older_than=stale_after)
    return {"expired": expired, "enqueued": enqueued, "stale_parts": parts, "orphans": orphans}


def remove_orphaned_files(runtime: Runtime, *, older_than: timedelta) -> int:
    """Stored files no request row names (a discard that failed, a row gone with its
    workspace): encrypted, but nobody may download them, so they go."""
    store = runtime.export_store
    removed = 0
    batch: list[str] = []

    def flush() -> int:
        with session_scope(runtime.sessionmaker) as session:
            kept = referenced_file_keys(session, batch)
        gone = sum(store.delete(key) for key in batch if key not in kept)
        batch.clear()
        return gone

    for key in store.keys_older_than(older_than):
        batch.append(key)
        if len(batch) >= EXPIRE_BATCH:
            removed += flush()
    if batch:
        removed += flush()
    return removed


def _expire_due(runtime: Runtime) -> int:
    total = 0
    while True:
        with session_scope(runtime.sessionmaker) as session:
            batch = past_expiry(session, now=utcnow(), limit=EXPIRE_BATCH)
            for export in batch:
                expire_export(session, runtime=runtime, export=export)
        total += len(batch)
        if len(batch) < EXPIRE_BATCH:
            return total


def _enqueue_due(runtime: Runtime) -> int:
    hold = runtime.settings.job_lease
    with session_scope(runtime.sessionmaker) as session:
        ids = leases.due_for_enqueue(session, ExportRequest, runnable=(ExportStatus.PENDING,))
        leases.mark_enqueued(session, ExportRequest, ids, hold=hold)
        for export_id in ids:
            enqueue_after_commit(session, EXPORT_JOB, export_id)
    return len(ids)
