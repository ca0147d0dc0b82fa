"""UTC time helpers: one clock, RFC 3339 parsing and rendering, duration parsing."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

# The years an incoming time may name. Outside them, converting to UTC or adding a clock-skew
# correction can leave datetime's range (years 1-9999) and raise OverflowError; and no event
# of a shop happened in year 1 or 9999.
MIN_YEAR = 1900
MAX_YEAR = 2200
EARLIEST = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?"
    r"(?:[Zz]|[+-]\d{2}:?\d{2}(?::\d{2})?)?)?",
    re.ASCII,
)
_FRACTION = re.compile(r"([.,]\d{6})\d+")


class TimeOutOfRange(ValueError):
    """A well-formed time outside EARLIEST..LATEST."""


def parse_rfc3339(value: object) -> datetime:
    """An RFC 3339 / ISO 8601 time (`2026-11-28T12:00:00Z`, an offset, or none = UTC) as an
    aware UTC datetime within EARLIEST..LATEST.

    ValueError for anything else (TimeOutOfRange when it is well-formed but out of range), so
    every edge answers a 4xx and none can overflow: the one parser of incoming times.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    text = value.strip()
    if len(text) > 64 or not _RFC3339.fullmatch(text):
        raise ValueError("not an RFC 3339 time")
    # Python before 3.12 keeps at most 6 fractional digits; nanoseconds are cut, not refused.
    text = _FRACTION.sub(r"\1", text)
    if text[-1] in "Zz":
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a calendar date or time") from None
    return check_time_range(parsed)


def check_time_range(value: datetime) -> datetime:
    """A datetime (naive = UTC) in UTC and within EARLIEST..LATEST, or TimeOutOfRange."""
    # The year first: converting a time near year 1 or 9999 is itself what overflows.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise TimeOutOfRange("out of range")
    utc = as_utc(value)
    if not EARLIEST <= utc <= LATEST:
        raise TimeOutOfRange("out of range")
    return utc


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def utcnow() -> datetime:
    """Aware UTC now, truncated to microseconds (what both databases keep)."""
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes coming back from SQLite are UTC by construction."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def rfc3339(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = as_utc(value)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """`30s`, `12h`, `7d`, `2w` or a number of seconds."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return timedelta(seconds=float(text))
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 30s, 12h, 7d)")
    amount, unit = match.groups()
    return timedelta(seconds=int(amount) * _UNITS[unit])


def add_months(value: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (GDPR Art. 12(3) deadlines)."""
    month_index = value.month - 1 + months
    year = value.year + month_index // 12
    month = month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


_STRICT_DURATION = re.compile(r"^([1-9]\d{0,6})([smhdw])$")


def parse_strict_duration(text: str, *, longest: timedelta) -> timedelta:
    """A positive whole number and one unit (`30s`, `12h`, `400d`, `2w`), at most `longest`;
    ValueError otherwise (no bare numbers, no signs, no `0s`, no mixed units like `1y2`)."""
    match = _STRICT_DURATION.match(text.strip().lower())
    if not match:
        raise ValueError("not a duration")
    amount, unit = match.groups()
    value = timedelta(seconds=int(amount) * _UNITS[unit])
    if value > longest:
        raise ValueError("too long")
    return value
