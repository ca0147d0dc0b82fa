"""Identifier history (SPEC §9): profile_identifiers, back-filled from recipient records.

Back-fill: an active profile's un-redacted recipient records show the emails and phone
numbers its messages went to; each one that differs from the profile's current email or
phone was the profile's before, so it becomes a previous identifier, its `until` the last
send to it (the change happened after that, exactly when is not recorded). What cannot be
reconstructed is listed in docs/rights.md (identifiers replaced before any message was sent,
every earlier external id, values seen only inside event payloads).
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from veil.migrations import ddl

revision: str = "identifier_history"
down_revision: str | None = "suppression_retention"

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _id() -> str:
    # The format of veil.kit.ids.new_id, kept here so the migration does not change with it.
    value = (int(datetime.now(UTC).timestamp() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "pid_" + "".join(reversed(chars))


def upgrade() -> None:
    history = op.create_table(
        "profile_identifiers",
        ddl.id_column(),
        ddl.id_column("workspace_id"),
        ddl.id_column("profile_id"),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("until", ddl.UTC_TIMESTAMP, nullable=False),
        sa.Column("created_at", ddl.UTC_TIMESTAMP, nullable=False),
        ddl.foreign_key("profile_identifiers", "profile_id", "profiles", ondelete="CASCADE"),
        ddl.workspace_fk("profile_identifiers"),
        ddl.primary_key("profile_identifiers"),
        sa.UniqueConstraint(
            "profile_id", "type", "value", name=op.f("uq_profile_identifiers_profile_id_type_value")
        ),
    )
    with op.batch_alter_table("profile_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_identifiers_lookup", ["workspace_id", "type", "value"], unique=False
        )
    _backfill_from_recipients(history)


def _strings(*names: str) -> list[sa.ColumnClause[str]]:
    """String columns of a lightweight table (`sa.table`), for the back-fill's query."""
    return [sa.column(name, sa.String) for name in names]


def _backfill_from_recipients(history: sa.Table) -> None:
    bind = op.get_bind()
    recipients = sa.table(
        "recipients",
        *_strings("workspace_id", "profile_id", "email", "phone"),
        sa.column("sent_at", ddl.UTC_TIMESTAMP),
        sa.column("redacted_at", ddl.UTC_TIMESTAMP),
    )
    profiles = sa.table("profiles", *_strings("id", "status", "email", "phone"))
    now = datetime.now(UTC)
    for kind, sent_to, current in (
        ("email", sa.func.lower(sa.func.trim(recipients.c.email)), profiles.c.email),
        ("phone", sa.func.trim(recipients.c.phone), profiles.c.phone),
    ):
        # One row per (profile, value): the aggregate, not every message, is read.
        rows = bind.execute(
            sa.select(
                recipients.c.workspace_id,
                recipients.c.profile_id,
                sent_to.label("value"),
                sa.func.max(recipients.c.sent_at).label("last_sent"),
            )
            .select_from(recipients.join(profiles, profiles.c.id == recipients.c.profile_id))
            .where(
                profiles.c.status == "active",
                recipients.c.redacted_at.is_(None),
                sent_to.is_not(None),
                sent_to != "",
                sa.or_(current.is_(None), sent_to != current),
            )
            .group_by(recipients.c.workspace_id, recipients.c.profile_id, sent_to)
        ).all()
        values = [
            {
                "id": _id(),
                "workspace_id": workspace_id,
                "profile_id": profile_id,
                "type": kind,
                "value": value[:320],
                "until": last_sent or now,
                "created_at": now,
            }
            for workspace_id, profile_id, value, last_sent in rows
        ]
        for start in range(0, len(values), 1000):
            bind.execute(sa.insert(history), values[start : start + 1000])


def downgrade() -> None:
    with op.batch_alter_table("profile_identifiers", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_identifiers_lookup")
    op.drop_table("profile_identifiers")
