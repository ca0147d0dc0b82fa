"""Durations, calendar months and cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from veil.errors import ValidationFailed
from veil.kit.pagination import clamp_limit, decode_cursor, encode_cursor
from veil.kit.time import add_months, parse_duration, rfc3339


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("12h", 43200), ("7d", 604800), ("2w", 1209600), ("90", 90)]
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


def test_parse_duration_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        parse_duration("seven days")


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert add_months(datetime(2026, 12, 15, tzinfo=UTC), 1) == datetime(2027, 1, 15, tzinfo=UTC)


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(datetime(2026, 11, 28, 12, 0, tzinfo=UTC)) == "2026-11-28T12:00:00Z"


def test_cursor_round_trip_and_garbage() -> None:
    when = datetime(2026, 11, 28, 12, 0, 1, 5, tzinfo=UTC)
    assert decode_cursor(encode_cursor([when, "evt_1"]), 2) == [when, "evt_1"]
    with pytest.raises(ValidationFailed):
        decode_cursor("not-a-cursor", 2)
    with pytest.raises(ValidationFailed):
        decode_cursor(encode_cursor(["a"]), 2)


def test_limit_bounds() -> None:
    assert clamp_limit(None) == 50
    assert clamp_limit(500) == 500
    for bad in (0, 501, -1):
        with pytest.raises(ValidationFailed):
            clamp_limit(bad)
