"""The integrations' sweep: delivery ids older than VEIL_DEDUP_RETENTION are pruned.

De-duplication answers "was this delivery seen before?" for redeliveries, which come within
hours (Segment's clients retry for minutes, Shopify for up to 48 hours; opens are counted per
UTC day). Keeping every id forever would grow `dedup_keys` with every event ever received, so
ids older than the retention (default 7 days) are deleted. A Segment track/page/screen stays
de-duplicated after that by the `message_id` of the event it recorded, as do Shopify orders and
checkouts; other deliveries replayed after a week are applied again (docs/integrations.md).
"""

from __future__ import annotations

from sqlalchemy import delete, select

from veil import db
from veil.kit.time import utcnow
from veil.models import DedupKey
from veil.runtime import Runtime
from veil.worker.queue import register_sweeper

PRUNE_BATCH = 5000


@register_sweeper("dedup_keys")
def sweep_dedup_keys(runtime: Runtime) -> dict[str, int]:
    return {"removed": prune_dedup_keys(runtime)}


def prune_dedup_keys(runtime: Runtime) -> int:
    """Delete delivery ids older than the retention, in short transactions; how many went."""
    cutoff = utcnow() - runtime.settings.dedup_retention
    total = 0
    while True:
        with db.session_scope(runtime.sessionmaker) as session:
            ids = (
                select(DedupKey.id)
                .where(DedupKey.created_at < cutoff)
                .limit(PRUNE_BATCH)
                .scalar_subquery()
            )
            result = session.execute(delete(DedupKey).where(DedupKey.id.in_(ids)))
            removed = db.rowcount(result)
        total += removed
        if removed < PRUNE_BATCH:
            return total
