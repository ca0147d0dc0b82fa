"""The suppressed_drop_counts migration: upgrade, downgrade and upgrade again on an empty
database of the backend under test; the migrated table matches the model."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from tests.conftest import empty_database
from tests.fixtures.factories import insert_bare_workspace
from veil.models import Base
from veil.schema import alembic_config

TABLE = "suppressed_drop_counts"


def test_upgrade_downgrade_upgrade_matches_the_model(tmp_path: Path) -> None:
    config = alembic_config()
    with empty_database(tmp_path, prefix="veil_mig") as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                insert_bare_workspace(conn)
                conn.execute(
                    text(
                        f"INSERT INTO {TABLE} (workspace_id, hour_start, source, dropped) "  # noqa: S608
                        "VALUES ('ws_1', CURRENT_TIMESTAMP, 'segment', 3)"
                    )
                )
                command.downgrade(config, "workspace_timezone")
                assert TABLE not in inspect(conn).get_table_names()
                assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar() == 1
                command.upgrade(config, "head")
                assert conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar() == 0  # noqa: S608
                diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        finally:
            engine.dispose()
    assert [d for d in diff if TABLE in repr(d)] == []
