"""Append to and verify the per-workspace hash chain of audit entries.

Each entry's hash covers its content, its sequence number and the previous entry's hash, so
an edited entry, or one removed from the middle, breaks the chain at that point; the
workspace's head (`audit_heads`: newest seq and hash, written with every entry) shows entries
removed from the end. The database refuses UPDATE and DELETE on the log (triggers, see the
`reliability_audit` migration): the chain is the evidence for what bypasses that.
Details hold ids and counts, never personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from veil.audit.repository import AuditRepository
from veil.audit.schemas import AuditFilters
from veil.kit.ids import new_id
from veil.kit.pagination import PageParams, paginate
from veil.kit.time import rfc3339, utcnow
from veil.models import AuditEntry, AuditHead, Workspace
from veil.models.base import Base

GENESIS = "0" * 64

# An append is written through Core with statements built once, their values bound at
# execution: no unit of work over ORM objects that nothing reads back, and no statement built
# (and its cache key computed) per entry.
_LOG = Base.metadata.tables[AuditEntry.__tablename__]
_HEAD = Base.metadata.tables[AuditHead.__tablename__]
# FOR NO KEY UPDATE of the workspace row, on PostgreSQL (see `record`).
_LOCK_WORKSPACE = (
    select(Workspace.id).where(Workspace.id == bindparam("ws")).with_for_update(key_share=True)
)
_READ_HEAD = select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.workspace_id == bindparam("ws"))
_APPEND = insert(_LOG)
_NEW_HEAD = insert(_HEAD)
_MOVE_HEAD = (
    update(_HEAD)
    .where(_HEAD.c.workspace_id == bindparam("ws"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def _entry_hash(entry: AuditEntry) -> str:
    payload = orjson.dumps(
        {
            "workspace_id": entry.workspace_id,
            "seq": entry.seq,
            "created_at": rfc3339(entry.created_at),
            "actor": entry.actor,
            "action": entry.action,
            "target_type": entry.target_type,
            "target_id": entry.target_id,
            "details": entry.details,
            "prev_hash": entry.prev_hash,
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(payload).hexdigest()


def record(
    session: Session,
    *,
    workspace_id: str,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction: it commits or rolls back with the action."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends per workspace so the chain has no forks. FOR NO KEY UPDATE, not
        # FOR UPDATE: every insert referencing the workspace holds a KEY SHARE lock on its row,
        # and a transaction that had inserted one (an export request, an event) would deadlock
        # here against another appender waiting for FOR UPDATE.
        session.execute(_LOCK_WORKSPACE, {"ws": workspace_id})
    # Read fresh from the database every time: a session kept across transactions may hold an
    # older head.
    last = session.execute(_READ_HEAD, {"ws": workspace_id}).one_or_none()
    entry = AuditEntry(
        id=new_id("aud"),
        workspace_id=workspace_id,
        seq=(last[0] + 1) if last else 1,
        created_at=utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details or {},
        prev_hash=last[1] if last else GENESIS,
    )
    entry.hash = _entry_hash(entry)
    session.execute(_APPEND, {c.key: getattr(entry, c.key) for c in _LOG.columns})
    if last is None:
        session.execute(
            _NEW_HEAD, {"workspace_id": workspace_id, "seq": entry.seq, "hash": entry.hash}
        )
    else:
        session.execute(
            _MOVE_HEAD, {"ws": workspace_id, "new_seq": entry.seq, "new_hash": entry.hash}
        )
    # As before: whatever the caller left pending reaches the database with the entry.
    session.flush()
    return entry  # not added to the session: its row is written, nothing tracks the object


class Target(Protocol):
    """A row of one workspace that an audit entry is about."""

    @property
    def id(self) -> str: ...

    @property
    def workspace_id(self) -> str: ...


def record_about(
    session: Session,
    target: Target,
    target_type: str,
    action: str,
    *,
    actor: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """`record` of an entry about one row: the entry's workspace and target are the row's."""
    return record(
        session,
        workspace_id=target.workspace_id,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target.id,
        details=details,
    )


@dataclass
class ChainReport:
    workspace_id: str
    entries: int
    ok: bool
    broken_at_seq: int | None = None
    reason: str | None = None
    head_hash: str | None = None


def verify_chain(session: Session, *, workspace_id: str) -> ChainReport:
    """Walk the chain from its first entry; the first break found is reported."""
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in session.scalars(
        AuditRepository(session, workspace_id)
        .entries()
        .order_by(AuditEntry.seq)
        .execution_options(yield_per=1000)
    ):
        count += 1
        if entry.seq != expected_seq:
            return ChainReport(workspace_id, count, False, expected_seq, "entry missing")
        if entry.prev_hash != prev:
            return ChainReport(workspace_id, count, False, entry.seq, "previous hash mismatch")
        if _entry_hash(entry) != entry.hash:
            return ChainReport(workspace_id, count, False, entry.seq, "entry altered")
        prev = entry.hash
        expected_seq += 1
    head = session.get(AuditHead, workspace_id, populate_existing=True)
    last_seq = expected_seq - 1
    if head is None and count:
        return ChainReport(workspace_id, count, False, 1, "chain head missing")
    if head is not None and head.seq != last_seq:
        reason = "entries missing at the end" if head.seq > last_seq else "head behind the chain"
        return ChainReport(workspace_id, count, False, min(head.seq, last_seq) + 1, reason)
    if head is not None and head.hash != prev:
        return ChainReport(workspace_id, count, False, last_seq, "head hash mismatch")
    return ChainReport(workspace_id, count, True, head_hash=prev if count else None)


def workspace_ids(session: Session) -> list[str]:
    """Every workspace, for verifying all chains (an operator's command, not a tenant's)."""
    return list(session.scalars(select(Workspace.id).order_by(Workspace.id)))


def list_entries(
    session: Session,
    *,
    workspace_id: str,
    filters: AuditFilters,
    page: PageParams,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first (by the chain's sequence number)."""
    return paginate(
        session,
        AuditRepository(session, workspace_id).entries(
            action=filters.action, target_id=filters.target_id
        ),
        keys=[AuditEntry.seq],
        descending=True,
        page=page,
    )
