"""Test fixtures: a real database (SQLite by default, PostgreSQL with VEIL_TEST_DATABASE_URL),
a fresh runtime (data dir, keys, in-memory queue) per test, and an HTTP client.

PostgreSQL: each pytest process creates its own database `veil_test_<random>` on the server
named by VEIL_TEST_DATABASE_URL and drops it at the end, so runs never see each other.
Each test starts from empty tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

import veil.tasks  # noqa: F401  (an entry point: registers every job and sweeper)
from tests.fixtures.factories import WorkspaceHandle, make_workspace
from veil.app import create_app
from veil.config import Settings
from veil.db import make_engine
from veil.models import Base
from veil.runtime import Runtime, set_runtime
from veil.schema import migrate

TEST_SECRET = "test-secret-key-for-veil-0123456789"

# The S3 server and S3-backed runtime fixtures (tests/fixtures/s3.py); a callback receiver.
pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.callback_receiver"]


def _pg_base_url() -> str | None:
    return os.environ.get("VEIL_TEST_DATABASE_URL") or None


@contextmanager
def empty_database(sqlite_dir: Path, *, prefix: str = "veil_test") -> Iterator[str]:
    """The URL of a new, empty database of the test backend: a SQLite file in `sqlite_dir`,
    or `<prefix>_<random>` on the PostgreSQL server, dropped afterwards."""
    base = _pg_base_url()
    if base is None:
        yield f"sqlite:///{sqlite_dir / 'veil.db'}"
        return
    url = make_url(base)
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with empty_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


def _truncate(engine: Engine) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(tables) + " CASCADE"))
        else:
            # The audit log refuses DELETE while its workspace exists (append-only): it goes
            # with the workspaces, by their cascade.
            for name in tables:
                if name != "audit_log":
                    conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(text("DELETE FROM audit_log"))


def make_settings(data_dir: Path, database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "queue_url": "memory://",
        "secret_key": TEST_SECRET,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def runtime(engine: Engine, database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    _truncate(engine)
    # Share the session-wide engine and schema.
    rt = Runtime(make_settings(tmp_path / "data", database_url), engine=engine)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(None)


@pytest.fixture
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def ws(runtime: Runtime) -> WorkspaceHandle:
    return make_workspace(runtime, name="Acme Store")


@pytest.fixture
def other_ws(runtime: Runtime) -> WorkspaceHandle:
    return make_workspace(runtime, name="Other Store")


def run_jobs(runtime: Runtime) -> int:
    """Run everything the request just enqueued (the in-memory queue) in this thread."""
    return runtime.queue.drain()


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")
