"""The export document (SPEC §4.4) written as a stream: encrypted, chunk by chunk, to the store.

Nothing here holds more than one chunk of rows: events are read in keyset chunks of
EVENT_CHUNK rows by (timestamp, id) inside one read-only snapshot, each row is serialised with
orjson as it comes, and the bytes are regrouped into fixed-size records for the chunked
AES-GCM encryptor, which writes through the store's atomic `put`. Peak memory is therefore
bounded by the chunk size, not by the number of events (tests/compliance/test_export_memory.py).

Records have a fixed plaintext size (the last one excepted), so the stored file does not
reveal the size of individual events either.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, BinaryIO
from typing import cast as typing_cast

import orjson
from sqlalchemy import Dialect, Table, and_, select, text
from sqlalchemy.orm import Session

from veil.compliance.repository import SubjectConsents, SubjectRecipients
from veil.db import json_loads, read_only_session
from veil.kit.pagination import keyset_after, keyset_chunks
from veil.kit.time import rfc3339, utcnow
from veil.models import Campaign, Consent, Event, Recipient, Workspace
from veil.models.profile import ACTIVE
from veil.profiles.history import previous_identifiers
from veil.profiles.repository import ProfileRepository
from veil.runtime import Runtime

FORMAT = "veil.profile-export"
VERSION = 1
EVENT_CHUNK = 2000
MESSAGE_CHUNK = 500
RECORD_SIZE = 64 * 1024
_EVENTS = typing_cast(Table, Event.__table__)

Heartbeat = Callable[[], None]


class ExportCancelled(Exception):
    """The request stopped being ours to build (expired, erased, or claimed by another)."""


@dataclass(frozen=True)
class ExportJob:
    """What the job took from the request row when it claimed it."""

    export_id: str
    workspace_id: str
    profile_id: str
    requested_at: datetime
    requested_by: str
    file_key: str


@dataclass
class BuildStats:
    event_count: int = 0
    message_count: int = 0


@dataclass(frozen=True)
class BuildResult:
    file_size: int
    event_count: int


def file_owner(workspace_id: str, export_id: str) -> str:
    """Associated data of every encrypted chunk: the file opens only as this export's file."""
    return f"{workspace_id}:{export_id}"


def filename_of(profile_id: str) -> str:
    return f"profile-{profile_id}-export.json"


def write_export(runtime: Runtime, job: ExportJob, *, heartbeat: Heartbeat) -> BuildResult:
    """Build, encrypt and store the file under `job.file_key` (atomically: all or nothing)."""
    stats = BuildStats()
    owner = file_owner(job.workspace_id, job.export_id)
    with read_only_session(runtime.sessionmaker) as session:
        _use_one_snapshot(session)
        fragments = document_fragments(
            session, job, generated_at=utcnow(), stats=stats, heartbeat=heartbeat
        )

        def encrypt_into(out: BinaryIO) -> None:
            runtime.file_keyring.encrypt_stream(
                fixed_size_chunks(fragments, RECORD_SIZE), out, owner=owner
            )

        size = runtime.export_store.put(job.file_key, encrypt_into)
    return BuildResult(file_size=size, event_count=stats.event_count)


def _use_one_snapshot(session: Session) -> None:
    """PostgreSQL: one snapshot for the whole document (SQLite's deferred read transaction
    already is one), so profile, events and messages agree with each other."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


def fixed_size_chunks(fragments: Iterable[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for fragment in fragments:
        buffer += fragment
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def document_fragments(
    session: Session,
    job: ExportJob,
    *,
    generated_at: datetime,
    stats: BuildStats,
    heartbeat: Heartbeat,
) -> Iterator[bytes]:
    """The JSON document as a sequence of byte fragments, keys in SPEC's order."""
    profile = ProfileRepository(session, job.workspace_id).get(job.profile_id)
    if profile is None or profile.status != ACTIVE:
        raise ExportCancelled("profile is no longer active")
    workspace_name = session.scalar(select(Workspace.name).where(Workspace.id == job.workspace_id))
    consents = session.execute(
        SubjectConsents(session, job.workspace_id, profile.id)
        .rows(Consent.channel, Consent.state, Consent.source, Consent.recorded_at)
        .order_by(Consent.channel)
    ).all()
    # SPEC §9: every email, phone and external id the profile had before, newest first.
    previous = previous_identifiers(session, workspace_id=job.workspace_id, profile_id=profile.id)
    head: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": rfc3339(generated_at),
        "workspace": {"id": job.workspace_id, "name": workspace_name},
        "request": {
            "id": job.export_id,
            "requested_at": rfc3339(job.requested_at),
            "requested_by": job.requested_by,
        },
        "profile": {
            "id": profile.id,
            "email": profile.email,
            "phone": profile.phone,
            "external_id": profile.external_id,
            "first_name": profile.first_name,
            "last_name": profile.last_name,
            "properties": profile.properties or {},
            "created_at": rfc3339(profile.created_at),
            "updated_at": rfc3339(profile.updated_at),
        },
        "previous_identifiers": [
            {"type": row.type, "value": row.value, "until": rfc3339(row.until)} for row in previous
        ],
        "consents": [
            {"channel": c, "state": s, "source": src, "recorded_at": rfc3339(at)}
            for c, s, src, at in consents
        ],
    }
    for row in (profile, *previous):  # nothing of the subject stays in the identity map
        session.expunge(row)
    del profile, previous
    # The head object without its closing brace; the streamed arrays follow.
    yield orjson.dumps(head)[:-1]
    del head

    yield b',"events":['
    separator = b""
    reader = _EventReader(session, job)
    timestamp_of = reader.timestamp
    for rows in reader.chunks():
        for event_id, type_, timestamp, source, properties, campaign_id in rows:
            # The stored JSON text goes into the document as it is (orjson.Fragment): decoding
            # and re-encoding every payload was most of an export's time.
            yield separator + orjson.dumps(
                {
                    "id": event_id,
                    "type": type_,
                    "timestamp": timestamp_of(timestamp),
                    "source": source,
                    "properties": orjson.Fragment(
                        properties if properties and properties != "null" else "{}"
                    ),
                    "campaign_id": campaign_id,
                },
                option=orjson.OPT_UTC_Z,
            )
            separator = b","
        stats.event_count += len(rows)
        del rows  # let the chunk go before the next one is read: one chunk alive at a time
        heartbeat()

    yield b'],"messages":['
    separator = b""
    for messages in _message_chunks(session, job, reader):
        for message in messages:
            yield separator + orjson.dumps(message)
            separator = b","
        stats.message_count += len(messages)
        del messages
        heartbeat()
    yield b"]}"


class _EventReader:
    """The profile's events, oldest first, EVENT_CHUNK rows at a time (keyset on
    (timestamp, id)), read through the DB-API cursor of the session's own connection (same
    transaction, same snapshot): SQLAlchemy's row processing was the largest cost of an export.

    Rows are the driver's tuples (id, type, timestamp, source, properties JSON text,
    campaign_id); `timestamp()` turns the driver's timestamp into what the document holds
    (the RFC 3339 text of rfc3339(), or an aware UTC datetime that orjson writes the same way).
    """

    def __init__(self, session: Session, job: ExportJob) -> None:
        self.connection = session.connection()
        self.postgres = self.connection.dialect.name == "postgresql"
        self.job = job
        if self.postgres:
            mark, properties = "%s", "properties::text"
            self.timestamp: Callable[[Any], str | datetime] = _postgres_timestamp
            self.text_of: Callable[[Any], str] = _rfc3339_text
        else:
            mark, properties = "?", "CAST(properties AS TEXT)"
            self.timestamp = self.text_of = _SqliteTimestamp(self.connection.dialect)
        self.mark, self.properties = mark, properties
        select_ = (
            f"SELECT id, type, timestamp, source, {properties}, campaign_id FROM events "
            f"WHERE workspace_id = {mark} AND profile_id = {mark} "
        )
        order = f"ORDER BY timestamp, id LIMIT {EVENT_CHUNK}"
        self.first_sql = select_ + order
        # A row-value comparison: on PostgreSQL an index range scan of
        # ix_events_profile_timestamp (kit.pagination.keyset_after's form, written out for
        # the raw cursor), where an OR of column comparisons only filters the index.
        self.next_sql = select_ + f"AND (timestamp, id) > ({mark}, {mark}) " + order

    def chunks(self) -> Iterator[list[tuple[Any, ...]]]:
        scope = (self.job.workspace_id, self.job.profile_id)

        def fetch(after: tuple[Any, ...] | None) -> list[tuple[Any, ...]]:
            if after is None:
                return self._fetch(self.first_sql, scope)
            return self._fetch(self.next_sql, scope + after)

        # The driver's own values: the stored text on SQLite, exactly what was compared.
        return keyset_chunks(fetch, size=EVENT_CHUNK, key_of=lambda row: (row[2], row[0]))

    def activity_of(self, recipient_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """The open and click events of these messages that belong to this profile, oldest
        first, by recipient id."""
        mark = self.mark
        # SQLite would otherwise walk the profile's whole history in ix_events_profile_timestamp
        # (to skip the sort) for a few opens and clicks: ~50 ms at 10^5 events, per
        # MESSAGE_CHUNK messages. A message has few events; sorting them costs nothing.
        hint = "" if self.postgres else " INDEXED BY ix_events_recipient"
        sql = (
            f"SELECT recipient_id, id, type, timestamp, {self.properties} FROM events{hint} "
            f"WHERE workspace_id = {mark} AND profile_id = {mark} "
            f"AND recipient_id IN ({', '.join([mark] * len(recipient_ids))}) "
            "ORDER BY timestamp, id"
        )
        scope = (self.job.workspace_id, self.job.profile_id)
        activity: dict[str, list[dict[str, Any]]] = {}
        for recipient_id, event_id, type_, timestamp, properties in self._fetch(
            sql, (*scope, *recipient_ids)
        ):
            # The engine's own decoder, as the ORM would use (it reads NaN too).
            url = (json_loads(properties) or {}).get("url") if properties else None
            activity.setdefault(str(recipient_id), []).append(
                {
                    "id": event_id,
                    "type": type_,
                    "timestamp": self.text_of(timestamp),
                    "url": url if isinstance(url, str) else None,
                }
            )
        return activity

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        cursor = self.connection.connection.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()


def _rfc3339_text(value: datetime) -> str:
    return typing_cast(str, rfc3339(value))


def _postgres_timestamp(value: datetime) -> datetime:
    """psycopg returns aware datetimes in the connection's time zone."""
    return value.astimezone(UTC)


class _SqliteTimestamp:
    """SQLite keeps UTC timestamps as text: 'YYYY-MM-DD HH:MM:SS.ffffff', the format of
    SQLAlchemy's SQLite DATETIME (what UTCDateTime writes). That text becomes rfc3339()'s by
    slicing; anything else goes through the column type's own parser first."""

    def __init__(self, dialect: Dialect) -> None:
        parse = _EVENTS.c.timestamp.type.dialect_impl(dialect).result_processor(dialect, None)
        self.parse = typing_cast(Callable[[str], datetime], parse)

    def __call__(self, value: str) -> str:
        if len(value) == 26 and value[10] == " " and value[19] == ".":
            if value.endswith("000000"):
                return f"{value[:10]}T{value[11:19]}Z"
            return f"{value[:10]}T{value[11:]}Z"
        return typing_cast(str, rfc3339(self.parse(value)))


def _message_chunks(
    session: Session, job: ExportJob, reader: _EventReader
) -> Iterator[list[dict[str, Any]]]:
    """Recipient records of the profile, oldest first, each with its activity (the open and
    click events of that message that belong to this profile)."""
    messages = (
        SubjectRecipients(session, job.workspace_id, job.profile_id)
        .rows(
            Recipient.id,
            Recipient.campaign_id,
            Campaign.name,
            Campaign.kind,
            Recipient.channel,
            Recipient.email,
            Recipient.phone,
            Recipient.status,
            Recipient.sent_at,
        )
        .join(
            Campaign,
            and_(
                Campaign.id == Recipient.campaign_id,
                Campaign.workspace_id == Recipient.workspace_id,
            ),
        )
    )

    def fetch(after: tuple[Any, ...] | None) -> list[Any]:
        stmt = messages
        if after is not None:
            stmt = stmt.where(keyset_after((Recipient.sent_at, Recipient.id), after))
        return list(
            session.execute(stmt.order_by(Recipient.sent_at, Recipient.id).limit(MESSAGE_CHUNK))
        )

    for rows in keyset_chunks(fetch, size=MESSAGE_CHUNK, key_of=lambda row: (row[8], row[0])):
        activity = reader.activity_of([row[0] for row in rows])
        yield [
            {
                "id": rid,
                "campaign_id": campaign_id,
                "campaign_name": name,
                "kind": kind,
                "channel": channel,
                "email": email,
                "phone": phone,
                "status": status,
                "sent_at": rfc3339(sent_at),
                "activity": activity.get(rid, []),
            }
            for rid, campaign_id, name, kind, channel, email, phone, status, sent_at in rows
        ]
        del rows, activity
