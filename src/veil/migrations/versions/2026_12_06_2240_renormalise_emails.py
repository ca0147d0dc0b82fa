"""Re-normalise the stored emails of active profiles (and users' logins) with email-validator.

Before, an email was only trimmed and lower-cased, so `ada@xn--bcher-kva.de` and
`ada@bücher.de` were two people. Now both are stored in one canonical form (veil.profiles.
identifiers: lower-cased, Unicode domain). This migration rewrites every stored address into
that form. Where two rows of one workspace would end up with the same address (the same
person stored twice), neither is changed and nothing is merged: merging people is an admin's
decision. The collisions are logged with their row ids and counts, never an address.
Addresses that no longer validate are left as they are and counted.
"""

from __future__ import annotations

import logging
from collections import defaultdict

import sqlalchemy as sa
from alembic import op
from email_validator import EmailNotValidError, validate_email

revision: str = "renormalise_emails"
down_revision: str | None = "identifier_history"

log = logging.getLogger("veil.migrations")


def canonical_email(stored: str) -> str | None:
    """The canonical form as of this revision (frozen here, not imported: a later change of
    the application's rule must not change what this migration did); None if not valid."""
    try:
        checked = validate_email(
            stored.strip(), check_deliverability=False, allow_smtputf8=True, test_environment=True
        )
    except EmailNotValidError:
        return None
    return f"{checked.local_part}@{checked.domain}".lower()


class Report:
    # A plain class: Alembic loads this file outside sys.modules, where dataclasses fail.
    def __init__(self) -> None:
        self.updated = 0
        self.invalid = 0
        self.collisions: list[str] = []  # row ids left unchanged


def renormalise(conn: sa.Connection, table: str, *, scope: str | None) -> Report:
    """Rewrite `table.email` of its rows (active profiles: per workspace; users: globally)."""
    columns = ["id", "email"] + ([scope] if scope else [])
    where = "email IS NOT NULL" + (" AND status = 'active'" if table == "profiles" else "")
    rows = conn.execute(sa.text(f"SELECT {', '.join(columns)} FROM {table} WHERE {where}")).all()
    report = Report()
    holders: dict[tuple[str, str], list[str]] = defaultdict(list)  # (scope, address) -> ids
    wanted: dict[str, tuple[str, str]] = {}  # id -> (scope, new address)
    for row in rows:
        group = row[2] if scope else ""
        holders[(group, row.email)].append(row.id)
        new = canonical_email(row.email)
        if new is None:
            report.invalid += 1
        elif new != row.email:
            wanted[row.id] = (group, new)
    targets: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row_id, key in wanted.items():
        targets[key].append(row_id)
    for key, ids in targets.items():
        if len(ids) > 1 or holders.get(key):
            # Another row already holds (or also wants) this address: the same person twice.
            report.collisions.extend(sorted(ids + holders.get(key, [])))
            continue
        conn.execute(
            sa.text(f"UPDATE {table} SET email = :email WHERE id = :id"),
            {"email": key[1], "id": ids[0]},
        )
        report.updated += 1
    report.collisions = sorted(set(report.collisions))
    return report


def upgrade() -> None:
    conn = op.get_bind()
    for table, scope in (("profiles", "workspace_id"), ("users", None)):
        report = renormalise(conn, table, scope=scope)
        log.log(
            logging.WARNING if report.collisions else logging.INFO,
            "emails re-normalised",
            extra={
                "fields": {
                    "table": table,
                    "updated": report.updated,
                    "invalid_left_unchanged": report.invalid,
                    "collisions_left_unchanged": len(report.collisions),
                    "collision_ids": report.collisions,
                }
            },
        )


def downgrade() -> None:
    # The old form is not kept; both forms name the same mailbox, so there is nothing to undo.
    pass
