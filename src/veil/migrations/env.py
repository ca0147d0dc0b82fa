"""Alembic environment: runs against the connection Veil hands it, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from veil.config import get_settings
from veil.db import make_engine
from veil.models import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(get_settings().resolved_database_url)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


run_migrations_online()
