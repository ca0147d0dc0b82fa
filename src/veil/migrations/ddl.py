"""The DDL that the migrations repeat: id columns, named primary and foreign keys (the
workspace one above all), and the JSON and UTC timestamp column types.

These helpers are part of already-released migrations, so their output must never change: a
database migrated before such a change and one migrated after it would differ. A different DDL
needs a new helper (or is spelled out in its migration); an existing helper is never edited.

Constraint names go through `op.f`, as Alembic's autogenerate wrote them: they are final, no
naming convention is applied to them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import veil.models.base

# JSON on SQLite, JSONB on PostgreSQL.
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
# DATETIME on SQLite, TIMESTAMP WITH TIME ZONE on PostgreSQL; read back as aware UTC.
UTC_TIMESTAMP = veil.models.base.UTCDateTime(timezone=True)


def id_column(name: str = "id", *, nullable: bool = False) -> sa.Column[Any]:
    """`<name> VARCHAR(40) [NOT] NULL`: a Veil id, the row's own (`id`) or another's."""
    return sa.Column(name, sa.String(length=40), nullable=nullable)


def primary_key(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    """`CONSTRAINT pk_<table> PRIMARY KEY (columns)`; the columns are `id` unless given."""
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def foreign_key(table: str, column: str, target: str, *, ondelete: str) -> sa.ForeignKeyConstraint:
    """`CONSTRAINT fk_<table>_<column>_<target> FOREIGN KEY (column) REFERENCES target (id)`."""
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def workspace_fk(table: str) -> sa.ForeignKeyConstraint:
    """`workspace_id` references `workspaces (id)`, its rows deleted with the workspace."""
    return foreign_key(table, "workspace_id", "workspaces", ondelete="CASCADE")
