"""Index dedup_keys by created_at, so the sweep prunes old delivery ids without a table scan."""

from alembic import op

revision: str = "dedup_created_at"
down_revision: str | None = "reliability_audit"


def upgrade() -> None:
    with op.batch_alter_table("dedup_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dedup_keys_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dedup_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dedup_keys_created_at"))
