"""Declarative base: naming convention, UTC timestamps, JSON that is JSONB on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from sqlalchemy import JSON, DateTime, ForeignKey, MetaData, String, TypeDecorator
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from veil.kit.time import as_utc, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns aware UTC datetimes (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E], Generic[E]):
    """A status column typed as a StrEnum in Python and stored as its plain value in a
    VARCHAR(16): the rows read exactly as before ('pending', …) and no migration is needed,
    unlike a native enum or a CHECK constraint. An unknown value is refused on write."""

    impl = String(16)
    cache_ok = True

    def __init__(self, enum: type[E]) -> None:
        super().__init__()
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def sql_in(column: str, values: Iterable[StrEnum]) -> str:
    """`column IN ('a', 'b')` for a partial index's WHERE, generated from the enum's members
    (the values are identifiers of our own, never user input)."""
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


JSONType = JSON().with_variant(JSONB(), "postgresql")
IdType = String(40)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


class WorkspaceRowMixin:
    """A row of one workspace, gone with it: its id and workspace_id come first in the table."""

    id: Mapped[str] = mapped_column(IdType, primary_key=True, sort_order=-2)
    workspace_id: Mapped[str] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), sort_order=-1
    )


class LeasedJobMixin:
    """A row a background job works on under a lease (veil.worker.leases): its tries, the
    lease, when to try again, and the last failure's error code."""

    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(200), default=None)


class ProfileRequestMixin:
    """A compliance request about one profile (an export, a deletion): when it was made, by
    whom (the label the tables show) and through which door, and its legal deadline."""

    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(16), default="api")
    due_at: Mapped[datetime]


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
