"""The erasure's steps: each phase is one object with a `phase` and `run(ctx) -> StepResult`.

After Fides' request runner (pipeline/base.py + orchestrator.py): the job (erasure.job) owns
the transaction, the lease and the checkpoint; a step owns only what it erases. `run` does ONE
bounded batch inside the transaction the job opened (which holds the lease), starting from
`ctx.cursor`, the checkpoint the previous committed batch stored in Progress; it returns what
it changed, whether the phase is done and, if not, where the next batch starts. The job saves
that in the same transaction as the batch's writes, so a crash loses at most one batch and the
successor resumes after the last committed one.

Every step only ever moves data towards "erased" (scrubbing scrubbed data changes nothing,
redacted recipients are skipped), so repeating a batch is harmless and counts stay exact.

A new step is one class here, added to STEPS, plus its name in progress.Phase.
"""

from __future__ import annotations

import base64
import functools
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, cast

from sqlalchemy import Delete, Dialect, Select, Text, bindparam, delete, func, select, update
from sqlalchemy import cast as cast_
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.deletions.progress import ERASING_PHASES, Cursor, Phase
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, Verdict
from veil.compliance.erasure_rules import (
    REDACTED,
    REDACTED_EMAIL_DOMAIN,
    REDACTED_PREFIX,
    Rule,
    cleared_profile_values,
    rules_for,
)
from veil.compliance.exports.lifecycle import destroy_exports_of_profile
from veil.compliance.repository import (
    SubjectConsents,
    SubjectEvents,
    SubjectIdentifiers,
    SubjectProfile,
    SubjectRecipients,
    SubjectRows,
)
from veil.kit.pagination import keyset_after_bound
from veil.kit.time import utcnow
from veil.models import Event, Profile, Recipient
from veil.models.profile import DELETED
from veil.runtime import Runtime


@dataclass(frozen=True)
class Claim:
    request_id: str
    workspace_id: str
    profile_id: str
    token: int  # the attempt number taken at claim time: fences every later write


@dataclass(frozen=True)
class ErasureContext:
    """What every step and the verification share for one attempt."""

    runtime: Runtime
    claim: Claim
    scrubber: Scrubber
    prefilter: Prefilter
    batch_size: int

    def properties(self, text: str | None) -> Any:
        """The event's properties decoded from their stored text, as the ORM would."""
        return None if text is None else db.json_loads(text)

    def events_page(self, session: Session, cursor: Cursor | None) -> Select[Any]:
        """One batch of the subject's events, in (timestamp, id) order after `cursor`.

        The properties come as their stored JSON text: the prefilter reads it, and only the
        events it cannot clear are decoded (ctx.properties) and walked.
        """
        stmt, params = self._events_page(session, cursor)
        return stmt.params(params)

    def _events_page(self, session: Session, cursor: Cursor | None) -> tuple[Select[Any], Any]:
        """`events_page` as the statement built once and the values to run it with."""
        subject = SubjectEvents(session, self.claim.workspace_id, self.claim.profile_id)
        params = subject.params
        if cursor:
            params |= {
                "after_timestamp": datetime.fromisoformat(cursor["timestamp"]),
                "after_id": cursor["id"],
            }
        return _events_page(self.batch_size, after=bool(cursor)), params

    def fetch_events(self, session: Session, cursor: Cursor | None) -> list[EventRow]:
        """The page `events_page` selects, as the driver returns it: (id, timestamp, type,
        message_id, properties text) tuples, without SQLAlchemy's processing of every row
        (~10 % of an erasure, read twice). Only the timestamp would be processed (the others
        are strings), and only the last row's is ever needed as a datetime: `event_cursor`.
        """
        result = session.connection().execute(*self._events_page(session, cursor))
        try:
            return list(result.cursor.fetchall())
        finally:
            result.close()

    def event_cursor(self, session: Session, row: EventRow) -> Cursor:
        """Where the page after `row` starts (the raw timestamp read as the ORM reads it)."""
        timestamp = _timestamp_reader(session.get_bind().dialect)(row[1])
        return {"timestamp": timestamp.isoformat(), "id": row[0]}


# (id, timestamp as the driver gives it, type, message_id, properties as JSON text)
EventRow = tuple[Any, ...]


# An EventRow's columns: the properties as their stored JSON text.
_EVENT_ROW: tuple[Any, ...] = (
    Event.id,
    Event.timestamp,
    Event.type,
    Event.message_id,
    cast_(Event.properties, Text).label("properties_text"),
)


@functools.cache
def _events_page(batch_size: int, *, after: bool) -> Select[Any]:
    """The statement of `ErasureContext.events_page`, built once per batch size and kind."""
    stmt = select(*_EVENT_ROW).where(*SubjectEvents.bound_scope())
    if after:
        # Keyset on (timestamp, id): exactly the order of ix_events_profile_timestamp, so each
        # batch is an index range scan however many events the profile has.
        stmt = stmt.where(
            keyset_after_bound((Event.timestamp, Event.id), ("after_timestamp", "after_id"))
        )
    return stmt.order_by(Event.timestamp, Event.id).limit(batch_size)


@functools.cache
def _timestamp_reader(dialect: Dialect) -> Callable[[Any], datetime]:
    """events.timestamp's result processing (UTCDateTime over the dialect's DATETIME)."""
    column_type = Event.__table__.c.timestamp.type.dialect_impl(dialect)
    process = column_type.result_processor(dialect, None)
    if process is None:  # pragma: no cover - UTCDateTime always processes
        return lambda value: cast(datetime, value)
    return lambda value: cast(datetime, process(value))


@dataclass(frozen=True)
class StepContext:
    """One batch: the attempt's context, the transaction (holding the lease) and the
    checkpoint to resume from."""

    erasure: ErasureContext
    session: Session
    cursor: Cursor | None

    @property
    def claim(self) -> Claim:
        return self.erasure.claim


@dataclass(frozen=True)
class StepResult:
    counts: Mapping[str, int] = field(default_factory=dict)
    done: bool = True
    # Where the next batch starts, when not done (None: from the beginning of what is left).
    cursor: Cursor | None = None


class Step(ABC):
    phase: ClassVar[Phase]

    @abstractmethod
    def run(self, ctx: StepContext) -> StepResult:
        """One bounded batch inside ctx.session; never commits."""


class EraseExports(Step):
    """Export files of the subject destroyed, their requests `expired`."""

    phase = Phase.EXPORTS

    def run(self, ctx: StepContext) -> StepResult:
        requests, _files = destroy_exports_of_profile(
            ctx.session,
            ctx.erasure.runtime,
            workspace_id=ctx.claim.workspace_id,
            profile_id=ctx.claim.profile_id,
        )
        return StepResult({"exports_destroyed": requests})


def update_events(session: Session, changes: list[tuple[Any, str, str | None, str]]) -> None:
    """UPDATE the scrubbed events, (properties, type, message_id, id) each, in the session's
    transaction, through the driver.

    `properties` goes in as `db.json_dumps` text, which is what the column's JSON bind
    processor (the engine's `json_serializer`) would have made of it: the same bytes on
    SQLite, the same `jsonb` value on PostgreSQL (tests/compliance/test_erasure_driver.py
    compares both with SQLAlchemy's UPDATE). `type` and `message_id` are plain strings, which
    no bind processor changes. One executemany on the driver's cursor: SQLAlchemy's processed
    every parameter through its compiled-statement machinery (~14 % of an erasure on SQLite).
    (One `UPDATE ... FROM unnest(...)` per batch on PostgreSQL was tried: 25 % slower.)
    """
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    mark, json_mark = ("%s", "%s::jsonb") if postgres else ("?", "?")
    connection.exec_driver_sql(
        f"UPDATE {Event.__tablename__} SET properties = {json_mark}, type = {mark}, "
        f"message_id = {mark} WHERE id = {mark}",
        [(db.json_dumps(properties), *rest) for properties, *rest in changes],
    )


class ScrubEvents(Step):
    """Personal values in event payloads, types and message ids, batch by batch (keyset)."""

    phase = Phase.EVENTS

    def run(self, ctx: StepContext) -> StepResult:
        erasure = ctx.erasure
        rows = erasure.fetch_events(ctx.session, ctx.cursor)
        changes: list[tuple[Any, str, str | None, str]] = []
        scrubber, prefilter = erasure.scrubber, erasure.prefilter
        for event_id, _timestamp, stored_type, stored_message_id, text in rows:
            verdict = prefilter.verdict(text)
            if verdict is Verdict.CLEAN:
                properties, changed = None, False
            else:
                properties, changed = scrubber.scrub_properties(
                    erasure.properties(text), leaves=verdict is Verdict.FULL
                )
            event_type = REDACTED if scrubber.text_is_personal(stored_type) else stored_type
            message_id = None if scrubber.text_is_personal(stored_message_id) else stored_message_id
            if changed or event_type != stored_type or message_id != stored_message_id:
                if properties is None:  # left unread by the prefilter: as it was (or {})
                    properties, _ = scrubber.scrub_properties(erasure.properties(text))
                changes.append((properties, event_type, message_id, event_id))
        if changes:
            update_events(ctx.session, changes)
        counts = {"events_scrubbed": len(changes)}
        if len(rows) < erasure.batch_size:
            return StepResult(counts)
        return StepResult(counts, done=False, cursor=erasure.event_cursor(ctx.session, rows[-1]))


def redacted_email() -> str:
    return f"{REDACTED_PREFIX}{secrets.token_hex(12)}@{REDACTED_EMAIL_DOMAIN}"


def redacted_phone() -> str:
    """`redacted` and 24 random lower-case letters and digits (120 bits from the OS, in base32:
    a-z and 2-7): fits the 32-character column, never a dialable number. One draw per value;
    24 `secrets.choice` calls were two fifths of redacting 10^4 recipient records."""
    return REDACTED_PREFIX + base64.b32encode(secrets.token_bytes(15)).decode("ascii").lower()


_REDACTORS: dict[Rule, Callable[[], str]] = {
    Rule.REDACT_EMAIL: redacted_email,
    Rule.REDACT_PHONE: redacted_phone,
}


class RedactRecipients(Step):
    """The addresses messages went to, replaced by random redacted ones. Redacted rows drop
    out of the query, so no cursor is needed: each batch takes the next unredacted rows."""

    phase = Phase.RECIPIENTS

    def run(self, ctx: StepContext) -> StepResult:
        claim = ctx.claim
        columns = _REDACTED_COLUMNS
        recipients = SubjectRecipients(ctx.session, claim.workspace_id, claim.profile_id)
        batch_size = ctx.erasure.batch_size
        rows = ctx.session.execute(_unredacted_recipients(batch_size), recipients.params).all()
        now = utcnow()
        changes: list[dict[str, Any]] = []
        for row in rows:
            change: dict[str, Any] = {**recipients.params, "b_id": row.id, "b_redacted_at": now}
            for column in columns:
                value = getattr(row, column.column)
                # Every row gets every column, so one executemany serves the batch; a column
                # that held nothing stays empty.
                change[f"b_{column.column}"] = None if value is None else _REDACTORS[column.rule]()
            changes.append(change)
        if changes:
            # One executemany on the transaction's connection (Core: the ORM's bulk update by
            # primary key would refuse the scoping WHERE).
            ctx.session.connection().execute(_REDACT_RECIPIENT, changes)
        return StepResult({"recipients_redacted": len(rows)}, done=len(rows) < batch_size)


# What RedactRecipients reads and writes, built once.
_REDACTED_COLUMNS = [c for c in rules_for("recipients") if c.rule in _REDACTORS]


@functools.cache
def _unredacted_recipients(batch_size: int) -> Select[Any]:
    return (
        select(Recipient.id, *(getattr(Recipient, c.column) for c in _REDACTED_COLUMNS))
        .where(*SubjectRecipients.bound_scope(), Recipient.redacted_at.is_(None))
        .order_by(Recipient.id)
        .limit(batch_size)
    )


_REDACT_RECIPIENT = (
    update(Recipient)
    .where(*SubjectRecipients.bound_scope(), Recipient.id == bindparam("b_id"))
    .values(
        redacted_at=bindparam("b_redacted_at", type_=Recipient.redacted_at.type),
        **{c.column: bindparam(f"b_{c.column}") for c in _REDACTED_COLUMNS},
    )
)


class DeleteSubjectRows(Step):
    """The subject's rows of one table, deleted outright in one statement; `counter` names
    their count in the summary."""

    rows: ClassVar[type[SubjectRows[Any]]]
    counter: ClassVar[str]

    def run(self, ctx: StepContext) -> StepResult:
        claim = ctx.claim
        subject_rows = self.rows(ctx.session, claim.workspace_id, claim.profile_id)
        result = ctx.session.execute(_delete_of(self.rows), subject_rows.params)
        return StepResult({self.counter: db.rowcount(result)})


_DELETES: dict[type[SubjectRows[Any]], Delete] = {}


def _delete_of(rows: type[SubjectRows[Any]]) -> Delete:
    """DELETE of the subject's `rows`, built once per table (bulk: no session sync)."""
    stmt = _DELETES.get(rows)
    if stmt is None:
        stmt = delete(rows.model).where(*rows.bound_scope())
        stmt = _DELETES[rows] = stmt.execution_options(synchronize_session=False)
    return stmt


class DeleteConsents(DeleteSubjectRows):
    """The person's consent statements: deleted outright."""

    phase = Phase.CONSENTS
    rows = SubjectConsents
    counter = "consents_deleted"


class DeleteIdentifierHistory(DeleteSubjectRows):
    """Every email, phone and external id the profile had before (SPEC §9): deleted outright.
    The sealed subject already holds them, so the events step searched for them too."""

    phase = Phase.IDENTIFIERS
    rows = SubjectIdentifiers
    counter = "identifiers_deleted"


class ClearProfile(Step):
    """The profile becomes a tombstone: every registered column cleared, status deleted."""

    phase = Phase.PROFILE

    def run(self, ctx: StepContext) -> StepResult:
        claim = ctx.claim
        profile = SubjectProfile(ctx.session, claim.workspace_id, claim.profile_id)
        ctx.session.execute(_TOMBSTONE, {**profile.params, "now": utcnow()})
        return StepResult()


_NOW = bindparam("now", type_=Profile.updated_at.type)
_TOMBSTONE = (
    update(Profile)
    .where(*SubjectProfile.bound_scope())
    .values(
        **cleared_profile_values(),
        status=DELETED,
        deleted_at=func.coalesce(Profile.deleted_at, _NOW),
        updated_at=_NOW,
    )
    .execution_options(synchronize_session=False)
)


# The erasing phases, in order; verification (erasure.verify) follows the last one.
STEPS: tuple[Step, ...] = (
    EraseExports(),
    ScrubEvents(),
    RedactRecipients(),
    DeleteConsents(),
    DeleteIdentifierHistory(),
    ClearProfile(),
)

if tuple(step.phase for step in STEPS) != ERASING_PHASES:  # pragma: no cover - a wiring bug
    raise RuntimeError("erasure STEPS must have one step per erasing Phase, in Phase order")
