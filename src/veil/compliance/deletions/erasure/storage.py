"""Settling storage after a completed erasure: the old page images leave the files on disk.

A completed request has `storage_settled_at` NULL until this step succeeds; the deletions
sweep retries it (index ix_deletion_requests_storage) until it does.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.deletions.compaction import compact
from veil.kit.time import utcnow
from veil.models import DeletionRequest
from veil.models.deletion_request import DeletionStatus
from veil.runtime import Runtime

log = logging.getLogger("veil.compliance.deletions")


def settle_storage(runtime: Runtime, request_id: str) -> bool:
    """After a completed erasure: push the old page images out of the storage files.

    SQLite: a WAL checkpoint(TRUNCATE) (retried while readers hold the WAL), so the pre-erasure
    pages are neither in the -wal file nor, thanks to secure_delete, in freed database pages.
    PostgreSQL: when VEIL_PG_REWRITE_AFTER_ERASURE is on, rewrite the touched tables
    (docs/erasure.md). Marked done on the request; the sweep retries until it is.
    """
    engine = runtime.engine
    if engine.dialect.name == "sqlite":
        done = db.checkpoint_sqlite(engine)
    elif runtime.settings.pg_rewrite_after_erasure:
        compact(engine)
        done = True
    else:
        done = True
    if not done:
        log.warning(
            "WAL checkpoint after erasure is still blocked by readers; the sweep retries",
            extra={"fields": {"deletion_request_id": request_id}},
        )
        return False
    with db.session_scope(runtime.sessionmaker) as session:
        session.execute(
            update(DeletionRequest)
            .where(
                DeletionRequest.id == request_id,
                DeletionRequest.status == DeletionStatus.COMPLETED,
                DeletionRequest.storage_settled_at.is_(None),
            )
            .values(storage_settled_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    return True


def storage_pending(session: Session, *, limit: int = 50) -> list[str]:
    """Completed requests whose post-erasure checkpoint / rewrite has not been done yet,
    newest first."""
    return list(
        session.scalars(
            select(DeletionRequest.id)
            .where(
                DeletionRequest.status == DeletionStatus.COMPLETED,
                DeletionRequest.storage_settled_at.is_(None),
            )
            .order_by(DeletionRequest.completed_at.desc())
            .limit(limit)
        )
    )
