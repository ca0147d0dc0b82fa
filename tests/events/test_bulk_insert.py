"""The bulk paths of ingestion: the driver-level insert stores exactly what SQLAlchemy's insert
stores, and the bulk lookups (delivered message ids, profiles by identifier) probe their
unique indexes.

BatchWriter inserts through the DB-API cursor with `properties` as the JSON text validation
made; exports splice that text and slice SQLite's stored timestamps, so the stored bytes must
not change. Compared here column by column, raw, against `session.execute(insert(Event))`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Select, insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.events.repository import EventRepository
from veil.kit.ids import _b32, new_id
from veil.kit.jsonwalk import properties_json
from veil.models import Event
from veil.profiles.repository import ProfileRepository
from veil.runtime import Runtime

PROPERTIES: list[dict[str, Any]] = [
    {},
    {"total": 39.95, "n": 2**62, "neg": -7, "ok": True, "none": None},
    {"name": "Zoë Ångström", "note": 'line\u2028sep "quoted" \\ back', "emoji": "🦉"},
    {"items": [{"sku": "A-1", "qty": 1}, {"sku": "B-2", "qty": [1, [2, {"deep": "x"}]]}]},
]
MOMENTS = [
    datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC),
    datetime(2026, 1, 2, 3, 4, 5, 600700, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
    datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
]


def _rows(workspace_id: str, profile_id: str, tag: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"evt_{tag}{n}",
            "workspace_id": workspace_id,
            "profile_id": profile_id,
            "type": f"Type {n}",
            "timestamp": MOMENTS[n],
            "received_at": MOMENTS[-1 - n],
            "properties": PROPERTIES[n],
            "source": "api",
            "campaign_id": None,
            "recipient_id": None,
            "message_id": f"{tag}-{n}" if n % 2 else None,
        }
        for n in range(len(PROPERTIES))
    ]


def _stored(runtime: Runtime, tag: str) -> list[tuple[Any, ...]]:
    columns = "type, timestamp, received_at, properties, source, message_id"
    with runtime.engine.connect() as conn:
        # Raw driver values: a text() query applies no column type.
        found = conn.execute(
            text(f"SELECT {columns} FROM events WHERE id LIKE :ids ORDER BY id"),
            {"ids": f"evt_{tag}%"},
        ).all()
    # The message ids carry the tag; the rest must be equal as stored.
    return [(*row[:-1], None if row[-1] is None else row[-1][len(tag) :]) for row in found]


def test_driver_insert_stores_what_sqlalchemy_stores(runtime: Runtime, ws: WorkspaceHandle) -> None:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        session.execute(insert(Event), _rows(ws.id, profile.id, "orm"))
        rows = _rows(ws.id, profile.id, "drv")
        for row in rows:
            row["properties"] = properties_json(row["properties"])
        EventRepository(session, ws.id).insert_many(rows)
    stored = _stored(runtime, "drv")
    assert len(stored) == len(PROPERTIES)
    assert stored == _stored(runtime, "orm")
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar() == 2 * len(PROPERTIES)


def test_driver_insert_refuses_another_workspaces_rows(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=other_ws.id)
        rows = _rows(other_ws.id, profile.id, "x")
        with pytest.raises(ValueError):
            EventRepository(session, ws.id).insert_many(rows)


def _b32_digit_by_digit(value: int, length: int) -> str:
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    return "".join(alphabet[(value >> (5 * i)) & 31] for i in reversed(range(length)))


def test_ids_are_crockford_base32_of_their_bits() -> None:
    import random

    rng = random.Random(7)
    for bits in (0, 1, 5, 64, 127, 128, 130):
        for _ in range(2000):
            value = rng.getrandbits(bits) if bits else 0
            assert _b32(value, 26) == _b32_digit_by_digit(value, 26)
    first, second = new_id("evt"), new_id("evt")
    assert first.startswith("evt_") and len(first) == 30 and first != second


def test_a_message_id_stored_meanwhile_fails_as_an_integrity_error_without_values(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """A concurrent batch that stored the same message id first: the unique index refuses the
    insert as SQLAlchemy reports it on both backends, quoting none of the rows' values (only
    PostgreSQL's own detail names the duplicate key)."""
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        rows = _rows(ws.id, profile.id, "dup")
        for row in rows:
            row["properties"] = properties_json(row["properties"])
        EventRepository(session, ws.id).insert_many(rows)
    with runtime.sessionmaker() as session, pytest.raises(IntegrityError) as refused:
        again = [{**row, "id": f"evt_again{n}"} for n, row in enumerate(rows)]
        EventRepository(session, ws.id).insert_many(again)
    message = str(refused.value)
    assert "Zoë" not in message and "Type 1" not in message and "39.95" not in message


def test_known_message_ids_are_the_workspaces_own(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        for handle, tag in ((ws, "own"), (other_ws, "theirs")):
            profile = make_profile(session, workspace_id=handle.id)
            rows = _rows(handle.id, profile.id, tag)
            for row in rows:
                row["properties"] = properties_json(row["properties"])
            EventRepository(session, handle.id).insert_many(rows)
    asked = ["own-1", "own-3", "own-2", "theirs-1", "never", "own-1"]
    with runtime.sessionmaker() as session:
        assert EventRepository(session, ws.id).known_message_ids(asked) == {"own-1", "own-3"}
        many = [f"x-{n}" for n in range(1_200)] + ["own-3"]  # more than one chunk
        assert EventRepository(session, ws.id).known_message_ids(many) == {"own-3"}


def test_message_ids_are_looked_up_in_the_unique_index_whatever_the_statistics_say(
    runtime: Runtime, ws: WorkspaceHandle, is_postgres: bool
) -> None:
    """Without ANALYZE (a new workspace's first import) PostgreSQL thinks the workspace small;
    an `IN` list there scanned every event of the workspace for each batch."""
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        rows = [
            {
                "id": new_id("evt"),
                "workspace_id": ws.id,
                "profile_id": profile.id,
                "type": "Viewed Product",
                "timestamp": start + timedelta(seconds=n),
                "received_at": start,
                "properties": "{}",
                "source": "api",
                "campaign_id": None,
                "recipient_id": None,
                "message_id": f"m-{n}",
            }
            for n in range(3_000)
        ]
        EventRepository(session, ws.id).insert_many(rows)
    with runtime.sessionmaker() as session:
        repo = EventRepository(session, ws.id)
        statement = repo.known_message_ids_query([f"m-{n}" for n in range(0, 3_000, 7)])
        plan = _plan(session, statement, is_postgres)
        assert "uq_events_workspace_message" in plan, plan
        assert "ix_events_workspace_timestamp" not in plan, plan
        assert len(repo.known_message_ids([f"m-{n}" for n in range(0, 3_000, 7)])) == 429


@pytest.mark.parametrize("column", ["email", "phone", "external_id", "anonymous_id"])
def test_profiles_are_looked_up_in_their_unique_index_whatever_the_statistics_say(
    runtime: Runtime, ws: WorkspaceHandle, is_postgres: bool, column: str
) -> None:
    """A batch's plain references resolved in bulk: one probe per value of the partial unique
    index of active profiles, not a read of every active profile of the workspace."""
    values = {
        "email": [f"p{n}@example.com" for n in range(1_500)],
        "phone": [f"+4479460{n:05d}" for n in range(1_500)],
        "external_id": [f"cust-{n}" for n in range(1_500)],
        "anonymous_id": [f"anon-{n}" for n in range(1_500)],
    }[column]
    with runtime.sessionmaker.begin() as session:
        for value in [*values, "gone@example.com"]:
            profile = make_profile(session, workspace_id=ws.id, email=None)
            setattr(profile, column, value)
        profile.status = "deleted"  # the last one: not active, not found
    with runtime.sessionmaker() as session:
        repo = ProfileRepository(session, ws.id)
        asked = values[::9]
        statement = repo.active_ids_by_query(column, asked)
        plan = _plan(session, statement, is_postgres)
        assert f"uq_profiles_active_{column}" in plan, plan
        if is_postgres:  # a probe per value: the value is part of the index condition
            assert "Filter" not in plan, plan
        found = repo.active_ids_by(column, [*asked, "gone@example.com", "nobody"])
        assert sorted(value for _id, value in found) == sorted(asked)


def _plan(session: Session, statement: Select[Any], is_postgres: bool) -> str:
    """The database's plan for `statement` (EXPLAIN / EXPLAIN QUERY PLAN), as text."""
    connection = session.connection()
    if is_postgres:
        compiled = statement.compile(connection)
        explained = connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    else:
        sql = statement.compile(connection, compile_kwargs={"literal_binds": True})
        explained = connection.execute(text(f"EXPLAIN QUERY PLAN {sql}"))
    return "\n".join(str(row[-1]) for row in explained)
