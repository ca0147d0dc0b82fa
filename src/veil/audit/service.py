"""Append to and verify the per-workspace hash chain of audit entries.

Each entry's hash covers its content and the previous entry's hash, so an edited or removed
entry breaks the chain at that point. Details hold ids and counts, never personal data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veil.audit.repository import AuditRepository
from veil.kit.ids import new_id
from veil.kit.pagination import paginate
from veil.kit.time import rfc3339, utcnow
from veil.models import AuditEntry, Workspace

GENESIS = "0" * 64


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
        # FOR UPDATE: the caller's transaction usually inserted a row referencing the
        # workspace first (a FOR KEY SHARE lock), and FOR UPDATE conflicts with that —
        # concurrent requests of one workspace deadlocked.
        session.execute(
            select(Workspace.id).where(Workspace.id == workspace_id).with_for_update(key_share=True)
        )
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash)
        .where(AuditEntry.workspace_id == workspace_id)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
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
    session.add(entry)
    session.flush()
    return entry


@dataclass
class ChainReport:
    workspace_id: str
    entries: int
    ok: bool
    broken_at_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, *, workspace_id: str) -> ChainReport:
    prev = GENESIS
    expected_seq = 1
    count = 0
    for entry in session.scalars(
        select(AuditEntry)
        .where(AuditEntry.workspace_id == workspace_id)
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
    return ChainReport(workspace_id, count, True)


def count_entries(session: Session, *, workspace_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.workspace_id == workspace_id)
        )
        or 0
    )


def list_entries(
    session: Session,
    *,
    workspace_id: str,
    action: str | None = None,
    target_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> tuple[list[AuditEntry], str | None]:
    """Newest first (by the chain's sequence number)."""
    return paginate(
        session,
        AuditRepository(session, workspace_id).entries(action=action, target_id=target_id),
        keys=[AuditEntry.seq],
        descending=True,
        limit=limit,
        cursor=cursor,
        key_of=lambda e: [e.seq],
    )
