"""The queue carries ids only (SQLite file, Redis), and both worker layouts build exports:
`veil serve` with its embedded worker, and `veil serve --no-worker` plus `veil worker`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    EMAIL,
    FIRST,
    LAST,
    PHONE,
    export_row,
    make_subject,
    request_export,
    runtime_with,
    subprocess_env,
    veil_process,
    veil_server,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.raw_files import raw_bytes
from tests.fixtures.redis import redis_database
from veil.app import create_app
from veil.runtime import Runtime
from veil.worker.queue import WorkerThreads

REDIS_DB = 13
SECRETS = [EMAIL, PHONE, FIRST, LAST]


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_database(REDIS_DB) as url:
        yield url


def _redis_bytes(url: str) -> bytes:
    """Every key and value in the Redis database, raw."""
    client = redis.Redis.from_url(url)
    dump = bytearray()
    for key in client.scan_iter():
        dump += key
        kind = client.type(key)
        if kind == b"list":
            for item in client.lrange(key, 0, -1):
                dump += item
        elif kind == b"string":
            dump += client.get(key) or b""
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                dump += field + value
        elif kind == b"zset":
            for member in client.zrange(key, 0, -1):
                dump += member
        elif kind == b"set":
            for member in client.smembers(key):
                dump += member
    client.close()
    return bytes(dump)


def _sqlite_queue_bytes(path: Path) -> bytes:
    return b"".join(
        raw_bytes(p) for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def _assert_no_personal_data(raw: bytes) -> None:
    for secret in SECRETS:
        for variant in {secret, secret.lower(), secret.upper()}:
            assert variant.encode() not in raw
            assert variant.encode("utf-16-le") not in raw


def test_sqlite_queue_file_holds_ids_only(
    runtime: Runtime, ws: WorkspaceHandle, tmp_path: Path
) -> None:
    queue_file = tmp_path / "queue.db"
    rt = runtime_with(runtime, queue_url=f"sqlite:///{queue_file}")
    subject = make_subject(rt, ws)
    with TestClient(create_app(rt)) as client:
        export_id = request_export(client, ws, subject.profile_id).json()["id"]
    before = _sqlite_queue_bytes(queue_file)
    assert export_id.encode() in before  # the message is really in this file
    _assert_no_personal_data(before)

    assert rt.queue.drain() == 2  # the build, then its privacy request's completion check
    assert export_row(rt, export_id).status == "ready"
    _assert_no_personal_data(_sqlite_queue_bytes(queue_file))


def test_redis_queue_holds_ids_only_and_the_embedded_consumer_builds(
    runtime: Runtime, ws: WorkspaceHandle, redis_url: str
) -> None:
    rt = runtime_with(runtime, queue_url=redis_url)
    subject = make_subject(rt, ws)
    with TestClient(create_app(rt)) as client:
        export_id = request_export(client, ws, subject.profile_id).json()["id"]
    raw = _redis_bytes(redis_url)
    assert export_id.encode() in raw
    _assert_no_personal_data(raw)

    workers = WorkerThreads(rt, threads=2)
    workers.start()
    try:
        wait_until(
            lambda: export_row(rt, export_id).status == "ready", timeout=30, what="the build"
        )
    finally:
        workers.stop()
    _assert_no_personal_data(_redis_bytes(redis_url))


def _poll_status(base: str, ws: WorkspaceHandle, export_id: str) -> str:
    response = httpx.get(f"{base}/api/v1/compliance/exports/{export_id}", headers=ws.admin)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


def test_veil_serve_builds_exports_with_its_embedded_worker(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    subject = make_subject(runtime, ws)
    with veil_server(runtime, database_url, tmp_path / "serve.log", sweep_interval="1s") as base:
        response = httpx.post(
            f"{base}/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin
        )
        assert response.status_code == 202, response.text
        export_id = response.json()["id"]
        wait_until(
            lambda: _poll_status(base, ws, export_id) == "ready", timeout=60, what="the build"
        )
        download = httpx.get(
            f"{base}/api/v1/compliance/exports/{export_id}/download", headers=ws.admin
        )
        assert download.status_code == 200
        assert download.json()["profile"]["email"] == EMAIL
    # The default queue is an SQLite file in the data dir.
    queue_file = runtime.settings.data_dir / "queue.db"
    assert queue_file.exists()
    _assert_no_personal_data(_sqlite_queue_bytes(queue_file))


def test_serve_without_worker_plus_separate_workers_on_redis(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path, redis_url: str
) -> None:
    subject = make_subject(runtime, ws)
    settings = {"queue_url": redis_url, "sweep_interval": "1s"}
    with veil_server(
        runtime, database_url, tmp_path / "serve.log", "--no-worker", **settings
    ) as base:
        response = httpx.post(
            f"{base}/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin
        )
        assert response.status_code == 202, response.text
        export_id = response.json()["id"]
        time.sleep(1.5)
        assert _poll_status(base, ws, export_id) == "pending"  # nobody consumes yet
        env = subprocess_env(runtime, database_url, **settings)
        with (
            veil_process(["worker", "--threads", "2"], env, tmp_path / "worker-1.log"),
            veil_process(["worker", "--threads", "2"], env, tmp_path / "worker-2.log"),
        ):
            wait_until(
                lambda: _poll_status(base, ws, export_id) == "ready",
                timeout=60,
                what="a worker to build it",
            )
    row = export_row(runtime, export_id)
    assert row.attempts == 1  # built once, by one of the two workers
