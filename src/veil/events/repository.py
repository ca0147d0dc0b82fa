"""Every event query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import JSON, Connection, Select
from sqlalchemy.exc import DBAPIError

from veil.kit.repository import WorkspaceRepository
from veil.models import Event


class EventRepository(WorkspaceRepository[Event]):
    model = Event
    newest_by = (Event.timestamp, Event.id)

    def of_profile(self, profile_id: str, *, type: str | None = None) -> Select[Any]:
        stmt = self.statement().where(Event.profile_id == profile_id)
        if type:
            stmt = stmt.where(Event.type == type)
        return stmt

    def by_message_id(self, message_id: str) -> Event | None:
        found: Event | None = self.session.scalar(
            self.statement().where(Event.message_id == message_id)
        )
        return found

    def known_message_ids(self, message_ids: Sequence[str]) -> set[str]:
        """Which of these idempotency keys were delivered before (queried in chunks)."""
        wanted = sorted(set(message_ids))
        known: set[str] = set()
        for start in range(0, len(wanted), 500):
            statement = self.known_message_ids_query(wanted[start : start + 500])
            known.update(m for m in self.session.scalars(statement) if m is not None)
        return known

    def known_message_ids_query(self, chunk: Sequence[str]) -> Select[Any]:
        """The query `known_message_ids` runs for one chunk (one index probe per id)."""
        return self.by_unique_key([Event.message_id], Event.message_id, chunk)

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """INSERT these events (all of this workspace) through the driver, in the session's
        transaction: one executemany on SQLite, one COPY on PostgreSQL; each value converted
        once by its column type's bind processor, `properties` given as the JSON text
        validation already made.

        SQLAlchemy's own executemany processes every parameter of every row through its
        compiled-statement machinery, a third of a batch's cost on SQLite (BENCHMARKS.md,
        round three); the stored values are the same (tests/events/test_bulk_insert.py).
        """
        if not rows:
            return
        if any(row["workspace_id"] != self.workspace_id for row in rows):
            raise ValueError("an event of another workspace")
        connection = self.session.connection()
        dialect = connection.dialect
        table = Event.__table__
        names = list(rows[0])
        converters: list[Callable[[Any], Any] | None] = [
            # `properties` is already the JSON text: no conversion.
            None
            if isinstance(table.c[name].type, JSON)
            else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            for name in names
        ]
        pairs = list(zip(names, converters, strict=True))
        values = [
            tuple(row[name] if convert is None else convert(row[name]) for name, convert in pairs)
            for row in rows
        ]
        if dialect.name == "postgresql":
            _copy(connection, Event.__tablename__, names, values)
            return
        connection.exec_driver_sql(
            f"INSERT INTO {Event.__tablename__} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' for _ in names)})",
            values,
        )

    def of_recipients(self, recipient_ids: Sequence[str]) -> list[Event]:
        """Campaign activity of these recipient records, oldest first."""
        if not recipient_ids:
            return []
        return list(
            self.session.scalars(
                self.statement()
                .where(Event.recipient_id.in_(list(recipient_ids)))
                .order_by(Event.timestamp, Event.id)
            )
        )


def _copy(
    connection: Connection, table: str, names: list[str], values: list[tuple[Any, ...]]
) -> None:
    """PostgreSQL: the rows in one COPY stream, in the connection's transaction, instead of an
    INSERT per row. Text format: the server parses each value as it parses the same bound
    parameter's text (`properties`, given as JSON text, into jsonb)."""
    driver = connection.connection.driver_connection
    if driver is None:  # pragma: no cover - a live connection always has one
        raise RuntimeError("no driver connection")
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN"
    dbapi = connection.dialect.loaded_dbapi
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in values:
                copy.write_row(row)
    except dbapi.Error as exc:
        # As SQLAlchemy raises a driver's error (IntegrityError for a unique message id that
        # a concurrent batch inserted first), without the values.
        raise DBAPIError.instance(
            statement, None, exc, dbapi.Error, hide_parameters=True, dialect=connection.dialect
        ) from exc
