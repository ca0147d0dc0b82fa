"""Running the Alembic migrations programmatically (serve, migrate, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Upgrade to head. Safe to run at every start and from several processes."""
    config = alembic_config()
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # One migrator at a time across processes.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7415201)")
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
