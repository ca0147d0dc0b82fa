"""The `veil` console script, run for real in a subprocess against a temporary data dir."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from veil.app import create_app
from veil.auth.passwords import verify_password
from veil.config import Settings
from veil.demo import seed
from veil.models import ApiKey, AuditEntry, Membership, User
from veil.runtime import Runtime

VEIL = Path(sys.executable).with_name("veil")


@pytest.fixture
def data_dir(runtime: Runtime, tmp_path: Path) -> Path:
    # `runtime` empties the test database first (PostgreSQL runs share it with the CLI).
    return tmp_path / "cli-data"


@pytest.fixture
def cli_env(data_dir: Path, database_url: str, is_postgres: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEIL_")}
    env["VEIL_DATA_DIR"] = str(data_dir)
    env["VEIL_LOG_LEVEL"] = "WARNING"
    if is_postgres:
        env["VEIL_DATABASE_URL"] = database_url
    return env


@pytest.fixture
def cli_runtime(cli_env: dict[str, str]) -> Iterator[Runtime]:
    """The runtime the CLI itself builds from that environment (same database, same secret)."""
    rt = Runtime(
        Settings(
            data_dir=Path(cli_env["VEIL_DATA_DIR"]),
            database_url=cli_env.get("VEIL_DATABASE_URL"),
            queue_url="memory://",
        )
    )
    yield rt
    rt.dispose()


def veil(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VEIL), *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workspace_keys_and_users_from_the_command_line(
    cli_env: dict[str, str], cli_runtime: Runtime, data_dir: Path
) -> None:
    created = veil(cli_env, "workspaces", "create", "Corner Shop", "--json")
    assert created.returncode == 0, created.stderr
    out = json.loads(created.stdout)
    assert set(out) == {"workspace_id", "admin_api_key", "write_key"}
    ws = out["workspace_id"]
    assert (data_dir / "secret_key").exists()
    assert (data_dir / "secret_key").stat().st_mode & 0o777 == 0o600

    key = veil(cli_env, "keys", "create", "--workspace", ws, "--role", "member", "--json")
    assert key.returncode == 0, key.stderr
    member_key = json.loads(key.stdout)
    assert set(member_key) == {"api_key"}

    # Without --password and with stdin not a terminal, the password is read from stdin.
    user = veil(
        cli_env,
        "users",
        "create",
        "--workspace",
        ws,
        "--email",
        "Ops@Corner.example",
        "--role",
        "admin",
        input="correct horse battery\n",
    )
    assert user.returncode == 0, user.stderr
    assert "correct horse battery" not in user.stdout + user.stderr

    with TestClient(create_app(cli_runtime)) as client:
        admin = {"Authorization": f"Bearer {out['admin_api_key']}"}
        member = {"Authorization": f"Bearer {member_key['api_key']}"}
        assert client.get("/api/v1/workspace", headers=admin).json()["name"] == "Corner Shop"
        assert (
            client.get("/api/v1/workspace", headers=admin).json()["write_key"] == out["write_key"]
        )
        assert client.get("/api/v1/profiles", headers=member).status_code == 200
        assert client.get("/api/v1/workspace", headers=member).status_code == 403

    with cli_runtime.sessionmaker() as session:
        login = session.scalars(select(User).where(User.email == "ops@corner.example")).one()
        assert login.password_hash.startswith("$argon2id$")
        assert "correct horse battery" not in login.password_hash
        assert verify_password(login.password_hash, "correct horse battery")
        role = session.scalar(select(Membership.role).where(Membership.user_id == login.id))
        assert role == "admin"
        for row in session.scalars(select(ApiKey)):
            assert out["admin_api_key"] not in (row.key_hash, row.prefix, row.name)
            assert member_key["api_key"] not in (row.key_hash, row.prefix, row.name)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.workspace_id == ws))
        assert list(actions) == ["api_key.created"]


def test_cli_errors_are_clear_and_nonzero(cli_env: dict[str, str]) -> None:
    result = veil(cli_env, "keys", "create", "--workspace", "ws_missing", "--role", "admin")
    assert result.returncode == 1 and "Workspace not found" in result.stderr
    ws = json.loads(veil(cli_env, "workspaces", "create", "Shop", "--json").stdout)["workspace_id"]
    result = veil(cli_env, "keys", "create", "--workspace", ws, "--role", "owner")
    assert result.returncode == 1 and "role" in result.stderr
    result = veil(
        cli_env,
        "users",
        "create",
        "--workspace",
        ws,
        "--email",
        "a@b.example",
        "--role",
        "member",
        "--password",
        "short",
    )
    assert result.returncode == 1 and "at least 8" in result.stderr
    result = veil(cli_env, "workspaces", "create", "  ", "--json")
    assert result.returncode == 1 and "name" in result.stderr


def test_demo_seeds_once_and_prints_a_fresh_key_each_run_revoking_the_last(
    cli_env: dict[str, str], cli_runtime: Runtime
) -> None:
    first = veil(cli_env, "demo", "--seed-only", "--json", "--port", "8765")
    assert first.returncode == 0, first.stderr
    one = json.loads(first.stdout)
    assert one["created"] is True
    assert one["url"] == "http://127.0.0.1:8765"
    assert one["admin_login"] == {"email": seed.ADMIN_EMAIL, "password": seed.DEMO_PASSWORD}
    assert one["counts"]["profiles"] >= 200 and one["counts"]["events"] >= 20_000

    second = veil(cli_env, "demo", "--seed-only")
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout
    assert "2 campaigns and a flow" in second.stdout
    assert seed.ADMIN_EMAIL in second.stdout and seed.DEMO_PASSWORD in second.stdout
    key = next(w for w in second.stdout.split() if w.startswith("veil_sk_"))
    assert key != one["admin_api_key"]

    with TestClient(create_app(cli_runtime)) as client:
        response = client.get(
            "/api/v1/profiles", params={"limit": 5}, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200
        assert len(response.json()["data"]) == 5
        # The first run's key was revoked by the second: demo keys do not pile up.
        stale = client.get(
            "/api/v1/profiles", headers={"Authorization": f"Bearer {one['admin_api_key']}"}
        )
        assert stale.status_code == 401
        listed = client.get("/api/v1/workspace/keys", headers={"Authorization": f"Bearer {key}"})
        demo_keys = [k for k in listed.json()["data"] if k["name"] == "demo"]
        assert [k["active"] for k in demo_keys] == [True, False]
        workspaces = client.get(
            "/api/v1/workspace", headers={"Authorization": f"Bearer {key}"}
        ).json()
        assert workspaces["id"] == one["workspace_id"] and workspaces["name"] == "Demo Store"
    with cli_runtime.sessionmaker() as session:
        assert seed.count_demo(session, one["workspace_id"]) == one["counts"]

    # Serving: the banner comes once the port is bound, so its URL answers at once.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(VEIL), "demo", "--port", str(port)],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    banner = threading.Event()

    def watch(stream: IO[str]) -> None:
        for line in stream:
            if "Veil demo store" in line:
                banner.set()
                return

    try:
        assert server.stdout is not None
        threading.Thread(target=watch, args=(server.stdout,), daemon=True).start()
        assert banner.wait(timeout=90), "no banner"
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            pass  # refused if the banner had come before the bind
    finally:
        server.kill()
        server.wait(timeout=30)
