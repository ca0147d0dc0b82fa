"""Privacy requests (SPEC §8): the requests, their callback deliveries, and the workspace
settings they read (default regulation, days under `other`, the callback signing secret).
"""

import sqlalchemy as sa
from alembic import op

from veil.migrations import ddl

revision: str = "privacy_requests"
down_revision: str | None = "renormalise_emails"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("default_regulation", sa.String(16), nullable=False, server_default="gdpr")
        )
        batch_op.add_column(
            sa.Column("other_regulation_days", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(sa.Column("callback_signing_secret_sealed", sa.Text(), nullable=True))

    op.create_table(
        "privacy_requests",
        ddl.id_column(),
        ddl.id_column("workspace_id"),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("regulation", sa.String(16), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("identities_sealed", sa.Text(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("extended", sa.Boolean(), nullable=False),
        sa.Column("extension_reason", sa.String(500), nullable=True),
        sa.Column("extended_at", _TS, nullable=True),
        sa.Column("completed_at", _TS, nullable=True),
        sa.Column("cancelled_at", _TS, nullable=True),
        sa.Column("requested_by", sa.String(320), nullable=False),
        sa.Column("suppress", sa.Boolean(), nullable=False),
        sa.Column("profile_ids", ddl.JSON, nullable=False),
        sa.Column("export_ids", ddl.JSON, nullable=False),
        sa.Column("deletion_ids", ddl.JSON, nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=True),
        sa.Column("callback_urls", ddl.JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("idempotency_hash", sa.String(64), nullable=True),
        sa.Column("scope", sa.String(255), nullable=True),
        ddl.id_column("batch_id", nullable=True),
        sa.Column("steps_started", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        ddl.workspace_fk("privacy_requests"),
        ddl.primary_key("privacy_requests"),
    )
    op.create_index(
        "ix_privacy_requests_workspace_created",
        "privacy_requests",
        ["workspace_id", "created_at", "id"],
    )
    op.create_index(
        "ix_privacy_requests_workspace_status_due",
        "privacy_requests",
        ["workspace_id", "status", "due_at"],
    )
    op.create_index(
        "ix_privacy_requests_status_next", "privacy_requests", ["status", "next_attempt_at"]
    )
    op.create_index("ix_privacy_requests_batch", "privacy_requests", ["batch_id"])
    op.create_index(
        "uq_privacy_requests_idempotency",
        "privacy_requests",
        ["workspace_id", "idempotency_key"],
        unique=True,
    )

    op.create_table(
        "privacy_request_callbacks",
        ddl.id_column(),
        ddl.id_column("workspace_id"),
        ddl.id_column("request_id"),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("announced_status", sa.String(16), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_attempt_at", _TS, nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("lease_until", _TS, nullable=True),
        sa.Column("next_attempt_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        ddl.workspace_fk("privacy_request_callbacks"),
        ddl.foreign_key(
            "privacy_request_callbacks", "request_id", "privacy_requests", ondelete="CASCADE"
        ),
        ddl.primary_key("privacy_request_callbacks"),
        sa.UniqueConstraint(
            "request_id",
            "url",
            "announced_status",
            name=op.f("uq_privacy_request_callbacks_request_id_url_announced_status"),
        ),
    )
    op.create_index(
        "ix_privacy_request_callbacks_request_seq",
        "privacy_request_callbacks",
        ["request_id", "seq"],
    )
    op.create_index(
        "ix_privacy_request_callbacks_status_next",
        "privacy_request_callbacks",
        ["status", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_table("privacy_request_callbacks")
    op.drop_table("privacy_requests")
    # Plain ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35 has it): a batch "recreate" of workspaces
    # would drop the table every other table cascades from, and trip the audit log's trigger.
    for column in ("callback_signing_secret_sealed", "other_regulation_days", "default_regulation"):
        op.drop_column("workspaces", column)
