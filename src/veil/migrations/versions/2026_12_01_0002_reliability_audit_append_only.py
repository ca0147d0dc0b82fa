"""Audit log append-only in the database itself, and a head per workspace for its chain.

UPDATE and DELETE of audit entries are refused by triggers (SQLite and PostgreSQL); only
the cascade of a workspace's own deletion removes its entries. `audit_heads` keeps the
newest (seq, hash) of each chain, so `veil audit verify` also notices entries removed from
the end of a chain. See docs/security.md.
"""

import sqlalchemy as sa
from alembic import op

from veil.migrations import ddl

revision: str = "reliability_audit"
down_revision: str | None = "0001"

_SQLITE_TRIGGERS = [
    """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
    """
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    WHEN EXISTS (SELECT 1 FROM workspaces WHERE id = OLD.workspace_id)
    BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END
    """,
]

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION veil_audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (
        SELECT 1 FROM workspaces WHERE id = OLD.workspace_id
    ) THEN
        RETURN OLD;  -- the cascade of the workspace's own deletion
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'restrict_violation';
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "audit_heads",
        ddl.id_column("workspace_id"),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        ddl.workspace_fk("audit_heads"),
        ddl.primary_key("audit_heads", "workspace_id"),
    )
    # Chains written before this revision: their newest entry becomes the head.
    op.execute(
        """
        INSERT INTO audit_heads (workspace_id, seq, hash)
        SELECT a.workspace_id, a.seq, a.hash FROM audit_log a
        WHERE a.seq = (SELECT max(b.seq) FROM audit_log b WHERE b.workspace_id = a.workspace_id)
        """
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION veil_audit_log_append_only()"
        )
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS veil_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
    op.drop_table("audit_heads")
