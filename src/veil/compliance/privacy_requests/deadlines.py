"""Legal deadlines of privacy requests (SPEC §8.5): pure functions of the regulation and time.

| regulation | answer within | extension | source |
|---|---|---|---|
| gdpr, uk_gdpr | one calendar month | two further months | GDPR / UK GDPR Art. 12(3) |
| ccpa | 45 days | 45 further days | Cal. Civ. Code §1798.130(a)(2) |
| lgpd | 15 days | none | LGPD Art. 19, II |
| other | the workspace's `other_regulation_days` | none | the workspace |

A calendar month lands on the same day of the next month, or on that month's last day when it
has none (31 January → 28/29 February). The extension counts from `received_at`, not from the
first due date: GDPR's "two further months" make three calendar months from receipt (31 January
→ 30 April, not 28 February + 2 months = 28 April).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from veil.kit.time import add_months, as_utc
from veil.models.privacy_request import CLOSED_STATUSES, PrivacyRequestStatus, Regulation

_MONTHS = (Regulation.GDPR, Regulation.UK_GDPR)
CCPA_DAYS = 45
LGPD_DAYS = 15
DEFAULT_OTHER_DAYS = 30


def due_at(regulation: Regulation, received_at: datetime, *, other_days: int) -> datetime:
    """When the answer is due, in UTC (a `received_at` in any offset is normalised first)."""
    received = as_utc(received_at)
    if regulation in _MONTHS:
        return add_months(received, 1)
    if regulation == Regulation.CCPA:
        return received + timedelta(days=CCPA_DAYS)
    if regulation == Regulation.LGPD:
        return received + timedelta(days=LGPD_DAYS)
    return received + timedelta(days=other_days)


def is_extendable(regulation: Regulation) -> bool:
    return regulation in (*_MONTHS, Regulation.CCPA)


def offers_extension(
    regulation: Regulation, status: PrivacyRequestStatus, *, extended: bool
) -> bool:
    """Whether to offer Extend: the law allows one (§8.5), it has not been used, and the
    request still runs against its deadline (neither completed nor cancelled; a failed
    request is still owed an answer). The API refuses the first two (`not_extendable`,
    `already_extended`); a closed request has no deadline left to move."""
    return is_extendable(regulation) and not extended and status not in CLOSED_STATUSES


def extended_due_at(regulation: Regulation, received_at: datetime) -> datetime:
    """The due date after the one extension the law allows; ValueError where it allows none."""
    received = as_utc(received_at)
    if regulation in _MONTHS:
        return add_months(received, 3)
    if regulation == Regulation.CCPA:
        return received + timedelta(days=2 * CCPA_DAYS)
    raise ValueError(f"{regulation} deadlines cannot be extended")


def is_overdue(status: PrivacyRequestStatus, due: datetime, *, now: datetime) -> bool:
    """Past due and neither completed nor cancelled (a failed request is still owed)."""
    return status not in CLOSED_STATUSES and as_utc(now) > as_utc(due)
