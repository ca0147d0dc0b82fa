"""Idempotency of incoming deliveries (Segment messageId, Shopify webhook id, email opens).

The key is stored hashed: a client may put anything in a messageId, and this table is not
touched by erasure. The unique constraint (workspace, scope, key) decides, so two concurrent
deliveries of the same message store it once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil.kit.ids import new_id
from veil.models import DedupKey

SEGMENT = "segment"
SHOPIFY = "shopify"
EMAIL_OPEN = "email_open"
_IN_CHUNK = 500


def first_delivery(session: Session, *, workspace_id: str, scope: str, key: str) -> bool:
    """Record the delivery; False when this key was seen before in this workspace and scope.

    Runs in a savepoint, so a duplicate leaves the caller's transaction intact; a rollback of
    that transaction forgets the key again (a rejected batch can be resent as it was).
    """
    digest = _digest(key)
    try:
        with session.begin_nested():
            session.add(
                DedupKey(id=new_id("ddk"), workspace_id=workspace_id, scope=scope, key=digest)
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def first_deliveries(
    session: Session, *, workspace_id: str, scope: str, keys: Sequence[str]
) -> set[str]:
    """`first_delivery` for many keys at once: the keys not seen before, now recorded.

    One query for the keys already known and one executemany INSERT of the others, in a
    savepoint. A key repeated in `keys` is one key (the caller decides which occurrence counts).
    If a concurrent delivery stores one of them first (the unique constraint refuses the
    INSERT), the keys are decided again one by one, exactly as `first_delivery` does.
    """
    digests = {key: _digest(key) for key in keys}
    known: set[str] = set()
    wanted = sorted(set(digests.values()))
    for start in range(0, len(wanted), _IN_CHUNK):
        known.update(
            session.scalars(
                select(DedupKey.key).where(
                    DedupKey.workspace_id == workspace_id,
                    DedupKey.scope == scope,
                    DedupKey.key.in_(wanted[start : start + _IN_CHUNK]),
                )
            )
        )
    fresh = {key for key, digest in digests.items() if digest not in known}
    if not fresh:
        return fresh
    # Sorted: two concurrent batches lock the keys they share in the same order.
    rows = [
        {"id": new_id("ddk"), "workspace_id": workspace_id, "scope": scope, "key": digest}
        for digest in sorted({digests[key] for key in fresh})
    ]
    try:
        with session.begin_nested():
            session.execute(insert(DedupKey), rows)
    except IntegrityError:
        return {
            key
            for key in sorted(fresh)
            if first_delivery(session, workspace_id=workspace_id, scope=scope, key=key)
        }
    return fresh


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
