"""Suppressed drops per workspace, UTC hour and source, for the compliance dashboard.

No backfill: the drops counted before this revision have only a per-suppression total and the
time of the last one (`suppressions.dropped`, `last_dropped_at`), not when each happened, so
the weekly chart starts at the upgrade; the Suppressions tab keeps showing those totals.
"""

import sqlalchemy as sa
from alembic import op

from veil.migrations import ddl

revision: str = "suppressed_drop_counts"
down_revision: str | None = "workspace_timezone"


def upgrade() -> None:
    op.create_table(
        "suppressed_drop_counts",
        ddl.id_column("workspace_id"),
        sa.Column("hour_start", ddl.UTC_TIMESTAMP, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        ddl.workspace_fk("suppressed_drop_counts"),
        ddl.primary_key("suppressed_drop_counts", "workspace_id", "hour_start", "source"),
    )


def downgrade() -> None:
    op.drop_table("suppressed_drop_counts")
