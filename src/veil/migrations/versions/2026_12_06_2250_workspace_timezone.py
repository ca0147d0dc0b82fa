"""Workspaces get a time zone (IANA name) the UI shows times in."""

import sqlalchemy as sa
from alembic import op

revision: str = "workspace_timezone"
down_revision: str | None = "privacy_requests"


# Plain ADD/DROP COLUMN, not batch mode: a batch rebuild of `workspaces` on SQLite renames the
# table, which the audit log's append-only triggers refuse.
def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC"),
    )


def downgrade() -> None:
    op.drop_column("workspaces", "timezone")
