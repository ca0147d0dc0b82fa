"""veil.kit.time.parse_rfc3339: the one parser of incoming times, range-checked before any
conversion to UTC can overflow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.kit.time import EARLIEST, LATEST, TimeOutOfRange, parse_rfc3339


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T12:00:00Z", datetime(2026, 11, 28, 12, tzinfo=UTC)),
        ("2026-11-28T13:00:00+01:00", datetime(2026, 11, 28, 12, tzinfo=UTC)),
        ("2026-11-28 12:00:00.123456789z", datetime(2026, 11, 28, 12, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-28T12:00", datetime(2026, 11, 28, 12, tzinfo=UTC)),  # no offset: UTC
        ("2026-11-28", datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_parses_rfc3339_into_aware_utc(text: str, expected: datetime) -> None:
    assert parse_rfc3339(text) == expected


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:30:00+01:00", "9999-12-31T23:59:00-01:00", "1899-12-31T23:59:59Z"]
)
def test_times_outside_the_range_are_refused_before_they_overflow(text: str) -> None:
    with pytest.raises(TimeOutOfRange):
        parse_rfc3339(text)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-11-28T25:00:00Z",
        "2026-11-28T12:00:00+24:00",
        "２０２６-11-28",
        1700000000,
        None,
        "2026-11-28T12:00:00Z" + "0" * 100,
    ],
)
def test_anything_else_is_a_value_error(value: object) -> None:
    with pytest.raises(ValueError):
        parse_rfc3339(value)


_DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=5)
_RFC3339_ISH = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    _DIGITS,
    _DIGITS,
    _DIGITS,
    st.sampled_from(["T", "t", " ", "", "X"]),
    _DIGITS,
    _DIGITS,
    _DIGITS,
    st.sampled_from(["", ".5", ".123456789", ",1", "."]),
    st.one_of(
        st.sampled_from(["Z", "z", "", "+00:00", "-23:59", "+24:00", "+99:99", "+0530"]),
        st.builds(lambda a, b: f"{a}:{b}", st.sampled_from(["+", "-"]).map(str) | _DIGITS, _DIGITS),
    ),
)


@given(text=st.one_of(_RFC3339_ISH, st.text(max_size=40)))
@settings(max_examples=500, deadline=None)
def test_arbitrary_rfc3339ish_strings_parse_in_range_or_raise_value_error(text: str) -> None:
    try:
        parsed = parse_rfc3339(text)
    except ValueError:
        return
    assert parsed.tzinfo is not None and parsed.utcoffset() is not None
    assert EARLIEST <= parsed <= LATEST


def test_the_range_holds_after_the_conversion_to_utc() -> None:
    with pytest.raises(TimeOutOfRange):
        parse_rfc3339("2200-12-31T23:59:00-01:00")
    assert parse_rfc3339("2200-12-31T23:59:00+01:00") <= LATEST
