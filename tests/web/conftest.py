"""UI test helpers: users with a password, a TestClient signed in as one of them, a contact
with an order, and the browser for the Playwright modules."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle, make_event, make_profile, shopify_order
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS
from veil.app import create_app
from veil.runtime import Runtime
from veil.workspaces.service import create_user

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Browser:
    """A TestClient with the signed-in user's CSRF token at hand."""

    client: TestClient
    email: str

    def csrf(self, path: str = "/profiles") -> str:
        page = self.client.get(path)
        match = _CSRF.search(page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True):
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.csrf()
        return self.client.post(path, data=form, follow_redirects=False)


def add_user(runtime: Runtime, *, workspace_id: str, email: str, role: str) -> None:
    with runtime.sessionmaker.begin() as session:
        create_user(session, workspace_id=workspace_id, email=email, password=PASSWORD, role=role)


def sign_in(client: TestClient, email: str, password: str = PASSWORD, *, next: str | None = None):
    """Fill in the login form (its CSRF token included) and post it; `next` as the form has it."""
    page = client.get("/login")
    token = _CSRF.search(page.text)
    assert token
    form = {"email": email, "password": password, "csrf_token": token.group(1)}
    if next is not None:
        form["next"] = next
    return client.post("/login", data=form, follow_redirects=False)


@pytest.fixture
def browser_for(runtime: Runtime) -> Callable[[str], Browser]:
    """`browser_for(email)`: a fresh signed-in client (each with its own cookie jar)."""
    clients: list[TestClient] = []

    def make(email: str) -> Browser:
        client = TestClient(create_app(runtime), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        response = sign_in(client, email)
        assert response.status_code == 303, response.text
        return Browser(client=client, email=email)

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def admin(runtime: Runtime, ws: WorkspaceHandle, browser_for: Callable[[str], Browser]) -> Browser:
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    return browser_for("owner@acme.test")


@pytest.fixture
def member(runtime: Runtime, ws: WorkspaceHandle, browser_for: Callable[[str], Browser]) -> Browser:
    add_user(runtime, workspace_id=ws.id, email="staff@acme.test", role="member")
    return browser_for("staff@acme.test")


def contact_with_order(runtime: Runtime, workspace_id: str, **fields: object) -> str:
    """Ada Lovelace (a contact with a phone number) and one Shopify order carrying her data."""
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=workspace_id, phone="+14155550123", **fields)
        make_event(
            session,
            profile=profile,
            properties=shopify_order(
                email=profile.email, phone="+14155550123", first="Ada", last="Lovelace"
            ),
        )
        return profile.id


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """Debian's Chromium driven by Playwright, one per browser test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
