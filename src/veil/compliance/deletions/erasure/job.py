"""The erasure job: claim a request, run the steps (erasure.steps) from their checkpoint,
verify, complete, then settle storage.

Crash-safe and idempotent by construction:
- the request row is the source of truth; a worker claims it with a lease (worker.leases) and
  every write transaction first re-checks that the lease is still its own (the attempt number
  taken at claim time is the fencing token), so two workers never interleave;
- the work runs in phases (progress.Phase) and the big ones in bounded batches of
  `erasure_batch_size` rows, each batch its own short transaction that also stores the
  progress (phase, keyset cursor, counts). A process killed at any point rolls back at most
  one batch and resumes after the last committed one. Phases that finish within one batch
  share the transaction with what follows them (a profile of ~50 events is erased in one
  transaction, not six): the checkpoint still commits with the writes it describes;
- every step only ever moves data towards "erased", so repeating one is harmless and counts
  stay exact.

Verification (erasure.verify) re-reads everything the steps touched and searches it for every
identifier of the subject. If something is found, the steps run once more; `summary.verified`
is true only when the final search finds nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.deletions.erasure import steps as pipeline
from veil.compliance.deletions.erasure.steps import Claim, ErasureContext, StepContext
from veil.compliance.deletions.erasure.storage import settle_or_defer, storage_step_needed
from veil.compliance.deletions.erasure.verify import verify
from veil.compliance.deletions.progress import COUNT_KEYS, Phase, Progress
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, SubjectMatcher
from veil.compliance.deletions.service import unseal_subject
from veil.compliance.erasure_rules import PiiKeys
from veil.kit.time import utcnow
from veil.models import DeletionRequest, Workspace
from veil.models.deletion_request import RUNNABLE_STATUSES, DeletionStatus
from veil.runtime import Runtime
from veil.worker import leases

log = logging.getLogger("veil.compliance.deletions")

RUNNABLE = RUNNABLE_STATUSES
MAX_PASSES = 2
FAILED_RETRY_AFTER = timedelta(hours=1)


# The statements every job runs, built once (their values bound at execution): the fence (lock
# our row, check nobody claimed it since, extend the lease), the checkpoint and the completion.
_FENCE = (
    update(DeletionRequest)
    .where(
        DeletionRequest.id == bindparam("request_id"),
        DeletionRequest.attempts == bindparam("token"),
        DeletionRequest.status == DeletionStatus.PROCESSING,
    )
    .values(lease_until=bindparam("until", type_=DeletionRequest.lease_until.type))
    .execution_options(synchronize_session=False)
)
_SAVE = (
    update(DeletionRequest)
    .where(DeletionRequest.id == bindparam("request_id"))
    .values(progress=bindparam("checkpoint", type_=DeletionRequest.progress.type))
    .execution_options(synchronize_session=False)
)
_COMPLETE = (
    update(DeletionRequest)
    .where(DeletionRequest.id == bindparam("request_id"))
    .values(
        status=DeletionStatus.COMPLETED,
        completed_at=bindparam("now", type_=DeletionRequest.completed_at.type),
        summary=bindparam("done_summary", type_=DeletionRequest.summary.type),
        # The search list has done its job: nothing of the subject stays readable except the
        # sealed contact details of the compliance record.
        subject_sealed=None,
        progress=bindparam("checkpoint", type_=DeletionRequest.progress.type),
        storage_settled_at=bindparam("settled_at", type_=DeletionRequest.storage_settled_at.type),
        lease_until=None,
        next_attempt_at=None,
        last_error=None,
    )
    .execution_options(synchronize_session=False)
)


class LeaseLost(Exception):
    """Another worker holds this request now (our lease ran out): stop without writing."""


# -- entry point ------------------------------------------------------------------------------


def run_deletion(runtime: Runtime, request_id: str) -> bool:
    """Claim and erase one deletion request; True when this call completed it."""
    claimed = _claim_and_load(runtime, request_id)
    if claimed is None:
        return False
    claim, start = claimed
    fields = {"deletion_request_id": claim.request_id, "attempt": claim.token}
    log.info("deletion started", extra={"fields": fields})
    try:
        summary = erase(runtime, claim, start=start)
    except LeaseLost:
        log.warning("deletion lease lost; another worker continues", extra={"fields": fields})
        return False
    except Exception as exc:
        log.exception("deletion attempt failed", extra={"fields": fields})
        _record_failure(runtime, claim, exc)
        return False
    log.info("deletion completed", extra={"fields": {**fields, **summary}})
    if not _settled_at_completion(runtime):
        try:
            settle_or_defer(runtime, claim.request_id)
        except Exception:
            # The erasure itself is committed; the sweep retries the storage step.
            log.exception("storage step after erasure failed", extra={"fields": fields})
    return True


@dataclass(frozen=True)
class _Start:
    """What the attempt starts from, read in the claim's transaction: the checkpoint, the
    request's sealed subject (a detached copy: unsealed inside the attempt, so a failure to
    open it is recorded like any other) and the workspace's PII keys."""

    progress: Progress
    sealed: DeletionRequest
    pii_keys: Any


def claim_request(runtime: Runtime, request_id: str) -> Claim | None:
    claimed = _claim_and_load(runtime, request_id)
    return None if claimed is None else claimed[0]


def _claim_and_load(runtime: Runtime, request_id: str) -> tuple[Claim, _Start] | None:
    """Claim the request (its start time set by the same UPDATE) and read where it stands,
    the subject and the workspace's PII keys: one transaction, two statements."""
    with db.session_scope(runtime.sessionmaker) as session:
        claimed = leases.claim(
            session,
            DeletionRequest,
            request_id,
            runnable=RUNNABLE,
            lease=runtime.settings.job_lease,
            set_status=DeletionStatus.PROCESSING,
            mark_started=True,
        )
        return _load(session, request_id) if claimed else None


def _load(session: Session, request_id: str) -> tuple[Claim, _Start] | None:
    row = session.execute(
        select(
            DeletionRequest.workspace_id,
            DeletionRequest.profile_id,
            DeletionRequest.attempts,
            DeletionRequest.progress,
            DeletionRequest.subject_sealed,
            Workspace.pii_keys,
        )
        .join(Workspace, Workspace.id == DeletionRequest.workspace_id)
        .where(DeletionRequest.id == request_id)
    ).one_or_none()
    if row is None:
        return None
    workspace_id, profile_id, attempts, progress, subject_sealed, pii_keys = row
    sealed = DeletionRequest(
        id=request_id, workspace_id=workspace_id, subject_sealed=subject_sealed
    )
    claim = Claim(request_id, workspace_id, profile_id, attempts)
    return claim, _Start(Progress.load(progress), sealed, pii_keys)


def _record_failure(runtime: Runtime, claim: Claim, exc: Exception) -> None:
    with db.session_scope(runtime.sessionmaker) as session:
        if not _holds_lease(session, claim, runtime.settings.job_lease):
            return
        failed = leases.record_failure(
            session,
            DeletionRequest,
            claim.request_id,
            error_code=type(exc).__name__,  # never the message: it may quote row values
            max_attempts=runtime.settings.job_max_attempts,
            failed_status=DeletionStatus.FAILED,
        )
        if failed:
            # `failed` is visible in the Deleted table and still retried, just less often.
            request = session.get(DeletionRequest, claim.request_id)
            if request is not None:
                request.next_attempt_at = utcnow() + FAILED_RETRY_AFTER


def _holds_lease(session: Session, claim: Claim, lease: timedelta) -> bool:
    """Fence: lock our request row and check nobody claimed it since (then extend the lease)."""
    result = session.execute(
        _FENCE,
        {"request_id": claim.request_id, "token": claim.token, "until": utcnow() + lease},
    )
    return db.rowcount(result) == 1


@contextmanager
def _fenced(ctx: ErasureContext) -> Iterator[Session]:
    """One short write transaction that holds the lease (or raises LeaseLost)."""
    with db.session_scope(ctx.runtime.sessionmaker) as session:
        if not _holds_lease(session, ctx.claim, ctx.runtime.settings.job_lease):
            raise LeaseLost()
        yield session


def _keep_lease(ctx: ErasureContext) -> None:
    with _fenced(ctx):
        pass


def _save(session: Session, ctx: ErasureContext, progress: Progress) -> None:
    session.execute(_SAVE, {"request_id": ctx.claim.request_id, "checkpoint": progress.dump()})


# -- the orchestrator -------------------------------------------------------------------------


def erase(runtime: Runtime, claim: Claim, *, start: _Start | None = None) -> dict[str, Any]:
    """Run (or resume) every step, then verify and complete; returns the summary."""
    if start is None:
        with db.session_scope(runtime.sessionmaker) as session:
            loaded = _load(session, claim.request_id)
            if loaded is None:
                raise LeaseLost()
            start = loaded[1]
    progress, pii_keys = start.progress, start.pii_keys
    subject = unseal_subject(runtime.seal_keyring, start.sealed)
    log.info(
        "deletion erasing",
        extra={
            "fields": {
                "deletion_request_id": claim.request_id,
                "phase": progress.phase.value,
                "resumed": progress.resumed,
                "pass": progress.passes,
            }
        },
    )
    scrubber = Scrubber(PiiKeys.for_workspace(pii_keys), SubjectMatcher(subject))
    ctx = ErasureContext(
        runtime=runtime,
        claim=claim,
        scrubber=scrubber,
        prefilter=Prefilter(scrubber),
        batch_size=max(1, runtime.settings.erasure_batch_size),
    )
    # Looked up per run, so the step list is the module's as it is now.
    steps = {step.phase: step for step in pipeline.STEPS}
    # Every step so far finished its phase in one batch: a small subject, whose verification
    # and completion may share the last batch's transaction.
    small = True
    while True:
        if progress.phase is Phase.VERIFY:
            residue = verify(ctx, keep_lease=lambda: _keep_lease(ctx))
            if residue and progress.passes < MAX_PASSES:
                log.warning(
                    "deletion verification found residue; erasing again",
                    extra={"fields": {"deletion_request_id": claim.request_id, "in": residue}},
                )
                progress.restart()
                with _fenced(ctx) as session:
                    _save(session, ctx, progress)
                continue
            return _complete(ctx, progress, residue=residue)
        summary = None
        with _fenced(ctx) as session:
            small = _run_batch(session, ctx, steps, progress) and small
            if small and progress.verifying and progress.passes == 1:
                summary = _verify_and_complete_here(session, ctx, progress)
            if summary is None:
                _save(session, ctx, progress)
        if summary is not None:
            return summary


def _run_batch(
    session: Session, ctx: ErasureContext, steps: dict[Phase, pipeline.Step], progress: Progress
) -> bool:
    """One transaction's work: a batch of the current step and, while each step finishes its
    phase and fewer than a batch of rows have been touched, the next steps too. True when
    every step it ran finished its phase."""
    touched = 0
    while progress.phase is not Phase.VERIFY:
        result = steps[progress.phase].run(StepContext(ctx, session, progress.cursor))
        progress.add(result.counts)
        if not result.done:
            progress.cursor = result.cursor
            return False
        progress.advance()
        touched += sum(result.counts.values())
        if touched >= ctx.batch_size:
            return True
    return True


def _verify_and_complete_here(
    session: Session, ctx: ErasureContext, progress: Progress
) -> dict[str, Any] | None:
    """A small subject: verify in the transaction that made the last changes (it reads what
    this transaction is about to commit, and on SQLite nobody else can write meanwhile) and,
    when nothing is found, complete in it too — one commit instead of three. None when the
    history is more than one batch after all, or something was found: the job then verifies
    the committed state the usual way (and erases again if it must)."""
    residue = verify(ctx, keep_lease=lambda: None, session=session)
    if residue is None or residue:
        return None
    return _write_completion(session, ctx, progress, residue=[])


# -- completion -------------------------------------------------------------------------------


def _settled_at_completion(runtime: Runtime) -> bool:
    """No storage step to run after this backend's erasure: it is settled when it completes."""
    return not storage_step_needed(runtime)


def _complete(ctx: ErasureContext, progress: Progress, *, residue: list[str]) -> dict[str, Any]:
    with _fenced(ctx) as session:
        summary = _write_completion(session, ctx, progress, residue=residue)
    if residue:
        log.error(
            "deletion completed but verification still finds residue",
            extra={"fields": {"deletion_request_id": ctx.claim.request_id}},
        )
    return summary


def _write_completion(
    session: Session, ctx: ErasureContext, progress: Progress, *, residue: list[str]
) -> dict[str, Any]:
    """The request completed, in `session` (which holds the lease); returns the summary."""
    summary: dict[str, Any] = {**{k: progress.counts.get(k, 0) for k in COUNT_KEYS}}
    verified = not residue
    summary["verified"] = verified
    if residue:
        summary["residue"] = residue  # where the final search still found the person (tables)
    progress.phase, progress.cursor = Phase.COMPLETED, None
    now = utcnow()
    session.execute(
        _COMPLETE,
        {
            "request_id": ctx.claim.request_id,
            "now": now,
            "done_summary": summary,
            "checkpoint": progress.dump(),
            # NULL: the storage step (settle_storage) is still to be done; where there is
            # none (PostgreSQL without the table rewrite), settled now.
            "settled_at": now if _settled_at_completion(ctx.runtime) else None,
        },
    )
    audit.record(
        session,
        workspace_id=ctx.claim.workspace_id,
        actor="system",
        action="deletion.completed",
        target_type="profile",
        target_id=ctx.claim.profile_id,
        details={"deletion_request_id": ctx.claim.request_id, **summary},
    )
    return summary
