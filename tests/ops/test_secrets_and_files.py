"""SPEC §10 hardening: a weak secret refused in production (by estimated entropy, not length),
data files 0600 in 0700 folders, and queue messages that are JSON ids (a pickle is never run)."""

from __future__ import annotations

import json
import pickle
import secrets
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    make_subject,
    request_export,
    subprocess_env,
    veil_executable,
)
from tests.conftest import make_settings, run_jobs
from tests.fixtures.factories import make_workspace
from tests.fixtures.redis import redis_database
from veil.app import create_app
from veil.config import Settings, WeakSecret
from veil.kit.entropy import estimated_entropy_bits
from veil.logging import _private_file_handler
from veil.runtime import Runtime
from veil.schema import migrate
from veil.worker.serializer import UnsafeMessage

WEAK = [
    "changeme",
    "secret",
    "a" * 200,  # long, one character
    "abc" * 60,  # long, a pattern
    "0123456789" * 8,
    "Tr0ub4dor&3",
    "correct horse battery staple",
]
STRONG = [secrets.token_urlsafe(48), secrets.token_hex(32), secrets.token_urlsafe(32)]


def _prod(secret: str, tmp_path: Path) -> Settings:
    return Settings(env="prod", data_dir=tmp_path, secret_key=secret)  # type: ignore[call-arg]


@pytest.mark.parametrize("weak", WEAK)
def test_prod_refuses_a_weak_secret_whatever_its_length(weak: str, tmp_path: Path) -> None:
    with pytest.raises(WeakSecret):
        _prod(weak, tmp_path).secret_keys()
    with pytest.raises(WeakSecret):
        create_app(Runtime(_prod(weak, tmp_path)))


# Named, not shown: the values are new each run, and parallel workers must collect the same ids.
@pytest.mark.parametrize("strong", STRONG, ids=["urlsafe-48", "hex-32", "urlsafe-32"])
def test_prod_accepts_a_random_secret(strong: str, tmp_path: Path) -> None:
    assert estimated_entropy_bits(strong) >= 128
    assert _prod(strong, tmp_path).secret_keys()[0] == strong


def test_dev_and_test_still_accept_any_secret(tmp_path: Path) -> None:
    settings = Settings(env="dev", data_dir=tmp_path, secret_key="changeme")  # type: ignore[call-arg]
    assert settings.secret_keys()[0] == "changeme"


def test_veil_refuses_to_start_in_prod_with_a_weak_secret(
    runtime: Runtime, database_url: str
) -> None:
    env = subprocess_env(runtime, database_url)
    env.update({"VEIL_ENV": "prod", "VEIL_SECRET_KEY": "veil-secret-veil-secret-veil-secret"})
    done = subprocess.run(
        [veil_executable(), "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "VEIL_SECRET_KEY" in done.stderr and "Traceback" not in done.stderr


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_data_files_and_folders_are_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    settings = make_settings(
        data,
        None,  # type: ignore[arg-type]
        queue_url=None,
        secret_key=None,
        log_file=str(data / "logs" / "veil.jsonl"),
    )
    rt = Runtime(settings)
    migrate(rt.engine)
    ws = make_workspace(rt, name="Modes")
    with TestClient(create_app(rt)) as client:
        subject = make_subject(rt, ws)
        assert request_export(client, ws, subject.profile_id).status_code == 202
        assert run_jobs(rt) == 2  # the build, then its privacy request's completion check
    _private_file_handler(settings.log_file).close()
    rt.dispose()

    assert _mode(data) == 0o700
    for name in ("veil.db", "veil.db-wal", "veil.db-shm", "queue.db", "secret_key"):
        if (data / name).exists() or name in ("veil.db", "queue.db", "secret_key"):
            assert _mode(data / name) == 0o600, name
    assert _mode(data / "exports") == 0o700
    (export_file,) = list((data / "exports").iterdir())
    assert _mode(export_file) == 0o600
    assert _mode(data / "logs") == 0o700 and _mode(data / "logs" / "veil.jsonl") == 0o600


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    data = tmp_path / "old"
    data.mkdir(mode=0o755)
    (data / "veil.db").touch(mode=0o644)
    data.chmod(0o755)
    (data / "veil.db").chmod(0o644)
    rt = Runtime(make_settings(data, None))  # type: ignore[arg-type]
    rt.engine.connect().close()
    rt.dispose()
    assert _mode(data) == 0o700 and _mode(data / "veil.db") == 0o600


# -- the queue -------------------------------------------------------------------------------

REDIS_DB = 12


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_database(REDIS_DB) as url:
        yield url


class _Exploit:
    """Unpickling this runs a shell command that creates `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return (os.system, (f"touch {self.marker}",))


def test_queue_messages_are_json_ids_and_a_pickle_is_never_run(
    runtime: Runtime, redis_url: str, tmp_path: Path
) -> None:
    rt = Runtime(runtime.settings.model_copy(update={"queue_url": redis_url}))
    rt.__dict__["engine"] = runtime.engine
    client = redis.Redis.from_url(redis_url)
    rt.queue.enqueue("export", "exp_0123")
    (key,) = [k for k in client.scan_iter() if client.type(k) == b"list"]
    (raw,) = client.lrange(key, 0, -1)
    message = json.loads(raw)
    assert message["task"].endswith("veil.run_job") and message["args"] == ["export", "exp_0123"]
    client.delete(key)

    marker = tmp_path / "pwned"
    client.lpush(key, pickle.dumps(_Exploit(marker)))
    with pytest.raises(UnsafeMessage):
        rt.queue.run_one()
    assert not marker.exists()
    assert client.llen(key) == 0  # taken off the queue, not retried forever
    for garbage in (
        b"{}",
        b'{"task": "veil.worker.queue.veil.run_job", "args": ["export"]}',
        b"\x80\x04N.",
    ):
        client.lpush(key, garbage)
        with pytest.raises(UnsafeMessage):
            rt.queue.run_one()
    client.close()
