"""Many hosts (SPEC §10): two `veil serve --no-worker` and two `veil worker` processes, each with
its own data dir (no shared folder), sharing the database, a Redis queue and an S3 bucket.
An export requested on one web process is built exactly once and downloads from the other; a
deletion requested on the other completes once and destroys the object; the compliance rate
limit is one count across both web processes (Redis), not one per process."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.compliance.export_support import (
    EMAIL,
    free_port,
    make_subject,
    runtime_with,
    subprocess_env,
    veil_process,
    wait_for_http,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.redis import redis_database
from tests.fixtures.s3 import object_keys, s3_settings_values
from veil.app import create_app
from veil.models import AuditEntry
from veil.runtime import Runtime

REDIS_DB = 11


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_database(REDIS_DB) as url:
        yield url


def _audit_count(runtime: Runtime, target_id: str, action: str) -> int:
    with runtime.sessionmaker() as session:
        return len(
            session.scalars(
                select(AuditEntry.id).where(
                    AuditEntry.target_id == target_id, AuditEntry.action == action
                )
            ).all()
        )


def test_two_web_and_two_worker_processes_without_a_shared_folder(
    runtime: Runtime,
    ws: WorkspaceHandle,
    database_url: str,
    tmp_path: Path,
    redis_url: str,
    s3_endpoint: str,
    s3_bucket: str,
) -> None:
    subject = make_subject(runtime, ws)
    shared = {
        "queue_url": redis_url,
        "sweep_interval": "1s",
        "compliance_rate_per_minute": "3",
        **s3_settings_values(s3_endpoint, s3_bucket),
    }
    with ExitStack() as stack:
        webs: list[str] = []
        started = []
        for name in ("web-a", "web-b", "worker-1", "worker-2"):
            env = subprocess_env(runtime, database_url, **shared)
            env["VEIL_DATA_DIR"] = str(tmp_path / name)  # nothing on disk is shared
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"):
                env[key] = env.pop(f"VEIL_{key}")
            if name.startswith("web"):
                port = free_port()
                args = ["serve", "--no-worker", "--port", str(port)]
                webs.append(f"http://127.0.0.1:{port}")
            else:
                args = ["worker", "--threads", "2"]
            log = tmp_path / f"{name}.log"
            started.append((stack.enter_context(veil_process(args, env, log)), log))
        for base, (process, log) in zip(webs, started, strict=False):
            wait_for_http(process, f"{base}/readyz", log)
        web_a = stack.enter_context(httpx.Client(base_url=webs[0], headers=ws.admin, timeout=30))
        web_b = stack.enter_context(httpx.Client(base_url=webs[1], headers=ws.admin, timeout=30))

        requested = web_a.post(f"/api/v1/profiles/{subject.profile_id}/export")
        assert requested.status_code == 202, requested.text
        export_id = requested.json()["id"]

        def export_ready() -> bool:
            return bool(
                web_b.get(f"/api/v1/compliance/exports/{export_id}").json()["status"] == "ready"
            )

        wait_until(export_ready, timeout=120, what="the export built by a worker")
        download = web_b.get(f"/api/v1/compliance/exports/{export_id}/download")
        assert download.status_code == 200, download.text
        assert download.json()["profile"]["email"] == EMAIL
        assert _audit_count(runtime, export_id, "export.ready") == 1
        assert len(object_keys(s3_endpoint, s3_bucket)) == 1
        for name in ("web-a", "web-b", "worker-1", "worker-2"):
            assert not (tmp_path / name / "exports").exists()

        deleted = web_b.post(
            f"/api/v1/profiles/{subject.profile_id}/delete", json={"confirm": True}
        )
        assert deleted.status_code == 202, deleted.text
        deletion_id = deleted.json()["id"]

        def deletion_completed() -> bool:
            answer = web_a.get(f"/api/v1/compliance/deletions/{deletion_id}").json()
            return bool(answer["status"] == "completed")

        wait_until(deletion_completed, timeout=120, what="the deletion")
        assert _audit_count(runtime, subject.profile_id, "deletion.completed") == 1
        assert web_a.get(f"/api/v1/compliance/deletions/{deletion_id}").json()["summary"][
            "verified"
        ]
        assert object_keys(s3_endpoint, s3_bucket) == []

        # Two compliance requests so far (limit 3 a minute): one more anywhere, then 429 on both.
        again = web_a.post(f"/api/v1/compliance/exports/{export_id}/retry")
        assert again.status_code != 429, again.text
        for web in (web_b, web_a):
            refused = web.post(f"/api/v1/profiles/{subject.profile_id}/export")
            assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"


def test_rate_limits_are_shared_through_redis(
    runtime: Runtime, ws: WorkspaceHandle, redis_url: str
) -> None:
    one, two = (
        runtime_with(runtime, rate_limit_url=redis_url, compliance_rate_per_minute=2)
        for _ in range(2)
    )
    subject = make_subject(runtime, ws)
    with TestClient(create_app(one)) as first, TestClient(create_app(two)) as second:
        path = f"/api/v1/profiles/{subject.profile_id}/export"
        assert first.post(path, headers=ws.admin).status_code == 202
        assert second.post(path, headers=ws.admin).status_code == 409  # counted, then refused
        limited = first.post(path, headers=ws.admin)
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert second.post(path, headers=ws.admin).status_code == 429


def test_without_redis_each_process_counts_alone(runtime: Runtime, ws: WorkspaceHandle) -> None:
    one, two = (runtime_with(runtime, compliance_rate_per_minute=1) for _ in range(2))
    assert one.settings.resolved_rate_limit_url is None
    subject = make_subject(runtime, ws)
    with TestClient(create_app(one)) as first, TestClient(create_app(two)) as second:
        path = f"/api/v1/profiles/{subject.profile_id}/export"
        assert first.post(path, headers=ws.admin).status_code == 202
        assert second.post(path, headers=ws.admin).status_code == 409  # its own count: let in
        assert first.post(path, headers=ws.admin).status_code == 429
