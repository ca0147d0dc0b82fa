"""The whole migration chain on a fresh database of the backend under test: every downgrade
runs (to base), and upgrading again gives the models' schema. docs/deploy.md tells operators to
restore a backup rather than downgrade; the downgrades still have to work for development."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tests.compliance.privacy_requests.test_migration import fresh_engine  # noqa: F401
from tests.fixtures.factories import insert_bare_workspace
from veil.models import Base
from veil.schema import alembic_config


def test_downgrade_to_base_and_upgrade_again(fresh_engine: Engine) -> None:  # noqa: F811
    config = alembic_config()
    with fresh_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
        insert_bare_workspace(conn)  # the audit triggers fire on a table with rows
        command.downgrade(config, "base")
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
