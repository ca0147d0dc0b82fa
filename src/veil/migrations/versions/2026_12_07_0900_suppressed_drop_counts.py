"""Suppressed drops per workspace, UTC hour and source, for the compliance dashboard.

No backfill: the drops counted before this revision have only a per-suppression total and the
time of the last one (`suppressions.dropped`, `last_dropped_at`), not when each happened, so
the weekly chart starts at the upgrade; the Suppressions tab keeps showing those totals.
"""

import sqlalchemy as sa
from alembic import op

import veil.models.base

revision: str = "suppressed_drop_counts"
down_revision: str | None = "workspace_timezone"

_UTC = veil.models.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "suppressed_drop_counts",
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("hour_start", _UTC, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_suppressed_drop_counts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "hour_start", "source", name=op.f("pk_suppressed_drop_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressed_drop_counts")
