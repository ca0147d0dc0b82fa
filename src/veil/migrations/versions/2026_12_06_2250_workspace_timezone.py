"""Workspaces get a time zone (IANA name) the UI shows times in.

Revision ID: workspace_timezone
Revises: privacy_requests
Create Date: 2026-12-06 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "workspace_timezone"
down_revision: str | None = "privacy_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ADD/DROP COLUMN, not batch mode: a batch rebuild of `workspaces` on SQLite renames the
# table, which the audit log's append-only triggers refuse.
def upgrade() -> None:
    op.add_column(
        "workspaces",
        sa.Column("timezone", sa.String(length=64), nullable=False, server_default="UTC"),
    )


def downgrade() -> None:
    op.drop_column("workspaces", "timezone")
