"""Signed callbacks (SPEC §8.6) against a real HTTP receiver on loopback."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.compliance.privacy_requests.support import URL, by_email, create, deliveries, settle
from tests.fixtures.callback_receiver import CALLBACK_BODY_KEYS, Receiver, verify_signature
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from veil.compliance.privacy_requests import callbacks
from veil.kit.time import utcnow
from veil.models import AuditEntry, PrivacyCallback
from veil.runtime import Runtime
from veil.worker.queue import sweep


@pytest.fixture
def allow_private(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "callback_allow_private", True)


def _secret(client: TestClient, ws: WorkspaceHandle) -> str:
    secret = client.get("/api/v1/workspace", headers=ws.admin).json()["callback_signing_secret"]
    assert isinstance(secret, str) and len(secret) > 30
    return secret


def _profile(runtime: Runtime, ws: WorkspaceHandle, email: str = "ada@example.com") -> str:
    with runtime.sessionmaker.begin() as session:
        return make_profile(session, workspace_id=ws.id, email=email).id


def _make_due(runtime: Runtime) -> None:
    with runtime.sessionmaker.begin() as session:
        session.execute(update(PrivacyCallback).values(next_attempt_at=utcnow()))


@pytest.mark.usefixtures("allow_private")
def test_each_status_change_is_posted_signed_and_in_order(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    _profile(runtime, ws)
    body = by_email("ada@example.com", reference="T-1", callback_urls=[receiver.url])
    request_id = create(client, ws, body).json()["id"]
    settle(runtime)
    secret = _secret(client, ws)
    statuses = []
    for headers, raw, path in receiver.received:
        assert path == "/hooks/veil"
        assert headers["Content-Type"] == "application/json"
        verify_signature(secret, headers, raw)
        payload = json.loads(raw)
        assert set(payload) == CALLBACK_BODY_KEYS
        assert payload["id"] == request_id and payload["workspace_id"] == ws.id
        assert payload["reference"] == "T-1"
        assert b"ada@example.com" not in raw
        statuses.append(payload["status"])
    assert statuses == ["in_progress", "completed"]
    state = client.get(f"{URL}/{request_id}", headers=ws.admin).json()["callbacks"]
    assert len(state) == 1
    assert state[0]["url"] == receiver.url and state[0]["status"] == "delivered"
    assert state[0]["attempts"] == 2 and state[0]["last_status_code"] == 200
    assert state[0]["last_attempt_at"] is not None
    with runtime.sessionmaker() as session:
        attempts = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy_request.callback_attempted")
        ).all()
    assert len(attempts) == 2
    assert all(receiver.url not in json.dumps(e.details) for e in attempts)


@pytest.mark.usefixtures("allow_private")
def test_a_failed_delivery_is_retried_later_and_the_next_waits_for_it(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    _profile(runtime, ws)
    receiver.script = [500]
    body = by_email("ada@example.com", callback_urls=[receiver.url])
    request_id = create(client, ws, body).json()["id"]
    settle(runtime)
    # The in_progress delivery failed once; the completed one waits behind it.
    assert [json.loads(raw)["status"] for _, raw, _ in receiver.received] == ["in_progress"]
    first, second = deliveries(runtime)
    assert first.status == "pending" and first.attempts == 1 and first.last_status_code == 500
    assert first.next_attempt_at is not None and first.last_attempt_at is not None
    pause = first.next_attempt_at - first.last_attempt_at
    assert timedelta(seconds=29) < pause <= timedelta(seconds=31)
    assert second.attempts == 0
    state = client.get(f"{URL}/{request_id}", headers=ws.admin).json()["callbacks"][0]
    assert state["status"] == "pending" and state["last_status_code"] == 500
    _make_due(runtime)
    sweep(runtime)
    settle(runtime)
    statuses = [json.loads(raw)["status"] for _, raw, _ in receiver.received]
    assert statuses == ["in_progress", "in_progress", "completed"]
    assert [d.status for d in deliveries(runtime)] == ["delivered", "delivered"]


@pytest.mark.usefixtures("allow_private")
def test_a_delivery_gives_up_after_the_last_attempt(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    receiver.script = [503] * callbacks.MAX_ATTEMPTS
    body = by_email("nobody@example.com", callback_urls=[receiver.url])
    request_id = create(client, ws, body).json()["id"]
    for _ in range(callbacks.MAX_ATTEMPTS):
        _make_due(runtime)
        settle(runtime, rounds=1)
    assert len(receiver.received) == callbacks.MAX_ATTEMPTS
    [delivery] = deliveries(runtime)
    assert delivery.status == "failed" and delivery.attempts == callbacks.MAX_ATTEMPTS
    state = client.get(f"{URL}/{request_id}", headers=ws.admin).json()["callbacks"][0]
    assert state["status"] == "failed" and state["last_status_code"] == 503


def test_the_retry_schedule_spans_at_least_an_hour() -> None:
    assert callbacks.MAX_ATTEMPTS >= 5
    pauses = list(callbacks.RETRY_PAUSES)
    assert pauses == sorted(pauses)
    assert sum(pauses[: callbacks.MAX_ATTEMPTS - 1]) >= 3600
    assert [callbacks.pause_after(n) for n in (1, 2)] == pauses[:2]


@pytest.mark.usefixtures("allow_private")
def test_redirects_are_not_followed(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    receiver.script = [(302, receiver.url + "/elsewhere")]
    create(client, ws, by_email("nobody@example.com", callback_urls=[receiver.url]))
    settle(runtime)
    assert [path for _, _, path in receiver.received] == ["/hooks/veil"]
    [delivery] = deliveries(runtime)
    assert delivery.status == "pending" and delivery.last_status_code == 302


@pytest.mark.usefixtures("allow_private")
def test_a_slow_receiver_times_out(
    client: TestClient,
    runtime: Runtime,
    ws: WorkspaceHandle,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(callbacks, "TIMEOUT_SECONDS", 0.3)
    receiver.hold = threading.Event()
    create(client, ws, by_email("nobody@example.com", callback_urls=[receiver.url]))
    settle(runtime, rounds=1)
    receiver.hold.set()
    [delivery] = deliveries(runtime)
    assert delivery.status == "pending" and delivery.last_error == "timeout"
    assert delivery.last_status_code is None and delivery.attempts == 1


def test_a_name_resolving_to_loopback_is_refused_at_delivery(
    client: TestClient,
    runtime: Runtime,
    ws: WorkspaceHandle,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Accepted while allowed (development), then refused once the rule is on: the name is
    resolved at each delivery and its address checked, whatever it was at creation."""
    monkeypatch.setattr(runtime.settings, "callback_allow_private", True)
    url = receiver.url.replace("127.0.0.1", "localhost")
    create(client, ws, by_email("nobody@example.com", callback_urls=[url]))
    monkeypatch.setattr(runtime.settings, "callback_allow_private", False)
    settle(runtime, rounds=1)
    assert receiver.received == []
    [delivery] = deliveries(runtime)
    assert delivery.last_error == "forbidden_address" and delivery.status == "pending"


def test_workspace_shows_and_rotates_the_signing_secret(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    before = _secret(client, ws)
    rotate = "/api/v1/workspace/callback-secret/rotate"
    assert_error(client.post(rotate, headers=ws.member), 403, "forbidden")
    assert _secret(client, ws) == before
    rotated = client.post(rotate, headers=ws.admin)
    assert rotated.status_code == 200
    after = rotated.json()["callback_signing_secret"]
    assert after != before and _secret(client, ws) == after
    assert_error(client.get("/api/v1/workspace", headers=ws.member), 403, "forbidden")


@pytest.mark.usefixtures("allow_private")
def test_deliveries_share_one_tls_context(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading the CA bundle costs more than a POST to a nearby receiver: once per process."""
    built: list[object] = []
    real = httpx.create_ssl_context

    def counted(*args: Any, **kwargs: Any) -> Any:
        built.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(httpx, "create_ssl_context", counted)
    callbacks.tls_context.cache_clear()
    try:
        for _ in range(3):
            assert callbacks.send(receiver.url, "{}", secret="s", allow_private=True).delivered
    finally:
        callbacks.tls_context.cache_clear()
    assert len(receiver.received) == 3 and len(built) == 1
