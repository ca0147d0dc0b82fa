"""Keyset pagination, the one pattern for every ordered walk: API pages (`?limit=`, default 50,
max 500, and an opaque `?cursor=`), the export writer's chunks and the erasure's batches.

A page travels as one `PageParams` from the route (`veil.listing.PageQuery`, or a UI route's
own limit) through its service to `paginate`, which clamps the limit and decodes the cursor.

`keyset_after` is the condition (`keyset_after_bound` the same with its values as bind
parameters, for a statement built once) and `keyset_chunks` the loop. The condition is a row-value
comparison, `(a, b) > (:a, :b)`: where (a, b) is the tail of a composite index after its
equality columns, PostgreSQL (and SQLite) turn it into an index range scan, where the
equivalent `a > :a OR (a = :a AND b > :b)` only filters the index.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import orjson
from sqlalchemy import ColumnElement, Select, bindparam, literal, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from veil.errors import ValidationFailed
from veil.kit.time import as_utc, parse_rfc3339

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class PageParams:
    """One page of a list: at most `limit` rows (None: DEFAULT_LIMIT) after `cursor` (None: from
    the start). Unchecked until `paginate` clamps the limit and decodes the cursor."""

    limit: int | None = None
    cursor: str | None = None


FIRST_PAGE = PageParams()
# The longest `?cursor=` accepted (API and UI): a cursor holds a few keys, base64-encoded.
MAX_CURSOR_LENGTH = 500


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
    page: PageParams,
    key_of: Callable[[T], Sequence[Any]] | None = None,
) -> tuple[list[T], str | None]:
    """Order by `keys` (all ascending or all descending) and return `page` with the cursor of
    the next one (None after the last). A cursor holds the last row's `key_of(row)`: by default
    its attributes named like the keys."""
    if key_of is None:
        names = [k.key for k in keys]

        def key_of(row: T) -> Sequence[Any]:
            return [getattr(row, name) for name in names]

    size = clamp_limit(page.limit)
    if page.cursor:
        after = decode_cursor(page.cursor, len(keys))
        stmt = stmt.where(keyset_after(keys, after, descending=descending))
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = list(session.scalars(stmt.order_by(*order).limit(size + 1)))
    next_cursor = encode_cursor(key_of(rows[size - 1])) if len(rows) > size else None
    return rows[:size], next_cursor


def keyset_after(
    keys: Sequence[Any], values: Sequence[Any], *, descending: bool = False
) -> ColumnElement[bool]:
    """(k1, k2, …) strictly after (v1, v2, …) in the order `keys` (all ascending or all
    descending). Each value is bound with its column's type (UTC timestamps included)."""
    bound = tuple_(
        *(literal(value, type_=key.type) for key, value in zip(keys, values, strict=True))
    )
    columns = tuple_(*keys)
    return columns < bound if descending else columns > bound


def keyset_after_bound(
    keys: Sequence[Any], names: Sequence[str], *, descending: bool = False
) -> ColumnElement[bool]:
    """`keyset_after` with the values as bind parameters named `names` (given at execution),
    for a statement built once: the same row-value comparison, each typed as its column."""
    bound = tuple_(*(bindparam(n, type_=k.type) for k, n in zip(keys, names, strict=True)))
    columns = tuple_(*keys)
    return columns < bound if descending else columns > bound


def keyset_chunks(
    fetch: Callable[[tuple[Any, ...] | None], list[R]],
    *,
    size: int,
    key_of: Callable[[R], tuple[Any, ...]],
) -> Iterator[list[R]]:
    """Walk an ordered set in chunks: `fetch(None)` is the first chunk of at most `size` rows,
    `fetch(key_of(last row))` the next one, until a chunk comes back short.

    The loop keeps no reference to a chunk once the consumer moves on (one chunk alive at a
    time, which the export's memory bound relies on)."""
    after: tuple[Any, ...] | None = None
    while True:
        rows = fetch(after)
        if not rows:
            return
        full = len(rows) >= size
        after = key_of(rows[-1])
        yield rows
        del rows
        if not full:
            return
