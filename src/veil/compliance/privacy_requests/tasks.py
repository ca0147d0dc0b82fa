"""Background work for privacy requests: the `privacy_request` job (start, then check the
steps), `privacy_request_batch` (a bulk upload's fan-out), `privacy_callback` (one signed
delivery) and the `privacy_requests` sweep that re-enqueues whatever is due or was lost.

Completion of the steps is found by re-checking, not by hooks in the export and deletion
jobs: right after the steps are created the job enqueues itself behind their jobs (the queue
is FIFO, so with one worker the re-check usually finds them done), and otherwise the sweep
re-checks every RECHECK. The request row stays the source of truth either way.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.privacy_requests import callbacks, free_text, repository
from veil.compliance.privacy_requests.profile_actions import SHOP_SCOPE, delete_profile
from veil.compliance.privacy_requests.service import BATCH_JOB, JOB, TARGET, audit_request
from veil.compliance.privacy_requests.steps import Outcome, check_steps, start_steps
from veil.errors import ProfileDeleted
from veil.kit.time import utcnow
from veil.models import PrivacyRequest, Workspace
from veil.models.privacy_callback import DeliveryStatus
from veil.models.privacy_request import RUNNABLE_STATUSES, PrivacyRequestStatus
from veil.runtime import Runtime
from veil.worker import leases
from veil.worker.queue import register_job, register_sweeper
from veil.workspaces import callback_secret

log = logging.getLogger("veil.privacy_requests")

RECHECK = timedelta(seconds=15)
FANOUT_BATCH = 200
DELIVERY_LEASE = timedelta(seconds=60)

__all__ = ["deliver_callback", "process_batch", "process_request", "sweep_privacy_requests"]


@register_job(JOB)
def process_request(runtime: Runtime, request_id: str) -> None:
    """Start a request's steps, or check whether they finished. Idempotent.

    The `in_progress` deliveries are recorded with the start but enqueued only once the steps'
    jobs and the re-check are queued: in a FIFO queue they then run after the work that
    completes the request instead of delaying it (issue 13), and still before the `completed`
    delivery, which the re-check enqueues (each delivery also waits for earlier ones to its URL).
    """
    claimed, announced = _claim(runtime, request_id)
    try:
        if not claimed:
            return
        with db.session_scope(runtime.sessionmaker) as session:
            request = repository.request_by_id(session, request_id)
            scope = request.scope if request is not None else None
            if request is not None and (scope is None or not scope.startswith(SHOP_SCOPE)):
                _advance(session, runtime, request)
        _enqueue_deliveries(runtime, announced)
        if scope is not None and scope.startswith(SHOP_SCOPE):
            _fan_out_shop(runtime, request_id, scope.removeprefix(SHOP_SCOPE) or None)
    except Exception as exc:
        _record_failure(runtime, request_id, exc)
    finally:
        _enqueue_deliveries(runtime, announced)


def _enqueue_deliveries(runtime: Runtime, delivery_ids: list[str]) -> None:
    """Enqueue (once) deliveries recorded by a committed transaction; a message lost here, or
    never sent because the process died first, is re-enqueued by the sweep."""
    while delivery_ids:
        delivery_id = delivery_ids.pop(0)
        try:
            runtime.queue.enqueue(callbacks.JOB, delivery_id)
        except Exception:
            log.exception("enqueueing a callback failed; the sweep will pick it up")


def _claim(runtime: Runtime, request_id: str) -> tuple[bool, list[str]]:
    """The lease on the request, and the `in_progress` deliveries when this started it (not
    enqueued yet: the caller does that once the steps are queued)."""
    announced: list[str] = []
    with db.session_scope(runtime.sessionmaker) as session:
        if repository.start_if_pending(session, request_id, now=utcnow()):
            request = repository.request_by_id(session, request_id)
            if request is not None:
                announced = callbacks.record_status_change(session, request, enqueue=False)
        claimed = leases.claim(
            session,
            PrivacyRequest,
            request_id,
            runnable=(PrivacyRequestStatus.IN_PROGRESS,),
            lease=runtime.settings.job_lease,
        )
    return claimed, announced


def _advance(session: Session, runtime: Runtime, request: PrivacyRequest) -> None:
    """Start the steps (first pass) and check them. The request's own changes are made after
    the steps' queries, so they reach the database in one UPDATE (with the transaction's
    commit, or the audit entry's flush) instead of one per query that would autoflush them."""
    if request.status != PrivacyRequestStatus.IN_PROGRESS:
        return
    now = utcnow()
    first_pass = not request.steps_started
    if first_pass:
        start_steps(session, runtime, request)
        if session.new:  # a step its service left unflushed: the check must read it
            session.flush()
    with session.no_autoflush:  # the steps' rows are in the database (their services flush)
        outcome = check_steps(session, request)
    request.lease_until = None
    request.attempts = 0
    request.last_error = None
    if outcome is Outcome.DONE:
        request.status = PrivacyRequestStatus.COMPLETED
        request.completed_at = now
        request.next_attempt_at = None
        callbacks.record_status_change(session, request)
        audit_request(session, request, "privacy_request.completed")
    elif outcome is Outcome.FAILED:
        request.status = PrivacyRequestStatus.FAILED
        request.next_attempt_at = None
        request.last_error = "step_failed"
        callbacks.record_status_change(session, request)
        audit_request(session, request, "privacy_request.failed")
    elif first_pass:
        # Queued behind the steps' own jobs: with one worker they are done when it runs.
        request.next_attempt_at = now + runtime.settings.job_lease
        db.enqueue_after_commit(session, JOB, request.id)
    else:
        request.next_attempt_at = now + RECHECK


def _fan_out_shop(runtime: Runtime, request_id: str, shop_domain: str | None) -> None:
    """shop/redact: an erasure request per active profile of the shop, FANOUT_BATCH per
    transaction. Resumable: a requested profile is no longer active, so a rerun skips it."""
    from veil.integrations.shopify.repository import ShopifyProfiles

    total = 0
    while True:
        with db.session_scope(runtime.sessionmaker) as session:
            parent = repository.request_by_id(session, request_id)
            if parent is None or parent.status != PrivacyRequestStatus.IN_PROGRESS:
                return
            shop = ShopifyProfiles(session, parent.workspace_id)
            batch = shop.active_ids_from_shop(shop_domain, limit=FANOUT_BATCH)
            for profile_id in batch:
                try:
                    delete_profile(
                        session,
                        runtime=runtime,
                        workspace_id=parent.workspace_id,
                        profile_id=profile_id,
                        requested_by="shopify",
                        actor="shopify",
                        source="shopify",
                    )
                except ProfileDeleted:
                    continue
            repository.extend_lease(
                session, request_id, until=utcnow() + runtime.settings.job_lease
            )
        total += len(batch)
        if len(batch) < FANOUT_BATCH:
            break
    with db.session_scope(runtime.sessionmaker) as session:
        parent = repository.request_by_id(session, request_id)
        if parent is None or parent.status != PrivacyRequestStatus.IN_PROGRESS:
            return
        parent.steps_started = True
        parent.status = PrivacyRequestStatus.COMPLETED
        parent.completed_at = utcnow()
        parent.lease_until = None
        parent.next_attempt_at = None
        callbacks.record_status_change(session, parent)
        audit_request(session, parent, "privacy_request.completed", requests=total)


def _record_failure(runtime: Runtime, request_id: str, exc: Exception) -> None:
    code = f"step_failed:{type(exc).__name__}"
    with db.session_scope(runtime.sessionmaker) as session:
        failed = leases.record_failure(
            session,
            PrivacyRequest,
            request_id,
            error_code=code,
            max_attempts=runtime.settings.job_max_attempts,
            failed_status=PrivacyRequestStatus.FAILED,
        )
        if failed:
            request = repository.request_by_id(session, request_id)
            if request is not None:
                callbacks.record_status_change(session, request)
                audit_request(session, request, "privacy_request.failed")
    log.warning(
        "privacy request step failed",
        extra={"fields": {"privacy_request_id": request_id, "error": code, "final": failed}},
    )


@register_job(BATCH_JOB)
def process_batch(runtime: Runtime, batch_id: str) -> None:
    """A bulk upload's requests, one by one (each in its own transactions), then the callbacks
    of those that completed at once."""
    with db.read_only_session(runtime.sessionmaker) as session:
        ids = repository.batch_request_ids(session, batch_id)
    for request_id in ids:
        process_request(runtime, request_id)
    with db.read_only_session(runtime.sessionmaker) as session:
        due = repository.first_deliveries_of_batch(session, batch_id)
    for delivery_id in due:
        runtime.queue.enqueue(callbacks.JOB, delivery_id)


# -- callbacks --------------------------------------------------------------------------------


@register_job(callbacks.JOB)
def deliver_callback(runtime: Runtime, delivery_id: str) -> None:
    """One attempt at one delivery, in order: a delivery waits for earlier ones to its URL."""
    allow_private = runtime.settings.callback_allow_private
    with db.session_scope(runtime.sessionmaker) as session:
        now = utcnow()
        delivery = repository.delivery_by_id(session, delivery_id)
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return
        if repository.earlier_pending_delivery(session, delivery):
            # The earlier one enqueues this when it is settled; the sweep is the safety net.
            delivery.next_attempt_at = now + DELIVERY_LEASE
            return
        if not repository.claim_delivery(session, delivery_id, now=now, until=now + DELIVERY_LEASE):
            return
        workspace = session.get(Workspace, delivery.workspace_id)
        if workspace is None:  # pragma: no cover - cascaded away with its workspace
            return
        keyring = runtime.seal_keyring
        secret = callback_secret.ensure(workspace, keyring)
        request = session.get_one(PrivacyRequest, delivery.request_id)
        url = delivery.url
        body = free_text.with_reference(delivery.body, free_text.reference_of(keyring, request))
    attempt = callbacks.send(url, body, secret=secret, allow_private=allow_private)
    _record_attempt(runtime, delivery_id, attempt)


def _record_attempt(runtime: Runtime, delivery_id: str, attempt: callbacks.Attempt) -> None:
    with db.session_scope(runtime.sessionmaker) as session:
        delivery = repository.delivery_by_id(session, delivery_id)
        if delivery is None:  # pragma: no cover
            return
        now = utcnow()
        delivery.attempts += 1
        delivery.last_status_code = attempt.status_code
        delivery.last_attempt_at = now
        delivery.last_error = attempt.error
        delivery.lease_until = None
        if attempt.delivered:
            delivery.status = DeliveryStatus.DELIVERED
            delivery.next_attempt_at = None
        elif delivery.attempts >= callbacks.MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + timedelta(
                seconds=callbacks.pause_after(delivery.attempts)
            )
        details: dict[str, str | int | bool] = {
            "delivery_id": delivery.id,
            "attempt": delivery.attempts,
            "outcome": str(delivery.status),
        }
        if attempt.status_code is not None:
            details["status_code"] = attempt.status_code
        audit.record(
            session,
            workspace_id=delivery.workspace_id,
            actor="system",
            action="privacy_request.callback_attempted",
            target_type=TARGET,
            target_id=delivery.request_id,
            details=details,
        )
        if delivery.status != DeliveryStatus.PENDING:
            following = repository.deferred_next_delivery(session, delivery)
            if following is not None:
                db.enqueue_after_commit(session, callbacks.JOB, following)


# -- the sweep --------------------------------------------------------------------------------


@register_sweeper("privacy_requests")
def sweep_privacy_requests(runtime: Runtime) -> dict[str, int]:
    """Re-enqueue requests due for a (re-)check or lost, and callbacks due for an attempt."""
    hold = runtime.settings.job_lease
    with db.session_scope(runtime.sessionmaker) as session:
        now = utcnow()
        due = leases.due_for_enqueue(session, PrivacyRequest, runnable=RUNNABLE_STATUSES)
        leases.mark_enqueued(session, PrivacyRequest, due, hold=hold)
        deliveries = repository.due_deliveries(session, now=now)
        repository.hold_deliveries(session, deliveries, until=now + DELIVERY_LEASE)
        for request_id in due:
            db.enqueue_after_commit(session, JOB, request_id)
        for delivery_id in deliveries:
            db.enqueue_after_commit(session, callbacks.JOB, delivery_id)
    return {
        "requests": len(due),
        "callbacks": len(deliveries),
        "sealed": free_text.seal_plain_text(runtime),
    }
