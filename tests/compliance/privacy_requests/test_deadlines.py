"""Deadlines at the calendar's edges (SPEC §8.5): month ends, leap years, received_at offsets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from veil.compliance.privacy_requests import deadlines
from veil.models.privacy_request import PrivacyRequestStatus, Regulation

G, UK, C, L, OTHER = (
    Regulation.GDPR,
    Regulation.UK_GDPR,
    Regulation.CCPA,
    Regulation.LGPD,
    Regulation.OTHER,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("regulation", "received", "due"),
    [
        # One calendar month: same day next month, or that month's last day.
        (G, utc(2027, 1, 31, 9), utc(2027, 2, 28, 9)),
        (G, utc(2028, 1, 31, 9), utc(2028, 2, 29, 9)),  # leap year
        (G, utc(2028, 1, 29, 9), utc(2028, 2, 29, 9)),
        (G, utc(2027, 1, 29, 9), utc(2027, 2, 28, 9)),
        (UK, utc(2027, 3, 31, 0), utc(2027, 4, 30, 0)),
        (G, utc(2027, 8, 31, 23, 59), utc(2027, 9, 30, 23, 59)),
        (G, utc(2026, 12, 31, 12), utc(2027, 1, 31, 12)),  # year boundary
        (G, utc(2027, 2, 28, 12), utc(2027, 3, 28, 12)),
        (UK, utc(2027, 5, 15, 8), utc(2027, 6, 15, 8)),
        # CCPA 45 days, LGPD 15 days, counted in whole days across month and leap-day ends.
        (C, utc(2028, 1, 31, 10), utc(2028, 3, 16, 10)),
        (C, utc(2027, 12, 1, 0), utc(2028, 1, 15, 0)),
        (L, utc(2028, 2, 20, 6), utc(2028, 3, 6, 6)),
        (L, utc(2027, 2, 20, 6), utc(2027, 3, 7, 6)),
        (OTHER, utc(2027, 1, 31, 0), utc(2027, 3, 2, 0)),  # the default 30 days
    ],
)
def test_due_at(regulation: Regulation, received: datetime, due: datetime) -> None:
    assert deadlines.due_at(regulation, received, other_days=30) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 23:30 on 31 January in New York is 04:30 UTC on 1 February: the month counts from
        # the UTC instant, so it is due 1 March, not 28 February.
        (
            datetime(2027, 1, 31, 23, 30, tzinfo=timezone(timedelta(hours=-5))),
            utc(2027, 3, 1, 4, 30),
        ),
        # 00:30 on 1 March in Berlin (+01:00) is still 28 February 23:30 UTC.
        (
            datetime(2027, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),
            utc(2027, 3, 28, 23, 30),
        ),
        # +14:00 (Kiribati) on 1 January 2028 is 31 December 2027 in UTC.
        (
            datetime(2028, 1, 1, 5, 0, tzinfo=timezone(timedelta(hours=14))),
            utc(2028, 1, 31, 15, 0),
        ),
    ],
)
def test_received_at_with_an_offset_counts_from_its_utc_instant(
    received: datetime, due: datetime
) -> None:
    result = deadlines.due_at(G, received, other_days=30)
    assert result == due
    assert result.utcoffset() == timedelta(0)


def test_other_uses_the_workspace_setting() -> None:
    assert deadlines.due_at(OTHER, utc(2027, 1, 1), other_days=10) == utc(2027, 1, 11)


@pytest.mark.parametrize(
    ("regulation", "received", "extended"),
    [
        (G, utc(2027, 1, 31, 9), utc(2027, 4, 30, 9)),  # three calendar months from receipt
        (UK, utc(2027, 11, 30, 9), utc(2028, 2, 29, 9)),  # into a leap February
        (G, utc(2027, 11, 30, 9), utc(2028, 2, 29, 9)),
        (G, utc(2027, 12, 31, 9), utc(2028, 3, 31, 9)),
        (C, utc(2027, 1, 1), utc(2027, 4, 1)),  # 45 + 45 days
        (C, utc(2028, 1, 1), utc(2028, 3, 31)),  # leap year: one day less in the calendar
    ],
)
def test_extended_due_at(regulation: Regulation, received: datetime, extended: datetime) -> None:
    assert deadlines.is_extendable(regulation)
    assert deadlines.extended_due_at(regulation, received) == extended


@pytest.mark.parametrize("regulation", [L, OTHER])
def test_lgpd_and_other_are_not_extendable(regulation: Regulation) -> None:
    assert not deadlines.is_extendable(regulation)
    with pytest.raises(ValueError):
        deadlines.extended_due_at(regulation, utc(2027, 1, 1))


@pytest.mark.parametrize(
    ("status", "now", "overdue"),
    [
        (PrivacyRequestStatus.PENDING, utc(2027, 2, 1, 0, 0, 1), True),
        (PrivacyRequestStatus.IN_PROGRESS, utc(2027, 2, 1, 0, 0, 1), True),
        (PrivacyRequestStatus.FAILED, utc(2027, 2, 1, 0, 0, 1), True),
        (PrivacyRequestStatus.PENDING, utc(2027, 2, 1), False),  # exactly at due: not yet
        (PrivacyRequestStatus.COMPLETED, utc(2027, 3, 1), False),
        (PrivacyRequestStatus.CANCELLED, utc(2027, 3, 1), False),
    ],
)
def test_overdue(status: PrivacyRequestStatus, now: datetime, overdue: bool) -> None:
    assert deadlines.is_overdue(status, utc(2027, 2, 1), now=now) is overdue
