"""Keeping suppressed people out: the check every ingestion path makes (SPEC §9).

Each path calls one function with the people its payload names, before anything is stored,
de-duplicated or queued:
- `reject_if_suppressed`: POST /api/v1/profiles and /api/v1/events, and the identifiers a
  PATCH /api/v1/profiles/{id} sets → 409 subject_suppressed;
- `without_suppressed` / `drop_suppressed`: batches (events, Segment) → the items dropped;
- `is_suppressed`: one payload to acknowledge and drop (Shopify webhooks);
- `recipient_suppressed`: an open or click of a message whose profile was erased and suppressed.

A batch costs one indexed lookup per distinct identifier, in one query (up to 900 digests);
a workspace that never suppressed anybody costs one primary-key read (or none, once its key is
known). A "subject" is anything with `email`, `phone`, `external_id` and/or `anonymous_id`
attributes, as it arrived: identifiers are normalised here as identity resolution does (§2),
and one that does not parse is simply not a match (the path's own validation reports it).

Drops are counted after the request's transaction ends, committed or rolled back (a 409 rolls
back), in a short transaction of their own: on their suppression entries (the Suppressions tab)
and in the workspace's hourly counters by source (the dashboard's chart, kept when an entry is
lifted); only ids and counts are logged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session

from veil.compliance.suppressions.keys import existing_key
from veil.compliance.suppressions.repository import DropCountRepository, SuppressionRepository
from veil.compliance.suppressions.service import IDENTIFIER_TYPES, digest
from veil.errors import ValidationFailed, VeilError
from veil.kit.time import utcnow
from veil.models import Recipient
from veil.models.profile import ACTIVE
from veil.ops.metrics import count_suppressed_drop
from veil.profiles.identifiers import normalize_email, normalize_external_id, normalize_phone
from veil.profiles.repository import ProfileRepository
from veil.profiles.service import workspace_region
from veil.runtime import Runtime

log = logging.getLogger("veil.compliance.suppressions")

T = TypeVar("T")
_PENDING = "suppression_drops"


class SubjectSuppressed(VeilError):
    code, status = "subject_suppressed", 409
    message = (
        "This person was erased and is suppressed: Veil does not collect their data. "
        "An admin can lift the suppression in Settings → Compliance → Suppressions."
    )


_PLAIN = (str, int, bool, type(None))


def _identifiers(subject: Any, region: Callable[[], str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for kind, normalize in (
        ("email", normalize_email),
        ("phone", lambda v: normalize_phone(v, region=region())),
        ("external_id", normalize_external_id),
        ("anonymous_id", normalize_external_id),
    ):
        raw = getattr(subject, kind, None)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, str | int):
            continue
        try:
            value = normalize(str(raw))
        except ValidationFailed:
            continue
        if value:
            found.append((kind, value))
    return found


def _matches(
    session: Session, runtime: Runtime, workspace_id: str, subjects: Sequence[Any]
) -> list[set[str]]:
    """For each subject, the ids of the suppressions it hits (empty: not suppressed)."""
    if not subjects:
        return []
    key = existing_key(session, runtime, workspace_id)
    if key is None:
        return [set() for _ in subjects]
    regions: list[str] = []

    def region() -> str:
        if not regions:
            regions.append(workspace_region(session, workspace_id))
        return regions[0]

    # A batch names the same people many times: each distinct subject is normalised and
    # digested once.
    known: dict[tuple[Any, ...], list[str]] = {}
    digests: list[list[str]] = []
    for subject in subjects:
        # By type and value (True and 1 are equal keys, and only one is an identifier); a
        # value of any other type is not remembered.
        values = [getattr(subject, kind, None) for kind in IDENTIFIER_TYPES]
        raw = tuple((type(v), v) for v in values if type(v) in _PLAIN)
        memo = len(raw) == len(values)
        found = known.get(raw) if memo else None
        if found is None:
            found = [digest(key, kind, value) for kind, value in _identifiers(subject, region)]
            if memo:
                known[raw] = found
        digests.append(found)
    hits = SuppressionRepository(session, workspace_id).matching(d for ds in digests for d in ds)
    return [set().union(*(hits.get(d, set()) for d in ds)) for ds in digests]


def _count(session: Session, workspace_id: str, source: str, hit: Sequence[set[str]]) -> int:
    counts: Counter[str] = Counter()
    dropped = 0
    for ids in hit:
        if ids:
            dropped += 1
            counts.update(ids)
    if dropped:
        pending: list[tuple[Any, str, str, int, Counter[str]]] = session.info.setdefault(
            _PENDING, []
        )
        pending.append((session.get_bind(), workspace_id, source, dropped, counts))
    return dropped


def reject_if_suppressed(
    session: Session, runtime: Runtime, *, workspace_id: str, subject: Any, source: str
) -> None:
    """409 subject_suppressed when the subject carries a suppressed identifier."""
    if _count(session, workspace_id, source, _matches(session, runtime, workspace_id, [subject])):
        raise SubjectSuppressed()


def is_suppressed(
    session: Session, runtime: Runtime, *, workspace_id: str, subject: Any, source: str
) -> bool:
    """Whether to acknowledge and drop this payload (the drop is counted)."""
    hit = _matches(session, runtime, workspace_id, [subject])
    return _count(session, workspace_id, source, hit) > 0


def drop_suppressed(
    session: Session,
    runtime: Runtime,
    *,
    workspace_id: str,
    items: Sequence[T],
    subject: Callable[[T], Any],
    source: str,
) -> list[T]:
    """The items whose subject is not suppressed, in order (the others counted as drops)."""
    hit = _matches(session, runtime, workspace_id, [subject(item) for item in items])
    if not _count(session, workspace_id, source, hit):
        return list(items)
    return [item for item, ids in zip(items, hit, strict=True) if not ids]


def without_suppressed(
    session: Session,
    runtime: Runtime,
    *,
    workspace_id: str,
    subject: Callable[[T], Any],
    source: str,
) -> Callable[[list[T]], list[T]]:
    """`drop_suppressed` as a filter a service applies once its batch is validated."""

    def keep(items: list[T]) -> list[T]:
        return drop_suppressed(
            session, runtime, workspace_id=workspace_id, items=items, subject=subject, source=source
        )

    return keep


def recipient_suppressed(session: Session, *, recipient: Recipient, source: str) -> bool:
    """Whether the message went to a profile that was erased with suppression."""
    profile = ProfileRepository(session, recipient.workspace_id).get(recipient.profile_id)
    if profile is not None and profile.status == ACTIVE:
        return False
    ids = SuppressionRepository(session, recipient.workspace_id).for_deleted_profile(
        recipient.profile_id
    )
    return _count(session, recipient.workspace_id, source, [set(ids)]) > 0


# -- drop counters, written once the request's transaction is over ---------------------------


def _write_drops(session: Session) -> None:
    pending: list[tuple[Any, str, str, int, Counter[str]]] = session.info.pop(_PENDING, [])
    for bind, workspace_id, source, dropped, counts in pending:
        log.info(
            "suppressed data dropped",
            extra={"fields": {"workspace_id": workspace_id, "source": source, "dropped": dropped}},
        )
        count_suppressed_drop(source, dropped)
        try:
            now = utcnow()
            with Session(bind=bind) as counter, counter.begin():
                SuppressionRepository(counter, workspace_id).count_drops(dict(counts), now)
                DropCountRepository(counter, workspace_id).add(source, dropped, now)
        except Exception:
            # Counters are informational: the drop itself already happened.
            log.exception("could not count suppressed drops")


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: Any) -> None:
    # The outermost transaction only: a savepoint's end leaves the write lock held.
    if transaction.parent is None and not transaction.nested and _PENDING in session.info:
        _write_drops(session)
