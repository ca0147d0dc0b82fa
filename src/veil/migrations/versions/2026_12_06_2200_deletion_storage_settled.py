"""deletion_requests.storage_settled_at: the post-erasure storage step gets its own column.

It was a "storage": "pending"/"settled" key in the progress JSON, found by a Python scan of
the last 30 days of completed requests. Back-filled from that key: "settled" (and completed
requests from before the key existed, which the old scan never looked at) become settled at
their completion time; "pending" stays NULL, so the sweep still settles it.
"""

import sqlalchemy as sa
from alembic import op

revision: str = "deletion_storage_settled"
down_revision: str | None = "dedup_created_at"


def upgrade() -> None:
    with op.batch_alter_table("deletion_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("storage_settled_at", sa.DateTime(timezone=True)))
        batch_op.create_index(
            batch_op.f("ix_deletion_requests_storage"),
            ["status", "storage_settled_at"],
            unique=False,
        )
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    """Completed requests not marked "storage": "pending" are settled (at completion)."""
    if conn.dialect.name == "postgresql":
        storage = "progress ->> 'storage'"
    else:
        storage = "json_extract(progress, '$.storage')"
    conn.execute(
        sa.text(
            "UPDATE deletion_requests "
            "SET storage_settled_at = COALESCE(completed_at, updated_at) "
            f"WHERE status = 'completed' AND storage_settled_at IS NULL "
            f"AND ({storage} IS NULL OR {storage} <> 'pending')"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("deletion_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deletion_requests_storage"))
        batch_op.drop_column("storage_settled_at")
