"""Failed logins do not stall writes (issue 16 item 2): the user lookup reads a snapshot and
the slow password check runs outside any transaction, so on SQLite a write goes through while a
password is being checked. The hasher is held mid-check by an Event, not by a sleep."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.web.conftest import add_user, sign_in
from veil.app import create_app
from veil.auth import passwords
from veil.runtime import Runtime

# Only a safety net so a regression cannot hang the run; no assertion depends on time.
NEVER = 120


class HeldHasher:
    """The real argon2 hasher, held inside verify() until the test releases it."""

    def __init__(self, real: passwords.Hasher) -> None:
        self.real = real
        self.checking = threading.Event()
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        return self.real.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        self.checking.set()
        self.release.wait(NEVER)
        return self.real.verify(hash, password)


@pytest.mark.parametrize("known_user", [True, False])
def test_an_event_write_completes_while_a_password_check_is_in_progress(
    runtime: Runtime,
    ws: WorkspaceHandle,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    known_user: bool,
) -> None:
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    held = HeldHasher(passwords.hasher)
    monkeypatch.setattr(passwords, "hasher", held)
    email = "owner@acme.test" if known_user else "nobody@acme.test"
    with TestClient(create_app(runtime)) as browser, ThreadPoolExecutor(1) as pool:
        login = pool.submit(sign_in, browser, email, "wrong password")
        assert held.checking.wait(NEVER), "the login never reached the password check"
        try:
            write = client.post(
                "/api/v1/events",
                json={"type": "Viewed Product", "profile": {"email": "ada@example.com"}},
                headers=ws.admin,
            )
            still_checking = not held.release.is_set()
        finally:
            held.release.set()
        assert write.status_code == 202, write.text
        assert still_checking
        assert login.result(NEVER).status_code == 401


def test_the_right_password_still_signs_in(runtime: Runtime, ws: WorkspaceHandle) -> None:
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    with TestClient(create_app(runtime)) as browser:
        assert sign_in(browser, "Owner@Acme.test").status_code == 303
        assert browser.get("/profiles").status_code == 200
