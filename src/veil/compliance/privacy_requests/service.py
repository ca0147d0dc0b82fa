"""Privacy requests (SPEC §8): create (one, or a bulk of up to 5,000), read, extend, cancel.

Services never commit. Creating a request normalises and matches its identities at once (§8.1):
no match completes it there and then (`profile_ids: []`); otherwise the `privacy_request` job
runs its steps (veil.compliance.privacy_requests.steps). Every status change records its
signed callbacks in the same transaction (callbacks.record_status_change).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.privacy_requests import at_once, callbacks, deadlines, free_text
from veil.compliance.privacy_requests.identities import (
    Identity,
    match_subjects,
    normalize_identities,
    seal_identities,
)
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository
from veil.compliance.privacy_requests.schemas import RequestFilters
from veil.compliance.suppressions import service as suppressions
from veil.errors import (
    AlreadyExtended,
    IdempotencyConflict,
    NotCancellable,
    NotExtendable,
    NotFound,
    ValidationFailed,
)
from veil.kit.crypto import Keyring
from veil.kit.ids import new_id
from veil.kit.pagination import FIRST_PAGE, PageParams
from veil.kit.time import as_utc, utcnow
from veil.models import Base, PrivacyRequest, Workspace
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
    Regulation,
)
from veil.runtime import Runtime
from veil.workspaces import callback_secret

JOB = "privacy_request"
BATCH_JOB = "privacy_request_batch"
TARGET = "privacy_request"
MAX_BULK = 5000
# A client clock slightly ahead of ours is not a request "received in the future".
CLOCK_SKEW = timedelta(minutes=1)


@dataclass(frozen=True)
class NewRequest:
    """A create body as parsed at the edge; identities still as given."""

    type: PrivacyRequestType
    identities: list[tuple[str, str]]
    regulation: Regulation | None = None
    received_at: datetime | None = None
    reference: str | None = None
    callback_urls: list[str] = field(default_factory=list)
    suppress: bool | None = None


@dataclass(frozen=True)
class BulkSubject:
    identities: list[tuple[str, str]]
    reference: str | None = None


@dataclass(frozen=True)
class _Common:
    """What every request of one create call shares, checked once."""

    workspace: Workspace
    type: PrivacyRequestType
    regulation: Regulation
    received_at: datetime
    due_at: datetime
    callback_urls: list[str]
    suppress: bool


def _common(
    session: Session,
    runtime: Runtime,
    workspace_id: str,
    *,
    type: PrivacyRequestType,
    regulation: Regulation | None,
    received_at: datetime | None,
    callback_urls: list[str],
    suppress: bool | None,
) -> _Common:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found.")
    # `false` asks for nothing (it is what every other type shows), so only `true` is refused.
    if suppress and type != PrivacyRequestType.ERASURE:
        raise ValidationFailed("suppress applies to erasure requests only.")
    if suppress is None and type == PrivacyRequestType.ERASURE:
        suppress = suppressions.suppresses_by_default(session, workspace_id)
    now = utcnow()
    if received_at is not None:
        if received_at.tzinfo is None:
            raise ValidationFailed("received_at must include a time zone (RFC 3339).")
        received_at = as_utc(received_at)
        if received_at > now + CLOCK_SKEW:
            raise ValidationFailed("received_at must not be in the future.")
    received = received_at or now
    chosen = regulation or Regulation(workspace.default_regulation)
    urls = callbacks.check_urls(
        callback_urls, allow_private=runtime.settings.callback_allow_private
    )
    if urls:
        callback_secret.ensure(workspace, runtime.seal_keyring)
    return _Common(
        workspace=workspace,
        type=type,
        regulation=chosen,
        received_at=received,
        due_at=deadlines.due_at(chosen, received, other_days=workspace.other_regulation_days),
        callback_urls=urls,
        suppress=bool(suppress),
    )


def _row(
    runtime: Runtime,
    common: _Common,
    *,
    request_id: str,
    identities: tuple[Identity, ...],
    profile_ids: list[str],
    reference: str | None,
    source: PrivacyRequestSource,
    requested_by: str,
    now: datetime,
) -> dict[str, Any]:
    """The column values of one new request; no match completes it at once (§8.1)."""
    # A restriction is applied in the creating transaction (at_once): done there too.
    done = not profile_ids or common.type == PrivacyRequestType.RESTRICTION
    return {
        "id": request_id,
        "workspace_id": common.workspace.id,
        "type": common.type,
        "status": PrivacyRequestStatus.COMPLETED if done else PrivacyRequestStatus.PENDING,
        "regulation": common.regulation,
        "source": source,
        "identities_sealed": seal_identities(
            runtime.seal_keyring,
            identities,
            workspace_id=common.workspace.id,
            request_id=request_id,
        ),
        "reference_sealed": free_text.seal(
            runtime.seal_keyring,
            reference,
            workspace_id=common.workspace.id,
            request_id=request_id,
            field="reference",
        ),
        "received_at": common.received_at,
        "due_at": common.due_at,
        "extended": False,
        "completed_at": now if done else None,
        "requested_by": requested_by[:320],
        "suppress": common.suppress,
        "profile_ids": profile_ids,
        "export_ids": [],
        "deletion_ids": [],
        # Nothing held, nothing left to find: an erasure of no profile is verified.
        "verified": True if done and common.type == PrivacyRequestType.ERASURE else None,
        "callback_urls": common.callback_urls,
        "steps_started": done,
        "attempts": 0,
        # The job's message is on its way; the sweep re-enqueues only if it was lost.
        "next_attempt_at": None if done else now + runtime.settings.job_lease,
        "created_at": now,
        "updated_at": now,
    }


def _reference(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > 200:
        raise ValidationFailed("reference is at most 200 characters.")
    return value or None


def body_hash(body: dict[str, Any]) -> str:
    """The Idempotency-Key's fingerprint of a body: key order and spacing do not matter."""
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def create_request(
    session: Session,
    *,
    runtime: Runtime,
    workspace_id: str,
    new: NewRequest,
    source: PrivacyRequestSource,
    requested_by: str,
    actor: str,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
) -> tuple[PrivacyRequest, bool]:
    """Store a request and start it after commit; `(request, created)`.

    With an Idempotency-Key the same key and body give back the first request (created False);
    another body raises IdempotencyConflict. The unique index decides under concurrency.
    """
    repo = PrivacyRequestRepository(session, workspace_id)
    if idempotency_key is not None:
        if len(idempotency_key) > 255 or not idempotency_key.strip():
            raise ValidationFailed("Idempotency-Key must be 1 to 255 characters.")
        existing = repo.by_idempotency_key(idempotency_key)
        if existing is not None:
            return _replayed(existing, fingerprint), False
    common = _common(
        session,
        runtime,
        workspace_id,
        type=new.type,
        regulation=new.regulation,
        received_at=new.received_at,
        callback_urls=new.callback_urls,
        suppress=new.suppress,
    )
    region = common.workspace.default_phone_region
    identities = normalize_identities(new.identities, region=region)
    reference = _reference(new.reference)
    [profile_ids] = match_subjects(session, workspace_id=workspace_id, subjects=[identities])
    now = utcnow()
    request_id = new_id("prq")
    values = _row(
        runtime,
        common,
        request_id=request_id,
        identities=identities,
        profile_ids=profile_ids,
        reference=reference,
        source=source,
        requested_by=requested_by,
        now=now,
    )
    digest = None if idempotency_key is None else free_text.idempotency_digest(idempotency_key)
    request = PrivacyRequest(**values, idempotency_key=digest, idempotency_hash=fingerprint)
    try:
        with session.begin_nested():
            session.add(request)
            session.flush()
    except IntegrityError:
        # The same key won in a concurrent transaction: answer as its replay would.
        winner = repo.by_idempotency_key(idempotency_key) if idempotency_key else None
        if winner is None:
            raise
        return _replayed(winner, fingerprint), False
    audit_request(
        session,
        request,
        "privacy_request.created",
        actor=actor,
        type=str(request.type),
        source=str(request.source),
        regulation=str(request.regulation),
        profiles=len(profile_ids),
    )
    if request.status == PrivacyRequestStatus.COMPLETED:
        at_once.finish(session, runtime, values, identities)
        callbacks.record_status_change(session, request, seq=1)
    else:
        db.enqueue_after_commit(session, JOB, request.id)
    return request, True


def _replayed(existing: PrivacyRequest, fingerprint: str | None) -> PrivacyRequest:
    if existing.idempotency_hash != fingerprint:
        raise IdempotencyConflict()
    return existing


def create_bulk(
    session: Session,
    *,
    runtime: Runtime,
    workspace_id: str,
    type: PrivacyRequestType,
    regulation: Regulation | None,
    suppress: bool | None,
    callback_urls: list[str],
    subjects: list[BulkSubject],
    requested_by: str,
    actor: str,
) -> list[str]:
    """All or nothing: every subject is checked before one row is written; the ids, in order.

    One transaction, one multi-row INSERT, one batched lookup per identifier type, one audit
    entry and one job that fans out over the batch: 5,000 subjects cost no per-subject round trip.
    """
    if not 1 <= len(subjects) <= MAX_BULK:
        raise ValidationFailed(f"subjects must hold 1 to {MAX_BULK} subjects.")
    common = _common(
        session,
        runtime,
        workspace_id,
        type=type,
        regulation=regulation,
        received_at=None,
        callback_urls=callback_urls,
        suppress=suppress,
    )
    region = common.workspace.default_phone_region
    normalized: list[tuple[Identity, ...]] = []
    references: list[str | None] = []
    for index, subject in enumerate(subjects):
        where = f"subjects[{index}].identities"
        normalized.append(normalize_identities(subject.identities, region=region, where=where))
        try:
            references.append(_reference(subject.reference))
        except ValidationFailed as exc:
            raise ValidationFailed(f"subjects[{index}]: {exc.message}") from None
    matches = match_subjects(session, workspace_id=workspace_id, subjects=normalized)
    now = utcnow()
    batch_id = new_id("bat")
    rows = [
        {
            **_row(
                runtime,
                common,
                request_id=new_id("prq"),
                identities=identities,
                profile_ids=profile_ids,
                reference=reference,
                source=PrivacyRequestSource.BULK,
                requested_by=requested_by,
                now=now,
            ),
            "batch_id": batch_id,
        }
        for identities, profile_ids, reference in zip(normalized, matches, references, strict=True)
    ]
    # Core inserts on the tables: executemany without the ORM's per-row bookkeeping.
    session.execute(insert(Base.metadata.tables["privacy_requests"]), rows)
    deliveries = [
        {
            "id": new_id("cbk"),
            "workspace_id": workspace_id,
            "request_id": row["id"],
            "url": url,
            "announced_status": str(PrivacyRequestStatus.COMPLETED),
            "seq": 1,
            "body": callbacks.body_of(PrivacyRequest(**row)),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for row in rows
        if row["status"] == PrivacyRequestStatus.COMPLETED
        for url in common.callback_urls
    ]
    if deliveries:
        session.execute(insert(Base.metadata.tables["privacy_request_callbacks"]), deliveries)
    for row, identities in zip(rows, normalized, strict=True):
        if row["status"] == PrivacyRequestStatus.COMPLETED:
            at_once.finish(session, runtime, row, identities)
    ids = [str(row["id"]) for row in rows]
    audit.record(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="privacy_request.bulk_created",
        target_type="privacy_request_batch",
        target_id=batch_id,
        details={"type": str(type), "count": len(ids), "request_ids": ids},
    )
    db.enqueue_after_commit(session, BATCH_JOB, batch_id)
    return ids


# -- reading ----------------------------------------------------------------------------------


def get_request(
    session: Session, *, workspace_id: str, request_id: str, for_update: bool = False
) -> PrivacyRequest:
    repo = PrivacyRequestRepository(session, workspace_id)
    return repo.get_one(request_id, for_update=for_update)


NO_FILTERS = RequestFilters()


def page_requests(
    session: Session,
    *,
    workspace_id: str,
    filters: RequestFilters = NO_FILTERS,
    page: PageParams = FIRST_PAGE,
) -> tuple[list[PrivacyRequest], str | None]:
    """Newest first; every filter, `overdue` included, is part of the SQL."""
    repo = PrivacyRequestRepository(session, workspace_id)
    return repo.newest_first(page, repo.listing(filters, now=utcnow()))


# -- extend and cancel ------------------------------------------------------------------------


def extend_request(
    session: Session,
    *,
    workspace_id: str,
    request_id: str,
    reason: str,
    actor: str,
    keyring: Keyring,
) -> PrivacyRequest:
    """The one extension the regulation allows, with its reason (§8.5)."""
    request = get_request(
        session, workspace_id=workspace_id, request_id=request_id, for_update=True
    )
    reason = (reason or "").strip()
    if not reason or len(reason) > 500:
        raise ValidationFailed("reason is required (1 to 500 characters).")
    if not deadlines.is_extendable(request.regulation):
        raise NotExtendable()
    if request.extended:
        raise AlreadyExtended()
    now = utcnow()
    request.due_at = deadlines.extended_due_at(request.regulation, request.received_at)
    request.extended = True
    request.extension_reason_sealed = free_text.seal(
        keyring, reason, workspace_id=workspace_id, request_id=request.id, field="extension_reason"
    )
    request.extended_at = now
    request.updated_at = now
    session.flush()
    audit_request(session, request, "privacy_request.extended", actor=actor)
    return request


def cancel_request(
    session: Session, *, workspace_id: str, request_id: str, actor: str
) -> PrivacyRequest:
    """pending → cancelled, by a conditional UPDATE that the worker's start cannot also win."""
    repo = PrivacyRequestRepository(session, workspace_id)
    if not repo.cancel_if_pending(request_id, now=utcnow()):
        get_request(session, workspace_id=workspace_id, request_id=request_id)
        raise NotCancellable()
    request = get_request(session, workspace_id=workspace_id, request_id=request_id)
    session.refresh(request)
    audit_request(session, request, "privacy_request.cancelled", actor=actor)
    callbacks.record_status_change(session, request)
    return request


def audit_request(
    session: Session,
    request: PrivacyRequest,
    action: str,
    *,
    actor: str = "system",
    **details: str | int | bool,
) -> None:
    """One audit entry about a privacy request: ids and counts, never an identity."""
    audit.record_about(session, request, TARGET, action, actor=actor, details=dict(details))
