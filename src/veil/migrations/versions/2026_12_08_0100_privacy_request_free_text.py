"""A privacy request's free text at rest: `reference` and `extension_reason` get sealed
columns, and the Idempotency-Key is kept as its SHA-256 only.

The requester writes these, and may write the person's email or name in them; the database
file must not hold that in clear (SPEC §5.3). Existing keys are hashed here (no secret needed:
`veil.compliance.privacy_requests.free_text.idempotency_digest`, copied so this revision never
changes); existing references and reasons need the secret keyring, so the sweep seals them
(`seal_plain_text`) and empties the plain columns.
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision: str = "privacy_request_free_text"
down_revision: str | None = "suppressed_drop_counts"

_PREFIX = "sha256:"


def _digest(key: str) -> str:
    return _PREFIX + hashlib.sha256(b"veil.idempotency-key\x00" + key.encode()).hexdigest()


def upgrade() -> None:
    op.add_column("privacy_requests", sa.Column("reference_sealed", sa.Text(), nullable=True))
    op.add_column(
        "privacy_requests", sa.Column("extension_reason_sealed", sa.Text(), nullable=True)
    )
    requests = sa.table(
        "privacy_requests", sa.column("id", sa.String()), sa.column("idempotency_key", sa.String())
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(requests.c.id, requests.c.idempotency_key).where(
            requests.c.idempotency_key.is_not(None)
        )
    ).all()
    for request_id, key in rows:
        bind.execute(
            requests.update()
            .where(requests.c.id == request_id)
            .values(idempotency_key=_digest(key))
        )


def downgrade() -> None:
    # The keys stay hashed: a replay of a key sent before the upgrade makes a new request.
    op.drop_column("privacy_requests", "extension_reason_sealed")
    op.drop_column("privacy_requests", "reference_sealed")
