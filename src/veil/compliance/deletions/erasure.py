"""The erasure job: apply veil.compliance.erasure_rules to one profile, verify, keep the record.

Crash-safe and idempotent by construction:
- the request row is the source of truth; a worker claims it with a lease (worker.leases) and
  every write transaction first re-checks that the lease is still its own (the attempt number
  taken at claim time is the fencing token), so two workers never interleave;
- the work runs in phases — exports, events, recipients, consents, profile, verify — and the
  big ones in bounded batches of `erasure_batch_size` rows, each batch its own short
  transaction that also stores the progress (phase, keyset cursor, counts). A process killed
  at any point rolls back at most one batch and resumes after the last committed one;
- every step only ever moves data towards "erased" (scrubbing scrubbed data changes nothing,
  redacted recipients are skipped), so repeating a step is harmless and counts stay exact.

Verification re-reads everything the rules touched and searches it for every identifier of
the subject. If something is found (a concurrent write that slipped in, say), the phases run
once more; `summary.verified` is true only when the final search finds nothing.
"""

from __future__ import annotations

import logging
import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, Text, bindparam, delete, func, select, tuple_, update
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.deletions.compaction import compact
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, SubjectMatcher, Verdict
from veil.compliance.deletions.service import JOB, unseal_subject
from veil.compliance.erasure_rules import (
    REDACTED,
    REDACTED_EMAIL_DOMAIN,
    REDACTED_PREFIX,
    PiiKeys,
    Rule,
    cleared_profile_values,
    rules_for,
)
from veil.compliance.exports.lifecycle import destroy_exports_of_profile
from veil.kit.time import utcnow
from veil.models import (
    Consent,
    DeletionRequest,
    Event,
    ExportRequest,
    Profile,
    Recipient,
    Workspace,
)
from veil.models.deletion_request import COMPLETED, FAILED, PENDING, PROCESSING
from veil.models.export_request import EXPIRED
from veil.models.profile import DELETED
from veil.runtime import Runtime
from veil.worker import leases

log = logging.getLogger("veil.compliance.deletions")

RUNNABLE = (PENDING, PROCESSING, FAILED)
PHASES = ("exports", "events", "recipients", "consents", "profile", "verify")
MAX_PASSES = 2
FAILED_RETRY_AFTER = timedelta(hours=1)
COUNT_KEYS = ("events_scrubbed", "recipients_redacted", "consents_deleted", "exports_destroyed")

_ALPHANUMERIC = string.ascii_lowercase + string.digits
_EVENTS = cast(Table, Event.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)


class LeaseLost(Exception):
    """Another worker holds this request now (our lease ran out): stop without writing."""


@dataclass(frozen=True)
class Claim:
    request_id: str
    workspace_id: str
    profile_id: str
    token: int  # the attempt number taken at claim time: fences every later write


@dataclass
class Progress:
    phase: str
    cursor: dict[str, str] | None
    passes: int
    counts: dict[str, int]

    @classmethod
    def load(cls, data: dict[str, Any] | None) -> Progress:
        data = data or {}
        phase = data.get("phase")
        return cls(
            phase=phase if phase in PHASES else PHASES[0],
            cursor=data.get("cursor"),
            passes=int(data.get("pass") or 1),
            counts={k: int((data.get("counts") or {}).get(k, 0)) for k in COUNT_KEYS},
        )

    def dump(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "cursor": self.cursor,
            "pass": self.passes,
            "counts": self.counts,
        }

    def advance(self) -> None:
        self.phase = PHASES[PHASES.index(self.phase) + 1]
        self.cursor = None

    def add(self, key: str, amount: int) -> None:
        self.counts[key] = self.counts.get(key, 0) + amount


# -- entry point ------------------------------------------------------------------------------


def run_deletion(runtime: Runtime, request_id: str) -> bool:
    """Claim and erase one deletion request; True when this call completed it."""
    claim = _claim(runtime, request_id)
    if claim is None:
        return False
    fields = {"deletion_request_id": claim.request_id, "attempt": claim.token}
    log.info("deletion started", extra={"fields": fields})
    try:
        summary = erase(runtime, claim)
    except LeaseLost:
        log.warning("deletion lease lost; another worker continues", extra={"fields": fields})
        return False
    except Exception as exc:
        log.exception("deletion attempt failed", extra={"fields": fields})
        _record_failure(runtime, claim, exc)
        return False
    log.info("deletion completed", extra={"fields": {**fields, **summary}})
    try:
        settle_storage(runtime, claim.request_id)
    except Exception:
        # The erasure itself is committed; the sweep retries the storage step.
        log.exception("storage step after erasure failed", extra={"fields": fields})
    return True


def _claim(runtime: Runtime, request_id: str) -> Claim | None:
    with db.session_scope(runtime.sessionmaker) as session:
        claimed = leases.claim(
            session,
            DeletionRequest,
            request_id,
            runnable=RUNNABLE,
            lease=runtime.settings.job_lease,
            set_status=PROCESSING,
        )
        if not claimed:
            return None
        request = session.get(DeletionRequest, request_id)
        if request is None:  # pragma: no cover - claimed rows exist
            return None
        if request.started_at is None:
            request.started_at = utcnow()
        return Claim(request.id, request.workspace_id, request.profile_id, request.attempts)


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
            failed_status=FAILED,
        )
        if failed:
            # `failed` is visible in the Deleted table and still retried, just less often.
            request = session.get(DeletionRequest, claim.request_id)
            if request is not None:
                request.next_attempt_at = utcnow() + FAILED_RETRY_AFTER


def _holds_lease(session: Session, claim: Claim, lease: timedelta) -> bool:
    """Fence: lock our request row and check nobody claimed it since (then extend the lease)."""
    result = session.execute(
        update(DeletionRequest)
        .where(
            DeletionRequest.id == claim.request_id,
            DeletionRequest.attempts == claim.token,
            DeletionRequest.status == PROCESSING,
        )
        .values(lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


@dataclass
class _Context:
    runtime: Runtime
    claim: Claim
    scrubber: Scrubber
    prefilter: Prefilter
    batch_size: int

    def properties(self, text: str | None) -> Any:
        """The event's properties decoded from their stored text, as the ORM would."""
        return None if text is None else db.json_loads(text)


@contextmanager
def _step(ctx: _Context) -> Iterator[Session]:
    """One short write transaction that holds the lease (or raises LeaseLost)."""
    with db.session_scope(ctx.runtime.sessionmaker) as session:
        if not _holds_lease(session, ctx.claim, ctx.runtime.settings.job_lease):
            raise LeaseLost()
        yield session


def _save(session: Session, ctx: _Context, progress: Progress) -> None:
    session.execute(
        update(DeletionRequest)
        .where(DeletionRequest.id == ctx.claim.request_id)
        .values(progress=progress.dump())
        .execution_options(synchronize_session=False)
    )


def erase(runtime: Runtime, claim: Claim) -> dict[str, Any]:
    """Run (or resume) every phase, then verify and complete; returns the summary."""
    with db.session_scope(runtime.sessionmaker) as session:
        request = session.get(DeletionRequest, claim.request_id)
        if request is None:
            raise LeaseLost()
        progress = Progress.load(request.progress)
        subject = unseal_subject(runtime.seal_keyring, request)
        pii_keys = session.scalar(
            select(Workspace.pii_keys).where(Workspace.id == claim.workspace_id)
        )
    log.info(
        "deletion erasing",
        extra={
            "fields": {
                "deletion_request_id": claim.request_id,
                "phase": progress.phase,
                "resumed": progress.cursor is not None or progress.phase != PHASES[0],
                "pass": progress.passes,
            }
        },
    )
    scrubber = Scrubber(PiiKeys.for_workspace(pii_keys), SubjectMatcher(subject))
    ctx = _Context(
        runtime=runtime,
        claim=claim,
        scrubber=scrubber,
        prefilter=Prefilter(scrubber),
        batch_size=max(1, runtime.settings.erasure_batch_size),
    )
    while True:
        if progress.phase == "verify":
            residue = verify(ctx)
            if residue and progress.passes < MAX_PASSES:
                log.warning(
                    "deletion verification found residue; erasing again",
                    extra={"fields": {"deletion_request_id": claim.request_id, "in": residue}},
                )
                progress.passes += 1
                progress.phase, progress.cursor = PHASES[0], None
                with _step(ctx) as session:
                    _save(session, ctx, progress)
                continue
            return _complete(ctx, progress, residue=residue)
        with _step(ctx) as session:
            STEPS[progress.phase](session, ctx, progress)
            _save(session, ctx, progress)


# -- phases: each call is one bounded step inside one transaction ------------------------------


def _erase_exports(session: Session, ctx: _Context, progress: Progress) -> None:
    requests, _files = destroy_exports_of_profile(
        session,
        ctx.runtime,
        workspace_id=ctx.claim.workspace_id,
        profile_id=ctx.claim.profile_id,
    )
    progress.add("exports_destroyed", requests)
    progress.advance()


def _events_page(ctx: _Context, cursor: dict[str, str] | None) -> Any:
    # The properties as their stored JSON text: the prefilter reads it, and only the events it
    # cannot clear are decoded (ctx.properties) and walked.
    stmt = select(
        Event.id,
        Event.timestamp,
        Event.type,
        Event.message_id,
        cast_(Event.properties, Text).label("properties_text"),
    ).where(Event.workspace_id == ctx.claim.workspace_id, Event.profile_id == ctx.claim.profile_id)
    if cursor:
        # Keyset on (timestamp, id): exactly the order of ix_events_profile_timestamp, so each
        # batch is an index range scan however many events the profile has.
        after = (datetime.fromisoformat(cursor["timestamp"]), cursor["id"])
        stmt = stmt.where(
            tuple_(Event.timestamp, Event.id)
            > tuple_(
                bindparam("after_ts", after[0], type_=_EVENTS.c.timestamp.type),
                bindparam("after_id", after[1], type_=_EVENTS.c.id.type),
            )
        )
    return stmt.order_by(Event.timestamp, Event.id).limit(ctx.batch_size)


def _event_cursor(row: Any) -> dict[str, str]:
    return {"timestamp": row.timestamp.isoformat(), "id": row.id}


_update_event = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(
        properties=bindparam("b_properties", type_=_EVENTS.c.properties.type),
        type=bindparam("b_type"),
        message_id=bindparam("b_message_id"),
    )
)


def _erase_events(session: Session, ctx: _Context, progress: Progress) -> None:
    rows = session.execute(_events_page(ctx, progress.cursor)).all()
    changes: list[dict[str, Any]] = []
    scrubber = ctx.scrubber
    prefilter = ctx.prefilter
    for row in rows:
        verdict = prefilter.verdict(row.properties_text)
        if verdict is Verdict.CLEAN:
            properties, changed = None, False
        else:
            properties, changed = scrubber.scrub_properties(
                ctx.properties(row.properties_text), leaves=verdict is Verdict.FULL
            )
        event_type = REDACTED if scrubber.text_is_personal(row.type) else row.type
        message_id = None if scrubber.text_is_personal(row.message_id) else row.message_id
        if changed or event_type != row.type or message_id != row.message_id:
            if properties is None:  # left unread by the prefilter: as it was (or {})
                properties, _ = scrubber.scrub_properties(ctx.properties(row.properties_text))
            changes.append(
                {
                    "b_id": row.id,
                    "b_properties": properties,
                    "b_type": event_type,
                    "b_message_id": message_id,
                }
            )
    if changes:
        session.execute(_update_event, changes)
    progress.add("events_scrubbed", len(changes))
    if len(rows) < ctx.batch_size:
        progress.advance()
    else:
        progress.cursor = _event_cursor(rows[-1])


def redacted_email() -> str:
    return f"{REDACTED_PREFIX}{secrets.token_hex(12)}@{REDACTED_EMAIL_DOMAIN}"


def redacted_phone() -> str:
    # 24 random characters: fits the 32-character column, never a dialable number.
    return REDACTED_PREFIX + "".join(secrets.choice(_ALPHANUMERIC) for _ in range(24))


_REDACTORS = {Rule.REDACT_EMAIL: redacted_email, Rule.REDACT_PHONE: redacted_phone}


def _erase_recipients(session: Session, ctx: _Context, progress: Progress) -> None:
    columns = [c for c in rules_for("recipients") if c.rule in _REDACTORS]
    rows = session.execute(
        select(Recipient.id, *(getattr(Recipient, c.column) for c in columns))
        .where(
            Recipient.workspace_id == ctx.claim.workspace_id,
            Recipient.profile_id == ctx.claim.profile_id,
            Recipient.redacted_at.is_(None),
        )
        .order_by(Recipient.id)
        .limit(ctx.batch_size)
    ).all()
    now = utcnow()
    changes: list[dict[str, Any]] = []
    for row in rows:
        change: dict[str, Any] = {"b_id": row.id, "b_redacted_at": now}
        for column in columns:
            value = getattr(row, column.column)
            # Every row gets every column, so one executemany serves the batch; a column
            # that held nothing stays empty.
            change[f"b_{column.column}"] = None if value is None else _REDACTORS[column.rule]()
        changes.append(change)
    if changes:
        session.execute(
            update(_RECIPIENTS)
            .where(
                _RECIPIENTS.c.id == bindparam("b_id"),
                _RECIPIENTS.c.workspace_id == ctx.claim.workspace_id,
            )
            .values(
                redacted_at=bindparam("b_redacted_at", type_=_RECIPIENTS.c.redacted_at.type),
                **{c.column: bindparam(f"b_{c.column}") for c in columns},
            ),
            changes,
        )
    progress.add("recipients_redacted", len(rows))
    if len(rows) < ctx.batch_size:
        progress.advance()


def _erase_consents(session: Session, ctx: _Context, progress: Progress) -> None:
    result = session.execute(
        delete(Consent)
        .where(
            Consent.workspace_id == ctx.claim.workspace_id,
            Consent.profile_id == ctx.claim.profile_id,
        )
        .execution_options(synchronize_session=False)
    )
    progress.add("consents_deleted", int(getattr(result, "rowcount", 0) or 0))
    progress.advance()


def _erase_profile(session: Session, ctx: _Context, progress: Progress) -> None:
    now = utcnow()
    session.execute(
        update(Profile)
        .where(Profile.id == ctx.claim.profile_id, Profile.workspace_id == ctx.claim.workspace_id)
        .values(
            **cleared_profile_values(),
            status=DELETED,
            deleted_at=func.coalesce(Profile.deleted_at, now),
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    progress.advance()


STEPS = {
    "exports": _erase_exports,
    "events": _erase_events,
    "recipients": _erase_recipients,
    "consents": _erase_consents,
    "profile": _erase_profile,
}


# -- verification -----------------------------------------------------------------------------


def verify(ctx: _Context) -> list[str]:
    """Re-read every erased row and search it for the subject; the tables where something is
    left (empty: nothing found). Reads in short read-only batches; keeps the lease alive."""
    residue: list[str] = []
    if _events_with_residue(ctx):
        residue.append("events")
    with db.read_only_session(ctx.runtime.sessionmaker) as session:
        residue.extend(_rows_with_residue(session, ctx))
    return residue


def _events_with_residue(ctx: _Context) -> int:
    found = 0
    cursor: dict[str, str] | None = None
    scrubber, prefilter = ctx.scrubber, ctx.prefilter
    while True:
        with db.read_only_session(ctx.runtime.sessionmaker) as session:
            rows = session.execute(_events_page(ctx, cursor)).all()
        for row in rows:
            # Events the prefilter clears provably hold nothing residue() would report.
            verdict = prefilter.verdict(row.properties_text)
            if (
                (
                    verdict is not Verdict.CLEAN
                    and scrubber.residue(
                        ctx.properties(row.properties_text) or {},
                        leaves=verdict is Verdict.FULL,
                    )
                )
                or scrubber.text_is_personal(row.type)
                or scrubber.text_is_personal(row.message_id)
            ):
                found += 1
        if len(rows) < ctx.batch_size:
            return found
        cursor = _event_cursor(rows[-1])
        with _step(ctx):  # keep the lease while a long history is read
            pass


def _rows_with_residue(session: Session, ctx: _Context) -> list[str]:
    ws, pid = ctx.claim.workspace_id, ctx.claim.profile_id
    matcher = ctx.scrubber.matcher
    residue: list[str] = []

    profile = session.scalar(select(Profile).where(Profile.id == pid, Profile.workspace_id == ws))
    if profile is not None:
        cleared = cleared_profile_values()
        if profile.status != DELETED or any(
            getattr(profile, column) != value for column, value in cleared.items()
        ):
            residue.append("profile")

    for email, phone, redacted_at in session.execute(
        select(Recipient.email, Recipient.phone, Recipient.redacted_at).where(
            Recipient.workspace_id == ws, Recipient.profile_id == pid
        )
    ):
        values = [v for v in (email, phone) if v]
        if (
            redacted_at is None
            or any(not v.startswith(REDACTED_PREFIX) for v in values)
            or any(matcher.in_text(v) for v in values)
        ):
            residue.append("recipients")
            break

    consents = session.scalar(
        select(func.count())
        .select_from(Consent)
        .where(Consent.workspace_id == ws, Consent.profile_id == pid)
    )
    if consents:
        residue.append("consents")

    exports = session.execute(
        select(ExportRequest.status, ExportRequest.file_key).where(
            ExportRequest.workspace_id == ws, ExportRequest.profile_id == pid
        )
    ).all()
    store = ctx.runtime.export_store
    if any(s != EXPIRED or (k and store.exists(k)) for s, k in exports):
        residue.append("exports")
    return residue


# -- completion -------------------------------------------------------------------------------


def _complete(ctx: _Context, progress: Progress, *, residue: list[str]) -> dict[str, Any]:
    summary: dict[str, Any] = {**{k: progress.counts.get(k, 0) for k in COUNT_KEYS}}
    verified = not residue
    summary["verified"] = verified
    if residue:
        summary["residue"] = residue  # where the final search still found the person (tables)
    now = utcnow()
    with _step(ctx) as session:
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == ctx.claim.request_id)
            .values(
                status=COMPLETED,
                completed_at=now,
                summary=summary,
                # The search list has done its job: nothing of the subject stays readable
                # except the sealed contact details of the compliance record.
                subject_sealed=None,
                progress={
                    "phase": "completed",
                    "cursor": None,
                    "pass": progress.passes,
                    "counts": progress.counts,
                    "storage": "pending",
                },
                lease_until=None,
                next_attempt_at=None,
                last_error=None,
            )
            .execution_options(synchronize_session=False)
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
    if not verified:
        log.error(
            "deletion completed but verification still finds residue",
            extra={"fields": {"deletion_request_id": ctx.claim.request_id}},
        )
    return summary


def settle_storage(runtime: Runtime, request_id: str) -> bool:
    """After a completed erasure: push the old page images out of the storage files.

    SQLite: a WAL checkpoint(TRUNCATE) (retried while readers hold the WAL), so the pre-erasure
    pages are neither in the -wal file nor, thanks to secure_delete, in freed database pages.
    PostgreSQL: when VEIL_PG_REWRITE_AFTER_ERASURE is on, rewrite the touched tables
    (docs/erasure.md). Marked done on the request; the sweep retries until it is.
    """
    engine = runtime.engine
    if engine.dialect.name == "sqlite":
        done = db.checkpoint_sqlite(engine)
    elif runtime.settings.pg_rewrite_after_erasure:
        compact(engine)
        done = True
    else:
        done = True
    if not done:
        log.warning(
            "WAL checkpoint after erasure is still blocked by readers; the sweep retries",
            extra={"fields": {"deletion_request_id": request_id}},
        )
        return False
    with db.session_scope(runtime.sessionmaker) as session:
        request = session.get(DeletionRequest, request_id)
        if request is not None and (request.progress or {}).get("storage") == "pending":
            request.progress = {**request.progress, "storage": "settled"}
    return True


def storage_pending(session: Session, *, limit: int = 50) -> list[str]:
    """Completed requests whose post-erasure checkpoint / rewrite has not been done yet."""
    recent = utcnow() - timedelta(days=30)
    rows = session.execute(
        select(DeletionRequest.id, DeletionRequest.progress)
        .where(DeletionRequest.status == COMPLETED, DeletionRequest.completed_at >= recent)
        .order_by(DeletionRequest.completed_at.desc())
        .limit(500)
    ).all()
    return [rid for rid, progress in rows if (progress or {}).get("storage") == "pending"][:limit]


__all__ = ["JOB", "RUNNABLE", "LeaseLost", "erase", "run_deletion", "settle_storage", "verify"]
