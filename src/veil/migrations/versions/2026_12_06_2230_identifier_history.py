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

import veil.models.base

revision: str = "identifier_history"
down_revision: str | None = "suppression_retention"

_TIME = veil.models.base.UTCDateTime(timezone=True)
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
    op.create_table(
        "profile_identifiers",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("workspace_id", sa.String(length=40), nullable=False),
        sa.Column("profile_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("until", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_profile_identifiers_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_profile_identifiers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile_identifiers")),
        sa.UniqueConstraint(
            "profile_id", "type", "value", name=op.f("uq_profile_identifiers_profile_id_type_value")
        ),
    )
    with op.batch_alter_table("profile_identifiers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_profile_identifiers_lookup", ["workspace_id", "type", "value"], unique=False
        )
    _backfill_from_recipients()


def _backfill_from_recipients() -> None:
    bind = op.get_bind()
    recipients = sa.table(
        "recipients",
        sa.column("workspace_id", sa.String),
        sa.column("profile_id", sa.String),
        sa.column("email", sa.String),
        sa.column("phone", sa.String),
        sa.column("sent_at", _TIME),
        sa.column("redacted_at", _TIME),
    )
    profiles = sa.table(
        "profiles",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("email", sa.String),
        sa.column("phone", sa.String),
    )
    history = sa.table(
        "profile_identifiers",
        sa.column("id", sa.String),
        sa.column("workspace_id", sa.String),
        sa.column("profile_id", sa.String),
        sa.column("type", sa.String),
        sa.column("value", sa.String),
        sa.column("until", _TIME),
        sa.column("created_at", _TIME),
    )
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
