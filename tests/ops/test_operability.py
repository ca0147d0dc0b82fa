"""SPEC §10 operability, in process: /healthz, /readyz, /metrics (and its token), X-Request-ID on
responses and on log lines, and error logs without exception messages."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    break_store,
    make_subject,
    request_export,
    runtime_with,
)
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.s3 import s3_settings_values
from veil.app import create_app
from veil.logging import JsonFormatter
from veil.runtime import Runtime

OK = {"database": "ok", "queue": "ok", "export_store": "ok"}


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every log line, formatted as Veil writes them."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = logging.getLogger("veil").level
    logging.getLogger("veil").setLevel(logging.INFO)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        logging.getLogger("veil").setLevel(previous)


def _parsed(buffer: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_healthz_and_readyz_answer_ok(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == OK


def test_readyz_names_a_broken_export_store(client: TestClient, runtime: Runtime) -> None:
    break_store(runtime)
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {**OK, "export_store": "export_store_unavailable"}


def test_readyz_names_an_unreachable_queue_and_database(runtime: Runtime, tmp_path: Path) -> None:
    broken_queue = runtime_with(runtime, queue_url="redis://127.0.0.1:1/0")
    with TestClient(create_app(broken_queue)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json() == {**OK, "queue": "queue_unavailable"}

    no_database = Runtime(
        runtime.settings.model_copy(
            update={"database_url": "postgresql+psycopg://veil@127.0.0.1:1/nowhere"}
        )
    )
    with TestClient(create_app(no_database)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {**OK, "database": "database_unavailable"}


def test_readyz_checks_the_s3_bucket(runtime: Runtime, s3_endpoint: str) -> None:
    missing_bucket = runtime_with(runtime, **s3_settings_values(s3_endpoint, "no-such-bucket"))
    with TestClient(create_app(missing_bucket)) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {**OK, "export_store": "export_store_unavailable"}


def _sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, label_text = series.partition("{")
        found = ",".join(sorted(label_text.rstrip("}").split(","))) if label_text else ""
        if metric == name and found == wanted:
            return float(value)
    raise AssertionError(f"{name}{{{wanted}}} not in /metrics")


def test_metrics_count_requests_by_route_and_jobs_by_outcome(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    before = client.get("/metrics").text
    route = "/api/v1/profiles/{profile_id}"
    try:
        old = _sample(before, "veil_http_requests_total", method="GET", route=route, status="404")
    except AssertionError:
        old = 0.0
    for _ in range(3):
        assert client.get("/api/v1/profiles/prof_nope", headers=ws.admin).status_code == 404
    subject = make_subject(runtime, ws)
    assert request_export(client, ws, subject.profile_id).status_code == 202
    queued = client.get("/metrics")
    assert queued.status_code == 200
    assert queued.headers["content-type"].startswith("text/plain; version=0.0.4")
    # The export's job, and the job of the privacy request recorded around it (SPEC §8).
    assert _sample(queued.text, "veil_queue_depth") == 2
    run_jobs(runtime)

    text = client.get("/metrics").text
    assert (
        _sample(text, "veil_http_requests_total", method="GET", route=route, status="404")
        == old + 3
    )
    assert "prof_nope" not in text  # routes are templates, never raw paths
    assert _sample(text, "veil_http_request_duration_seconds_count", route=route) >= 3
    assert _sample(text, "veil_jobs_total", job="export", outcome="ok") >= 1
    assert _sample(text, "veil_job_duration_seconds_count", job="export") >= 1
    assert _sample(text, "veil_queue_depth") == 0
    assert _sample(text, "veil_privacy_requests_overdue") == 0
    assert "# TYPE veil_privacy_requests gauge" in text
    assert "# TYPE veil_suppressed_drops_total counter" in text


def test_metrics_token_is_required_when_set(client: TestClient, runtime: Runtime) -> None:
    runtime.settings.metrics_token = "scrape-token-0123456789"
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    right = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
    assert right.status_code == 200 and "veil_http_requests_total" in right.text


def test_a_valid_request_id_is_echoed_and_on_every_log_line(
    client: TestClient, runtime: Runtime, log_lines: io.StringIO
) -> None:
    break_store(runtime)  # so the (sync, thread-pool) endpoint itself logs a warning
    answer = client.get("/readyz", headers={"X-Request-ID": "edge-7f3a:42"})
    assert answer.headers["x-request-id"] == "edge-7f3a:42"
    lines = [line for line in _parsed(log_lines) if line.get("request_id") == "edge-7f3a:42"]
    assert {line["logger"] for line in lines} >= {"veil.readiness", "veil.http"}
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(line["ts"]))


@pytest.mark.parametrize("given", ["", "x" * 129, "has space", "tab\there", "café", "new\x7fline"])
def test_a_malformed_request_id_is_replaced(client: TestClient, given: str) -> None:
    answer = client.get("/healthz", headers={"X-Request-ID": given.encode("utf-8")})
    echoed = answer.headers["x-request-id"]
    assert echoed != given and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_without_a_request_id_one_is_generated(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert (
        client.get("/healthz", headers={"X-Request-ID": "x" * 128}).headers["x-request-id"]
        == "x" * 128
    )


def test_error_logs_carry_stack_frames_but_not_the_exception_message() -> None:
    def fails_with_personal_data() -> None:
        raise ValueError("duplicate key value (email)=(jane.doe@example.com)")

    try:
        fails_with_personal_data()
    except ValueError:
        record = logging.getLogger("veil.test").makeRecord(
            "veil.test", logging.ERROR, __file__, 1, "job failed", (), exc_info=True
        )
        import sys

        record.exc_info = sys.exc_info()
    line = JsonFormatter().format(record)
    assert "jane.doe" not in line
    data = json.loads(line)
    assert data["exc_type"] == "ValueError"
    assert any("in fails_with_personal_data" in frame for frame in data["stack"])
    assert data["ts"].endswith("+00:00")


def test_uvicorns_access_record_loses_its_query_string_and_client_address() -> None:
    from veil.logging import NoQueryStringFilter

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("203.0.113.9:51234", "GET", "/api/v1/profiles?query=jane.doe%40example.com", "1.1", 200),
        None,
    )
    assert NoQueryStringFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "jane.doe" not in line and "203.0.113.9" not in line
    assert json.loads(line)["msg"] == '- - "GET /api/v1/profiles HTTP/1.1" 200'


def _suppressed_drops(text: str) -> float:
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith("veil_suppressed_drops_total{")
    )


def test_suppressed_drops_are_counted(client: TestClient, ws: WorkspaceHandle) -> None:
    email = "suppressed.metric@example.com"
    created = client.post("/api/v1/profiles", json={"email": email}, headers=ws.admin)
    profile_id = created.json()["id"]
    deleted = client.post(
        f"/api/v1/profiles/{profile_id}/delete",
        json={"confirm": True, "suppress": True},
        headers=ws.admin,
    )
    assert deleted.status_code == 202, deleted.text
    before = _suppressed_drops(client.get("/metrics").text)
    event = {"type": "Viewed Product", "profile": {"email": email}}
    assert client.post("/api/v1/events", json=event, headers=ws.admin).status_code == 409
    assert _suppressed_drops(client.get("/metrics").text) == before + 1
