"""Privacy requests (SPEC §8) end to end with the Redis queue and a separate `veil worker`:
a `veil serve --no-worker` process takes an access and an erasure request by email over HTTP,
a `veil worker` process (its own process, the same database and data dir) runs every step and
callback, and a real receiver on loopback gets each status once, signed with the workspace's
secret. The web process runs no job: whatever completes was done by the worker through Redis."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compliance.export_support import (
    free_port,
    make_subject,
    subprocess_env,
    veil_process,
    wait_for_http,
    wait_until,
)
from tests.fixtures.callback_receiver import CALLBACK_BODY_KEYS, Receiver, verify_signature
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.redis import redis_database
from veil.runtime import Runtime

REDIS_DB = 14
ACCESS_EMAIL = "grace.hopper@example.com"
ERASURE_EMAIL = "Ada.Byron@Example.com"  # matched whatever its letter case (SPEC §2)
URL = "/api/v1/privacy-requests"


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_database(REDIS_DB) as url:
        yield url


def _create(web: httpx.Client, kind: str, email: str, reference: str, callback: str) -> str:
    answer = web.post(
        URL,
        json={
            "type": kind,
            "identities": [{"type": "email", "value": email}],
            "reference": reference,
            "callback_urls": [callback],
        },
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "pending" and len(body["profile_ids"]) == 1, body
    request_id: str = body["id"]
    return request_id


def test_access_and_erasure_through_redis_and_a_separate_worker(
    runtime: Runtime,
    ws: WorkspaceHandle,
    database_url: str,
    tmp_path: Path,
    redis_url: str,
    receiver: Receiver,
) -> None:
    reader = make_subject(runtime, ws, email=ACCESS_EMAIL, phone="+14155550101")
    erased = make_subject(runtime, ws, email=ERASURE_EMAIL.lower(), phone="+14155550102")
    settings = {
        "queue_url": redis_url,
        "sweep_interval": "1s",
        "callback_allow_private": "true",
        "log_level": "INFO",
    }
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    with ExitStack() as stack:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = subprocess_env(runtime, database_url, **settings)
        web_process = stack.enter_context(
            veil_process(["serve", "--no-worker", "--port", str(port)], env, web_log)
        )
        wait_for_http(web_process, f"{base}/readyz", web_log)
        worker = stack.enter_context(veil_process(["worker", "--threads", "2"], env, worker_log))
        web = stack.enter_context(httpx.Client(base_url=base, headers=ws.admin, timeout=30))

        access_id = _create(web, "access", ACCESS_EMAIL, "T-access", receiver.url)
        erasure_id = _create(web, "erasure", ERASURE_EMAIL, "T-erasure", receiver.url)

        def settled(request_id: str) -> dict[str, Any]:
            assert worker.poll() is None, worker_log.read_text()[-3000:]
            answer = web.get(f"{URL}/{request_id}")
            assert answer.status_code == 200, answer.text
            body: dict[str, Any] = answer.json()
            assert body["status"] != "failed", body
            return body

        def done(request_id: str) -> bool:
            body = settled(request_id)
            return body["status"] == "completed" and all(
                c["status"] == "delivered" for c in body["callbacks"]
            )

        for request_id in (access_id, erasure_id):
            wait_until(partial(done, request_id), timeout=180, what=f"request {request_id}")

        access = settled(access_id)
        assert access["profile_ids"] == [reader.profile_id]
        (export_id,) = access["export_ids"]
        download = web.get(f"/api/v1/compliance/exports/{export_id}/download")
        assert download.status_code == 200, download.text
        document = download.json()
        assert document["profile"]["id"] == reader.profile_id
        assert document["profile"]["email"] == ACCESS_EMAIL
        assert [e["id"] for e in document["events"]] == reader.event_ids

        erasure = settled(erasure_id)
        assert erasure["profile_ids"] == [erased.profile_id]
        assert erasure["verified"] is True
        (deletion_id,) = erasure["deletion_ids"]
        deletion = web.get(f"/api/v1/compliance/deletions/{deletion_id}").json()
        assert deletion["status"] == "completed" and deletion["summary"]["verified"] is True
        profile = web.get(f"/api/v1/profiles/{erased.profile_id}").json()
        assert profile["status"] == "deleted" and profile.get("email") is None

        for request in (access, erasure):
            (state,) = request["callbacks"]
            assert state["url"] == receiver.url and state["status"] == "delivered"
            assert state["attempts"] == 2 and state["last_status_code"] == 200

        secret = web.get("/api/v1/workspace").json()["callback_signing_secret"]

    statuses: Counter[tuple[str, str]] = Counter()
    order: dict[str, list[str]] = {access_id: [], erasure_id: []}
    for headers, raw, path in receiver.received:
        assert path == "/hooks/veil"
        verify_signature(secret, headers, raw)
        payload = json.loads(raw)
        assert set(payload) == CALLBACK_BODY_KEYS and payload["workspace_id"] == ws.id
        assert ACCESS_EMAIL.encode() not in raw.lower()
        assert ERASURE_EMAIL.lower().encode() not in raw.lower()
        statuses[payload["id"], payload["status"]] += 1
        order[payload["id"]].append(payload["status"])
    assert order == {
        access_id: ["in_progress", "completed"],
        erasure_id: ["in_progress", "completed"],
    }
    assert set(statuses.values()) == {1}
    completed = [json.loads(raw) for _, raw, _ in receiver.received]
    assert {(p["id"], p["verified"]) for p in completed if p["status"] == "completed"} == {
        (access_id, None),
        (erasure_id, True),
    }
    # The worker ran every job, fed through Redis (no queue file in the shared data dir);
    # the web process none; neither logged an email.
    worker_text, web_text = worker_log.read_text(), web_log.read_text()
    assert f'"export built","export_id":"{export_id}"' in worker_text
    assert f'"deletion completed","deletion_request_id":"{deletion_id}"' in worker_text
    assert "export built" not in web_text and "deletion completed" not in web_text
    assert not (runtime.settings.data_dir / "queue.db").exists()
    for text in (worker_text.lower(), web_text.lower()):
        assert ACCESS_EMAIL not in text and ERASURE_EMAIL.lower() not in text
