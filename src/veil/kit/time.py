"""UTC time helpers: one clock, RFC 3339 rendering and duration parsing."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

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
