"""The privacy_requests migration: upgrade, downgrade and upgrade again on a fresh database of
the backend under test, and the migrated schema matches the models."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.fixtures.factories import insert_bare_workspace
from veil.models import Base
from veil.schema import alembic_config

REVISION = "privacy_requests"
OURS = ("privacy_requests", "privacy_request_callbacks", "workspaces")


@pytest.fixture
def fresh_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    base = os.environ.get("VEIL_TEST_DATABASE_URL")
    if base is None:
        engine = create_engine(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield engine
        engine.dispose()
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"veil_mig_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(url.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_upgrade_downgrade_upgrade_matches_the_models(fresh_engine: Engine) -> None:
    config = alembic_config()
    with fresh_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        insert_bare_workspace(conn)
        # Back to just before this migration, whatever came after it.
        before = ScriptDirectory.from_config(config).get_revision("privacy_requests")
        command.downgrade(config, str(before.down_revision))
        tables = inspect(conn).get_table_names()
        assert "privacy_requests" not in tables and "privacy_request_callbacks" not in tables
        assert "default_regulation" not in {
            c["name"] for c in inspect(conn).get_columns("workspaces")
        }
        # The workspace survived the downgrade (no table rebuild cascading its rows away).
        assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 1
        command.upgrade(config, "head")
        row = conn.execute(
            text("SELECT default_regulation, other_regulation_days FROM workspaces")
        ).one()
        assert tuple(row) == ("gdpr", 30)
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(name in repr(d) for name in OURS)]
    assert ours == []
