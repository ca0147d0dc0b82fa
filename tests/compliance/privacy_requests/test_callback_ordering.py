"""When the callback jobs run (issue 13): the `in_progress` delivery is enqueued behind the
request's steps, so it does not delay completion, and still never arrives after `completed` —
whatever order the jobs run in, and after a crash between the start and the steps."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.compliance.privacy_requests.support import by_email, create, deliveries, settle
from tests.fixtures.callback_receiver import Receiver
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.privacy_requests import callbacks, tasks
from veil.compliance.privacy_requests.service import JOB
from veil.kit.time import utcnow
from veil.models import PrivacyCallback, PrivacyRequest
from veil.runtime import Runtime
from veil.worker.queue import JOBS, sweep


@pytest.fixture(autouse=True)
def allow_private(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "callback_allow_private", True)


@pytest.fixture
def erasure(client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver) -> str:
    """An erasure request of one profile, with a callback to `receiver`: its id."""
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
    body = by_email("ada@example.com", type="erasure", callback_urls=[receiver.url])
    request_id: str = create(client, ws, body).json()["id"]
    return request_id


def _statuses(receiver: Receiver) -> list[str]:
    return [json.loads(raw)["status"] for _, raw, _ in receiver.received]


def _completed(runtime: Runtime, request_id: str) -> bool:
    with runtime.sessionmaker() as session:
        return session.get_one(PrivacyRequest, request_id).completed_at is not None


def test_the_in_progress_delivery_runs_after_the_steps_and_before_completed(
    runtime: Runtime, receiver: Receiver, erasure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[str, bool]] = []  # (job, request completed when it started)
    for name in (JOB, callbacks.JOB, "deletion"):
        handler = JOBS[name]

        def logged(rt: Runtime, object_id: str, name: str = name, handler: Callable = handler):  # type: ignore[type-arg]
            seen.append((name, _completed(rt, erasure)))
            handler(rt, object_id)

        monkeypatch.setitem(JOBS, name, logged)
    runtime.queue.drain()
    # One worker, FIFO: start, the deletion, the re-check that completes, then both deliveries.
    assert seen == [
        (JOB, False),
        ("deletion", False),
        (JOB, False),
        (callbacks.JOB, True),
        (callbacks.JOB, True),
    ]
    assert _statuses(receiver) == ["in_progress", "completed"]
    assert [d.status for d in deliveries(runtime)] == ["delivered", "delivered"]


@pytest.mark.usefixtures("erasure")
def test_a_completed_delivery_run_first_waits_for_in_progress(
    runtime: Runtime, receiver: Receiver
) -> None:
    """Two workers may take the jobs in any order: `completed` never overtakes `in_progress`."""
    runtime.queue.drain()
    receiver.received.clear()
    # As if the two deliveries had not been sent yet and their jobs came in reverse order.
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(PrivacyCallback).values(status="pending", attempts=0, next_attempt_at=None)
        )
    in_progress, completed = deliveries(runtime)
    tasks.deliver_callback(runtime, completed.id)
    assert receiver.received == []
    tasks.deliver_callback(runtime, in_progress.id)
    runtime.queue.drain()  # the settled in_progress delivery enqueued the next one
    assert _statuses(receiver) == ["in_progress", "completed"]
    assert [d.attempts for d in deliveries(runtime)] == [1, 1]


class _Crash(BaseException):
    """The worker process dies: nothing after this point runs, queued messages are lost."""


def test_a_crash_between_the_start_and_the_steps_still_delivers_in_order(
    runtime: Runtime, receiver: Receiver, erasure: str, monkeypatch: pytest.MonkeyPatch
) -> None:

    def crash(*args: object, **kwargs: object) -> None:
        raise _Crash()

    with monkeypatch.context() as patched:
        patched.setattr(tasks, "_advance", crash)
        patched.setattr(tasks, "_enqueue_deliveries", lambda *args: None)  # never reached
        with pytest.raises(_Crash):
            runtime.queue.drain()
    runtime.queue.flush()
    # The start (and its in_progress delivery) committed; no job knows about either.
    [delivery] = deliveries(runtime)
    assert delivery.announced_status == "in_progress" and delivery.status == "pending"
    assert receiver.received == []
    # The worker restarts; the request's lease runs out, the sweep finds both.
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == erasure)
            .values(lease_until=utcnow(), next_attempt_at=None)
        )
    sweep(runtime)
    settle(runtime)
    assert _statuses(receiver) == ["in_progress", "completed"]
    assert [d.status for d in deliveries(runtime)] == ["delivered", "delivered"]
    assert _completed(runtime, erasure)
