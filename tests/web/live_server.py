"""A real `veil serve` in a subprocess (own data dir, free port, embedded worker), for the
browser tests and scripts/screenshots.py. Seeded through the CLI and the HTTP API only."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

CHROMIUM = "/usr/bin/chromium"


# Every Playwright module's marks: the `browser` marker, and a skip only where Chromium is missing
# outside CI (CI installs it and always runs these).
BROWSER_TESTS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() and not os.environ.get("CI"),
        reason="Chromium is not installed (CI always runs these)",
    ),
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def veil_command() -> list[str]:
    script = Path(sys.executable).with_name("veil")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from veil.cli.main import app; app()"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server_database(data_dir: Path) -> Iterator[str]:
    """SQLite in the data dir, or a fresh PostgreSQL database when the suite runs on one."""
    base = os.environ.get("VEIL_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{data_dir / 'veil.db'}"
        return
    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"veil_live_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class LiveServer:
    def __init__(self, data_dir: Path, database_url: str, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "VEIL_DATA_DIR": str(data_dir),
            "VEIL_DATABASE_URL": database_url,
            "VEIL_SECRET_KEY": secrets.token_urlsafe(32),
            "VEIL_SWEEP_INTERVAL": "1s",
            "VEIL_BASE_URL": self.url,
            "VEIL_LOG_LEVEL": "WARNING",
            **env,
        }
        self.env.pop("VEIL_QUEUE_URL", None)  # the embedded default: a queue in the data dir
        self.log_path = data_dir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> Any:
        result = subprocess.run(
            [*veil_command(), *args],
            env=self.env,
            input=stdin.encode() if stdin is not None else None,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"veil {args[0]} failed: {result.stderr.decode()[-2000:]}")
        return json.loads(result.stdout)

    def add_user(self, workspace_id: str, email: str, role: str, password: str) -> None:
        self.cli(
            "users", "create", "--workspace", workspace_id, "--email", email,
            "--role", role, "--password", password,
        )  # fmt: skip

    def start(self, *command: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [*veil_command(), *(command or ("serve",)), "--port", str(self.port)],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"veil serve exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"veil serve did not come up:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process = None

    def log_tail(self, size: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""

    def api(self, key: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
