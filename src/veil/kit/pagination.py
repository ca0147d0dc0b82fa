"""Keyset pagination: `?limit=` (default 50, max 500) and an opaque `?cursor=`."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from veil.errors import ValidationFailed
from veil.kit.time import as_utc, parse_rfc3339

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def _encode_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": as_utc(value).isoformat()}
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and "t" in value:
        # A cursor comes back from the client: its time goes through the same range-checked
        # parser as every incoming time (a forged year 1 must not overflow on its way to UTC).
        return parse_rfc3339(value["t"])
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = orjson.dumps([_encode_value(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = orjson.loads(base64.urlsafe_b64decode(padded))
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        return [_decode_value(v) for v in values]
    except Exception:
        raise ValidationFailed("cursor is not valid.") from None


def paginate(
    session: Session,
    stmt: Select[T],
    *,
    keys: Sequence[InstrumentedAttribute[Any]],
    descending: bool,
    limit: int | None,
    cursor: str | None,
    key_of: Callable[[T], Sequence[Any]],
) -> tuple[list[T], str | None]:
    """Order by `keys` (all ascending or all descending) and page after `cursor`."""
    size = clamp_limit(limit)
    if cursor:
        after = decode_cursor(cursor, len(keys))
        stmt = stmt.where(_after(keys, after, descending))
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list(session.scalars(stmt.order_by(*order).limit(size + 1)))
    next_cursor = encode_cursor(key_of(rows[size - 1])) if len(rows) > size else None
    return rows[:size], next_cursor


def _after(
    keys: Sequence[InstrumentedAttribute[Any]], values: Sequence[Any], descending: bool
) -> Any:
    """(k1, k2, …) strictly after (v1, v2, …) in the chosen direction, portable SQL."""
    clauses = []
    for index, key in enumerate(keys):
        equal = [keys[i] == values[i] for i in range(index)]
        step = key < values[index] if descending else key > values[index]
        clauses.append(and_(*equal, step))
    return or_(*clauses)
