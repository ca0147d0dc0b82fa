"""Settings → Compliance → Requests in a real browser against a real `veil serve` (SPEC §8.8):
the tab, a request page, Extend, Cancel and the CSV upload."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.web.live_server import (
    BROWSER_TESTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    server_database,
)

pytestmark = BROWSER_TESTS

PASSWORD = "browser-test-password"
ADMIN = "admin@lumen.test"


@dataclass
class Store:
    server: LiveServer
    request_id: str
    data_dir: Path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp("live-requests")
    with server_database(data_dir) as database_url:
        server = LiveServer(data_dir, database_url)
        created = server.cli("workspaces", "create", "Lumen Coffee", "--json")
        server.add_user(created["workspace_id"], ADMIN, "admin", PASSWORD)
        # No worker: requests stay pending, so the page can cancel one.
        server.start("serve", "--no-worker")
        try:
            with server.api(created["admin_api_key"]) as api:
                api.post("/api/v1/profiles", json={"email": "ada@example.com"})
                request = api.post(
                    "/api/v1/privacy-requests",
                    json={
                        "type": "access",
                        "identities": [{"type": "email", "value": "ada@example.com"}],
                        "reference": "TICKET-7",
                    },
                )
                assert request.status_code == 202, request.text
            yield Store(server, request.json()["id"], data_dir)
        finally:
            server.stop()


@pytest.fixture
def page(store: Store):  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(f"{store.server.url}/profiles")
        page.get_by_label("Email").fill(ADMIN)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r"/profiles$"))
        yield page
        browser.close()


def test_requests_tab_request_page_extend_and_cancel(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{store.server.url}/settings/compliance")
    expect(page.get_by_role("link", name="Requests")).to_have_attribute("aria-current", "page")
    row = page.locator("table[data-table=requests] tbody tr").first
    expect(row).to_contain_text("a•••@example.com")
    expect(row).to_contain_text("days left")
    expect(row).not_to_contain_text("ada@example.com")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Access request")
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()

    page.get_by_label("Reason for the extension").fill("Several systems to search")
    page.get_by_role("button", name="Extend").click()
    expect(page.locator(".toast-success")).to_contain_text("Deadline extended.")
    expect(page.get_by_text("Extended: Several systems to search").first).to_be_visible()

    page.get_by_label("Yes, cancel this request").check()
    page.get_by_role("button", name="Cancel request").click()
    expect(page.locator(".toast-success")).to_contain_text("Request cancelled.")
    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)


def test_csv_upload(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    good = store.data_dir / "good.csv"
    good.write_text("email,external_id\nb@example.com,\n,cust-9\n", encoding="utf-8")
    bad = store.data_dir / "bad.csv"
    bad.write_text("email,phone\nc@example.com,\n,12\n", encoding="utf-8")

    page.goto(f"{store.server.url}/settings/compliance/requests")
    page.get_by_text("Upload a CSV of requests").click()
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("alert").filter(has_text="Line 3")).to_be_visible()
    expect(page.locator("table[data-table=requests] tbody tr")).to_have_count(1)

    page.get_by_text("Upload a CSV of requests").click()
    page.get_by_label("CSV file").set_input_files(str(good))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".toast-success")).to_contain_text("2 requests received.")
    expect(page.locator("table[data-table=requests] tbody tr")).to_have_count(3)
