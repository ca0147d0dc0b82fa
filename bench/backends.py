"""A throwaway Veil installation per backend and run: its own SQLite data dir, or its own
PostgreSQL database `veil_bench_<random>` on 127.0.0.1:5432, dropped at the end."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from veil.config import Settings
from veil.runtime import Runtime
from veil.schema import migrate
from veil.workspaces.service import create_workspace

# The server to create the throwaway databases on (any database name works: it is replaced).
PG_SERVER = (
    os.environ.get("VEIL_BENCH_PG_URL")
    or os.environ.get("VEIL_TEST_DATABASE_URL")
    or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BENCH_SECRET = "bench-secret-key-not-for-production-0123456789"
BACKENDS = ("sqlite", "postgresql")


@dataclass
class Workspace:
    id: str
    admin_key: str
    write_key: str


@dataclass
class Installation:
    """One backend's database and data dir, and the settings every process of the run uses."""

    backend: str
    database_url: str
    data_dir: Path
    runtime: Runtime = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = Runtime(self.settings(queue_url="memory://"))

    def settings(self, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "env": "test",
            "data_dir": self.data_dir,
            "database_url": self.database_url,
            "secret_key": BENCH_SECRET,
            "log_level": "WARNING",
        }
        values.update(overrides)
        return Settings(**values)  # type: ignore[arg-type]

    def env(self, **overrides: str) -> dict[str, str]:
        """Environment of a child process (`veil serve`, a measured job) on this installation."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
        env.update(
            {
                "VEIL_ENV": "test",
                "VEIL_DATABASE_URL": self.database_url,
                "VEIL_DATA_DIR": str(self.data_dir),
                "VEIL_SECRET_KEY": BENCH_SECRET,
                "VEIL_LOG_LEVEL": "WARNING",
                # Throttles protect a shop from abuse; the benchmark measures the work itself.
                "VEIL_COMPLIANCE_RATE_PER_MINUTE": "100000000",
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            }
        )
        env.update({f"VEIL_{k.upper()}": v for k, v in overrides.items()})
        return env

    @property
    def engine(self):  # type: ignore[no-untyped-def]
        return self.runtime.engine

    def create_workspace(self, name: str) -> Workspace:
        with self.runtime.sessionmaker.begin() as session:
            created = create_workspace(session, name=name, keyring=self.runtime.seal_keyring)
            return Workspace(
                id=created.workspace.id,
                admin_key=created.admin_api_key,
                write_key=created.write_key,
            )

    def analyze(self) -> None:
        """Fresh planner statistics after bulk loading, as a real database would have."""
        with self.engine.connect() as conn:
            if self.backend == "postgresql":
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
            else:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()


@contextmanager
def installation(backend: str, *, keep: bool = False) -> Iterator[Installation]:
    root = Path(tempfile.mkdtemp(prefix=f"veil-bench-{backend}-"))
    admin = None
    name = f"veil_bench_{secrets.token_hex(4)}"
    if backend == "sqlite":
        url = f"sqlite:///{root / 'data' / 'veil.db'}"
    elif backend == "postgresql":
        server = make_url(PG_SERVER)
        admin = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server.set(database=name).render_as_string(hide_password=False)
    else:
        raise ValueError(f"unknown backend {backend!r}")
    inst = Installation(backend=backend, database_url=url, data_dir=root / "data")
    try:
        inst.data_dir.mkdir(parents=True, exist_ok=True)
        migrate(inst.engine)
        yield inst
    finally:
        inst.runtime.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
