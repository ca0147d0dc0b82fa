"""Idempotency of incoming deliveries (Segment messageId, Shopify webhook id, email opens).

The key is stored hashed: a client may put anything in a messageId, and this table is not
touched by erasure. The unique constraint (workspace, scope, key) decides, so two concurrent
deliveries of the same message store it once.
"""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil.kit.ids import new_id
from veil.models import DedupKey

SEGMENT = "segment"
SHOPIFY = "shopify"
EMAIL_OPEN = "email_open"


def first_delivery(session: Session, *, workspace_id: str, scope: str, key: str) -> bool:
    """Record the delivery; False when this key was seen before in this workspace and scope.

    Runs in a savepoint, so a duplicate leaves the caller's transaction intact; a rollback of
    that transaction forgets the key again (a rejected batch can be resent as it was).
    """
    digest = hashlib.sha256(key.encode()).hexdigest()
    try:
        with session.begin_nested():
            session.add(
                DedupKey(id=new_id("ddk"), workspace_id=workspace_id, scope=scope, key=digest)
            )
            session.flush()
    except IntegrityError:
        return False
    return True
