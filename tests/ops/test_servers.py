"""Real processes: `veil --version`, Veil under plain `uvicorn --workers 2` (logging configured by
the application factory: JSON, UTC, request ids, no query strings, no personal data), and
`veil serve --workers 2` behaving as one process (metrics summed across processes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    free_port,
    make_subject,
    runtime_with,
    subprocess_env,
    veil_executable,
    veil_process,
    veil_server,
    wait_for_http,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle
from tests.ops.test_operability import _sample
from veil import __version__
from veil.app import create_app
from veil.compliance.exports.service import EXPORT_JOB
from veil.runtime import Runtime

EMAIL = "wilhelmina.quarrington@example.org"


def test_version() -> None:
    done = subprocess.run([veil_executable(), "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"veil {__version__}"


def test_uvicorn_workers_get_veils_logging_without_query_strings(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = subprocess_env(runtime, database_url, log_level="INFO")
    log = tmp_path / "uvicorn.log"
    uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "veil.app:create_app"]
    args = [*uvicorn, "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(process, f"{base}/healthz", log)
        with httpx.Client(base_url=base, headers=ws.admin, timeout=30) as api:
            for n in range(6):  # enough to reach both processes
                search = api.get(
                    "/api/v1/profiles",
                    params={"query": EMAIL},
                    headers={"X-Request-ID": f"search-{n}"},
                )
                assert search.status_code == 200, search.text
                assert search.headers["x-request-id"] == f"search-{n}"
            assert api.get(f"/no/such/{EMAIL}").status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=30)

    text = log.read_text()
    assert EMAIL not in text and EMAIL.split("@")[0] not in text
    assert "query=" not in text
    worker_lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    searches = [
        line
        for line in worker_lines
        if line["logger"] == "veil.http" and str(line.get("request_id", "")).startswith("search-")
    ]
    assert len(searches) == 6, text[-3000:]
    for line in searches:
        assert line["route"] == "/api/v1/profiles" and line["status"] == 200
        assert str(line["ts"]).endswith("+00:00")
    # Only uvicorn's supervising process (which runs no Veil code) writes plain text lines.
    others = [line for line in text.splitlines() if line.strip() and not line.startswith("{")]
    assert all(line.startswith(("INFO:", "WARNING:")) for line in others), others


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"multiprocessing" in cmdline and b"spawn_main" in cmdline:
            found.append(int(entry))
    return found


def test_serve_with_two_workers_answers_and_counts_as_one(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "serve.log"
    port = free_port()
    env = subprocess_env(runtime, database_url)
    args = ["serve", "--no-worker", "--workers", "2", "--port", str(port)]
    with veil_process(args, env, log) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(process, f"{base}/healthz", log)
        wait_until(lambda: len(_children(process.pid)) == 2, timeout=60, what="two processes")
        with httpx.Client(base_url=base, timeout=30) as http:
            for _ in range(12):
                assert http.get("/readyz").json()["database"] == "ok"
            profiles = http.get("/api/v1/profiles", headers=ws.admin)
            assert profiles.status_code == 200
            # Whichever process answers the scrape, it counts all twelve.
            for _ in range(4):
                text = http.get("/metrics").text
                assert (
                    _sample(
                        text,
                        "veil_http_requests_total",
                        method="GET",
                        route="/readyz",
                        status="200",
                    )
                    == 12
                )
    assert (runtime.settings.data_dir / "metrics").is_dir()


def test_serve_with_one_worker_still_serves(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    with veil_server(runtime, database_url, tmp_path / "one.log", "--no-worker") as base:
        assert httpx.get(f"{base}/readyz").json() == {
            "database": "ok",
            "queue": "ok",
            "export_store": "ok",
        }


def test_a_worker_serves_its_job_metrics(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    queue_url = f"sqlite:///{tmp_path / 'shared-queue.db'}"
    web = runtime_with(runtime, queue_url=queue_url)
    subject = make_subject(runtime, ws)
    with TestClient(create_app(web)) as client:
        requested = client.post(f"/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin)
        assert requested.status_code == 202
    # The export's job and the job of the privacy request recorded around it (SPEC §8).
    assert web.queue.pending_count() == 2

    port = free_port()
    env = subprocess_env(runtime, database_url, queue_url=queue_url)
    args = ["worker", "--threads", "1", "--metrics-port", str(port)]
    log = tmp_path / "worker.log"
    with veil_process(args, env, log) as process:
        wait_for_http(process, f"http://127.0.0.1:{port}/metrics", log)

        def built() -> bool:
            text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            try:
                return _sample(text, "veil_jobs_total", job=EXPORT_JOB, outcome="ok") == 1
            except AssertionError:
                return False

        wait_until(built, timeout=120, what="the worker's export job in its metrics")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert _sample(text, "veil_queue_depth") == 0
