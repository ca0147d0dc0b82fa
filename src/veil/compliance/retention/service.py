"""Retention (SPEC §9): each sweep deletes events older than `retention_events` and erases
profiles inactive for `retention_inactive_profiles` (workspace settings, null = keep).

- Events go by their `timestamp`, in batches of EVENT_BATCH, each its own short transaction
  (a write lock is never held for long; SQLite's secure_delete zeroes the freed pages), then a
  WAL checkpoint(TRUNCATE) as after an erasure, so the deleted rows leave the disk too.
- A profile is inactive when it has no event since the cutoff and was not updated since
  (`updated_at`: every upsert and every plain event reference touches it). Each one is erased
  through the deletion service (§5), `requested_by` "retention policy", source `retention`,
  never suppressed: someone who comes back after years is welcome.
- Restricted profiles (art. 18) and their events are left alone: restriction is asked for to
  keep data that would otherwise go (e.g. for a legal claim).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.privacy_requests import profile_actions
from veil.compliance.retention.repository import RetentionRepository
from veil.errors import ProfileDeleted
from veil.kit.time import utcnow
from veil.models import Workspace
from veil.runtime import Runtime
from veil.workspaces.service import get_workspace, retention_period

log = logging.getLogger(__name__)

EVENT_BATCH = 1000
PROFILE_BATCH = 100
SOURCE = "retention"
ACTOR = "retention"
REQUESTED_BY = "retention policy"


@dataclass(frozen=True)
class Cutoffs:
    events: datetime | None
    profiles: datetime | None


@dataclass(frozen=True)
class RetentionCounts:
    events: int
    profiles: int


def cutoffs(workspace: Workspace, *, now: datetime | None = None) -> Cutoffs:
    now = now or utcnow()
    events = retention_period(workspace.retention_events)
    profiles = retention_period(workspace.retention_inactive_profiles)
    return Cutoffs(
        events=None if events is None else now - events,
        profiles=None if profiles is None else now - profiles,
    )


def preview(session: Session, *, workspace_id: str) -> RetentionCounts:
    """What the next sweep would remove now."""
    limits = cutoffs(get_workspace(session, workspace_id))
    repo = RetentionRepository(session, workspace_id)
    return RetentionCounts(
        events=0 if limits.events is None else repo.count_old_events(limits.events),
        profiles=0 if limits.profiles is None else repo.count_inactive_profiles(limits.profiles),
    )


def erase_inactive_profile(
    session: Session, runtime: Runtime, *, workspace_id: str, profile_id: str
) -> None:
    """One inactive profile's erasure (§5) through a privacy request with source `retention`
    (SPEC §9), so it shows in the Requests list beside every other erasure."""
    profile_actions.delete_profile(
        session,
        runtime=runtime,
        workspace_id=workspace_id,
        profile_id=profile_id,
        requested_by=REQUESTED_BY,
        actor=ACTOR,
        source=SOURCE,
        suppress=False,
    )


def _until_short_batch(
    runtime: Runtime, size: int, batch: Callable[[Session], tuple[int, int]]
) -> int:
    """Run `batch`, each time in a short transaction of its own, until it sees fewer than
    `size` rows; `batch` answers (rows seen, rows removed), and this the rows removed."""
    removed = 0
    while True:
        with db.session_scope(runtime.sessionmaker) as session:
            seen, done = batch(session)
        removed += done
        if seen < size:
            return removed


def _delete_old_events(runtime: Runtime, workspace_id: str, cutoff: datetime) -> int:
    def batch(session: Session) -> tuple[int, int]:
        repo = RetentionRepository(session, workspace_id)
        removed = repo.delete_old_events(cutoff, limit=EVENT_BATCH)
        return removed, removed

    return _until_short_batch(runtime, EVENT_BATCH, batch)


def _erase_inactive_profiles(runtime: Runtime, workspace_id: str, cutoff: datetime) -> int:
    def batch(session: Session) -> tuple[int, int]:
        ids = RetentionRepository(session, workspace_id).inactive_profile_ids(
            cutoff, limit=PROFILE_BATCH
        )
        erased = 0
        for profile_id in ids:
            try:
                with session.begin_nested():
                    erase_inactive_profile(
                        session, runtime, workspace_id=workspace_id, profile_id=profile_id
                    )
            except ProfileDeleted:
                continue  # deleted meanwhile by someone else
            erased += 1
        return len(ids), erased

    return _until_short_batch(runtime, PROFILE_BATCH, batch)


def sweep_workspace(runtime: Runtime, workspace_id: str) -> RetentionCounts:
    """Apply the workspace's retention now; what was removed."""
    with db.read_only_session(runtime.sessionmaker) as session:
        limits = cutoffs(get_workspace(session, workspace_id))
    events = 0
    if limits.events is not None:
        events = _delete_old_events(runtime, workspace_id, limits.events)
        if events:
            db.checkpoint_sqlite(runtime.engine)
    profiles = 0
    if limits.profiles is not None:
        profiles = _erase_inactive_profiles(runtime, workspace_id, limits.profiles)
    return RetentionCounts(events=events, profiles=profiles)


def sweep_all(runtime: Runtime) -> RetentionCounts:
    """Every workspace that has a retention setting."""
    with db.read_only_session(runtime.sessionmaker) as session:
        workspace_ids = list(
            session.scalars(
                select(Workspace.id).where(
                    or_(
                        Workspace.retention_events.is_not(None),
                        Workspace.retention_inactive_profiles.is_not(None),
                    )
                )
            )
        )
    events = profiles = 0
    for workspace_id in workspace_ids:
        counts = sweep_workspace(runtime, workspace_id)
        if counts.events or counts.profiles:
            log.info(
                "retention applied",
                extra={
                    "fields": {
                        "workspace_id": workspace_id,
                        "events_deleted": counts.events,
                        "profiles_erased": counts.profiles,
                    }
                },
            )
        events += counts.events
        profiles += counts.profiles
    return RetentionCounts(events=events, profiles=profiles)
