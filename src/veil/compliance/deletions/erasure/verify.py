"""Verification: re-read everything the erasure touched and search it for the subject.

Runs after the last step. If something is found (a concurrent write that slipped in, say),
the job runs the steps once more; `summary.verified` is true only when the final search finds
nothing. Reads happen in short read-only snapshots (they never queue behind a writer), and a
long event history renews the lease between batches. A subject with less than one batch of
events is verified inside the job's last write transaction instead (erasure.job), which reads
exactly what that transaction commits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.deletions.erasure.steps import ErasureContext, EventRow
from veil.compliance.deletions.progress import Cursor
from veil.compliance.deletions.scrubber import Verdict
from veil.compliance.erasure_rules import REDACTED_PREFIX, cleared_profile_values
from veil.compliance.repository import (
    SubjectConsents,
    SubjectExports,
    SubjectIdentifiers,
    SubjectProfile,
    SubjectRecipients,
)
from veil.models import ExportRequest, Profile, Recipient
from veil.models.export_request import ExportStatus
from veil.models.profile import DELETED

KeepLease = Callable[[], None]


@overload
def verify(ctx: ErasureContext, *, keep_lease: KeepLease) -> list[str]: ...


@overload
def verify(ctx: ErasureContext, *, keep_lease: KeepLease, session: Session) -> list[str] | None: ...


def verify(
    ctx: ErasureContext, *, keep_lease: KeepLease, session: Session | None = None
) -> list[str] | None:
    """The tables where something of the subject is left (empty: nothing found).

    One read-only snapshot per batch of events; the other tables are read in the snapshot of
    the last batch (a history of one batch, the common case, is verified in one snapshot).
    With `session`: in that transaction instead (the job's, which wrote the last changes),
    for a history of less than one batch only — None when it is longer.
    """
    if session is not None:
        rows = ctx.fetch_events(session, None)
        if len(rows) >= ctx.batch_size:
            return None
        return _residue(ctx, session, rows, 0)
    found = 0
    cursor: Cursor | None = None
    while True:
        with db.read_only_session(ctx.runtime.sessionmaker) as snapshot:
            rows = ctx.fetch_events(snapshot, cursor)
            if len(rows) < ctx.batch_size:
                return _residue(ctx, snapshot, rows, found)
            found += _residue_in(ctx, rows)
            cursor = ctx.event_cursor(snapshot, rows[-1])
        keep_lease()  # keep the lease while a long history is read


def _residue(ctx: ErasureContext, session: Session, last: list[EventRow], found: int) -> list[str]:
    """The verdict, given the last batch of events and what the earlier ones held."""
    residue = ["events"] if found + _residue_in(ctx, last) else []
    return residue + _rows_with_residue(session, ctx)


def _residue_in(ctx: ErasureContext, rows: list[EventRow]) -> int:
    """How many of these events still hold something of the subject."""
    scrubber, prefilter = ctx.scrubber, ctx.prefilter
    found = 0
    for _id, _timestamp, event_type, message_id, text in rows:
        # Events the prefilter clears provably hold nothing residue() would report.
        verdict = prefilter.verdict(text)
        if (
            (
                verdict is not Verdict.CLEAN
                and scrubber.residue(ctx.properties(text) or {}, leaves=verdict is Verdict.FULL)
            )
            or scrubber.text_is_personal(event_type)
            or scrubber.text_is_personal(message_id)
        ):
            found += 1
    return found


def _rows_with_residue(session: Session, ctx: ErasureContext) -> list[str]:
    # Every table's rows of this subject, through statements built once (_PROFILE, …): the
    # scope of each is its repository's, with this workspace and profile bound.
    subject = SubjectProfile(session, ctx.claim.workspace_id, ctx.claim.profile_id).params
    matcher = ctx.scrubber.matcher
    residue: list[str] = []

    profile = session.scalar(_PROFILE, subject)
    if profile is not None:
        cleared = cleared_profile_values()
        if profile.status != DELETED or any(
            getattr(profile, column) != value for column, value in cleared.items()
        ):
            residue.append("profile")

    for email, phone, redacted_at in session.execute(_RECIPIENTS, subject):
        values = [v for v in (email, phone) if v]
        if (
            redacted_at is None
            or any(not v.startswith(REDACTED_PREFIX) for v in values)
            or any(matcher.in_text(v) for v in values)
        ):
            residue.append("recipients")
            break

    # The previous identifiers' own rows must be gone too (_COUNTS).
    consents, identifiers = session.execute(_COUNTS, subject).one()
    if consents:
        residue.append("consents")
    if identifiers:
        residue.append("identifiers")

    exports = session.execute(_EXPORTS, subject).all()
    store = ctx.runtime.export_store
    if any(s != ExportStatus.EXPIRED or (k and store.exists(k)) for s, k in exports):
        residue.append("exports")
    return residue


# The statements of `_rows_with_residue`, built once: what `rows()` of each repository selects,
# scoped by its `bound_scope()` (the workspace and profile are given at execution).
_PROFILE = select(Profile).where(*SubjectProfile.bound_scope())
_RECIPIENTS = select(Recipient.email, Recipient.phone, Recipient.redacted_at).where(
    *SubjectRecipients.bound_scope()
)
# The previous identifiers were searched for in every row above (they are in the subject);
# their own rows must be gone too. Both counts in one round trip.
_COUNTS = select(
    select(func.count()).where(*SubjectConsents.bound_scope()).scalar_subquery(),
    select(func.count()).where(*SubjectIdentifiers.bound_scope()).scalar_subquery(),
)
_EXPORTS = select(ExportRequest.status, ExportRequest.file_key).where(*SubjectExports.bound_scope())
