"""Suppression, restriction and retention (SPEC §9).

Tables `suppression_keys`, `suppressions`, `suppressed_identifiers`; workspace settings
`suppress_on_delete`, `retention_events`, `retention_inactive_profiles`; profile columns
`restricted_at`, `restriction_reason`; an (workspace_id, timestamp) index on events for the
retention sweep.
"""

import sqlalchemy as sa
from alembic import op

from veil.migrations import ddl

revision: str = "suppression_retention"
down_revision: str | None = "deletion_storage_settled"


def upgrade() -> None:
    op.create_table(
        "suppression_keys",
        ddl.id_column("workspace_id"),
        sa.Column("key_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", ddl.UTC_TIMESTAMP, nullable=False),
        ddl.workspace_fk("suppression_keys"),
        ddl.primary_key("suppression_keys", "workspace_id"),
    )
    op.create_table(
        "suppressions",
        ddl.id_column(),
        ddl.id_column("workspace_id"),
        sa.Column("created_at", ddl.UTC_TIMESTAMP, nullable=False),
        ddl.id_column("deletion_id", nullable=True),
        ddl.id_column("privacy_request_id", nullable=True),
        sa.Column("identifier_types", ddl.JSON, nullable=False),
        sa.Column("dropped", sa.Integer(), nullable=False),
        sa.Column("last_dropped_at", ddl.UTC_TIMESTAMP, nullable=True),
        ddl.foreign_key("suppressions", "deletion_id", "deletion_requests", ondelete="SET NULL"),
        ddl.workspace_fk("suppressions"),
        ddl.primary_key("suppressions"),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppressions_workspace_created", ["workspace_id", "created_at", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suppressions_deletion_id"), ["deletion_id"], unique=False
        )
    op.create_table(
        "suppressed_identifiers",
        ddl.id_column(),
        ddl.id_column("workspace_id"),
        ddl.id_column("suppression_id"),
        sa.Column("digest", sa.String(length=64), nullable=False),
        ddl.foreign_key(
            "suppressed_identifiers", "suppression_id", "suppressions", ondelete="CASCADE"
        ),
        ddl.workspace_fk("suppressed_identifiers"),
        ddl.primary_key("suppressed_identifiers"),
    )
    with op.batch_alter_table("suppressed_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_suppressed_identifiers_lookup", ["workspace_id", "digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_suppressed_identifiers_suppression_id"), ["suppression_id"], unique=False
        )
    # Plain ADD COLUMN (SQLite supports it): a batch copy of `workspaces` would trip the
    # audit log's triggers, which name that table.
    op.add_column(
        "workspaces",
        sa.Column("suppress_on_delete", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("workspaces", sa.Column("retention_events", sa.String(length=32), nullable=True))
    op.add_column(
        "workspaces",
        sa.Column("retention_inactive_profiles", sa.String(length=32), nullable=True),
    )
    op.add_column("profiles", sa.Column("restricted_at", ddl.UTC_TIMESTAMP, nullable=True))
    op.add_column("profiles", sa.Column("restriction_reason", sa.String(length=500), nullable=True))
    op.create_index(
        "ix_events_workspace_timestamp", "events", ["workspace_id", "timestamp"], unique=False
    )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_workspace_timestamp")
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_column("restriction_reason")
        batch_op.drop_column("restricted_at")
    # Plain DROP COLUMN, as the upgrade added them: a batch copy of `workspaces` trips the
    # audit log's triggers on SQLite.
    op.drop_column("workspaces", "retention_inactive_profiles")
    op.drop_column("workspaces", "retention_events")
    op.drop_column("workspaces", "suppress_on_delete")
    op.drop_table("suppressed_identifiers")
    op.drop_table("suppressions")
    op.drop_table("suppression_keys")
