"""The whole export and delete flow in a real browser against a real `veil serve`.

Chromium from Debian (/usr/bin/chromium), driven by Playwright. Skipped only on a machine
without Chromium and outside CI; in CI (env CI set) these always run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.web.live_server import BROWSER_TESTS, LiveServer, server_database
from veil.errors import AlreadyRequested

pytestmark = BROWSER_TESTS

PASSWORD = "browser-test-password"
ADMIN = "admin@lumen.test"
MEMBER = "staff@lumen.test"
ALREADY = AlreadyRequested.message


@dataclass
class Store:
    server: LiveServer
    workspace_id: str
    ada_id: str
    grace_id: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp("live")
    with server_database(data_dir) as database_url:
        server = LiveServer(data_dir, database_url)
        created = server.cli("workspaces", "create", "Lumen Coffee", "--json")
        workspace_id = created["workspace_id"]
        for email, role in ((ADMIN, "admin"), (MEMBER, "member")):
            server.cli(
                "users",
                "create",
                "--workspace",
                workspace_id,
                "--email",
                email,
                "--role",
                role,
                "--password",
                PASSWORD,
            )
        server.start()
        try:
            with server.api(created["admin_api_key"]) as api:
                ada = api.post(
                    "/api/v1/profiles",
                    json={
                        "email": "ada@example.com",
                        "phone": "+14155550123",
                        "first_name": "Ada",
                        "last_name": "Lovelace",
                        "properties": {"tier": "gold"},
                        "consent": {"email": "subscribed"},
                    },
                )
                grace = api.post(
                    "/api/v1/profiles",
                    json={
                        "email": "grace@example.com",
                        "first_name": "Grace",
                        "last_name": "Hopper",
                    },
                )
                assert ada.status_code == 201 and grace.status_code == 201, ada.text
            yield Store(server, workspace_id, ada.json()["id"], grace.json()["id"])
        finally:
            server.stop()


@pytest.fixture
def page(chromium, store):  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, store: Store, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{store.server.url}/profiles")
    assert "/login" in page.url
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/profiles$"))


def open_profile(page, name: str, search: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Search profiles").fill(search)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=name).click()
    page.get_by_role("heading", level=1, name=name).wait_for()


def test_admin_exports_then_deletes_a_profile(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, store, ADMIN)
    open_profile(page, "Ada Lovelace", "ada@example.com")
    assert "ada@example.com" not in page.url  # the search term never lands in the URL

    menu_button = page.get_by_role("button", name="Profile actions")
    expect(menu_button).to_have_attribute("aria-expanded", "false")
    menu_button.click()
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    menu = page.get_by_role("menu")
    expect(menu.get_by_role("menuitem")).to_have_count(3)  # Export, Restrict, Delete
    menu.get_by_role("menuitem", name=re.compile("Export")).click()

    toast = page.locator(".toast-success")
    expect(toast).to_contain_text("Settings → Compliance → Downloaded")

    # A second request while the first is open: the service's message, as an error toast.
    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile("Export")).click()
    error = page.get_by_role("alert").filter(has_text="Already requested")
    expect(error).to_contain_text(ALREADY)

    page.get_by_role("link", name="Open Downloaded").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance")
    expect(page.get_by_role("link", name="Downloaded")).to_have_attribute("aria-current", "page")
    row = page.locator("#compliance-table tbody tr").first
    expect(row).to_contain_text("Ada Lovelace")
    expect(row).to_contain_text("ada@example.com")
    expect(row).to_contain_text("+14155550123")
    # The page polls while the row is pending; the worker builds the file meanwhile.
    download_button = row.get_by_role("button", name="Download")
    expect(download_button).to_be_visible(timeout=60_000)
    with page.expect_download() as info:
        download_button.click()
    download = info.value
    assert download.suggested_filename == f"profile-{store.ada_id}-export.json"
    document = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert document["format"] == "veil.profile-export"
    assert document["profile"]["id"] == store.ada_id
    assert document["profile"]["email"] == "ada@example.com"
    assert document["profile"]["phone"] == "+14155550123"
    assert document["request"]["requested_by"] == ADMIN
    expect(row).to_contain_text("Downloaded", timeout=20_000)

    page.goto(f"{store.server.url}/profiles/{store.ada_id}")
    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile("Delete")).click()
    dialog = page.get_by_role("dialog", name="Delete Ada Lovelace?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Erased")
    expect(dialog).to_contain_text("Kept")
    # Cancel first: nothing happens, focus returns to the menu button.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Profile actions")).to_be_focused()

    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile("Delete")).click()
    suppress = dialog.get_by_role("checkbox", name=re.compile("Also suppress"))
    expect(suppress).not_to_be_checked()
    suppress.check()
    dialog.get_by_role("button", name="Delete profile").click()
    page.wait_for_url(re.compile(r"/profiles$"))
    expect(page.locator(".toast-success")).to_contain_text("Settings → Compliance → Deleted")
    expect(page.locator("table")).not_to_contain_text("Ada Lovelace")

    page.get_by_role("link", name="Open Deleted").click()
    expect(page.get_by_role("link", name="Deleted")).to_have_attribute("aria-current", "page")
    deleted_row = page.locator("#compliance-table tbody tr").first
    expect(deleted_row).to_contain_text("Ada Lovelace")
    expect(deleted_row).to_contain_text("ada@example.com")
    expect(deleted_row).to_contain_text("+14155550123")
    expect(deleted_row).to_contain_text(ADMIN)
    expect(deleted_row).to_contain_text("Completed", timeout=60_000)

    page.get_by_role("link", name="Suppressions").click()
    suppressed = page.locator("#compliance-table tbody tr")
    expect(suppressed).to_have_count(1)
    expect(suppressed.first).to_contain_text("email, phone")
    expect(suppressed.first).not_to_contain_text("ada@example.com")


def test_menu_and_dialog_work_from_the_keyboard(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, store, ADMIN)
    page.goto(f"{store.server.url}/profiles/{store.grace_id}")
    button = page.get_by_role("button", name="Profile actions")
    button.focus()
    page.keyboard.press("Enter")
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("menuitem", name=re.compile("Export"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name=re.compile("Restrict"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name=re.compile("Delete"))).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("menuitem", name=re.compile("Export"))).to_be_focused()
    page.keyboard.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_be_focused()

    page.keyboard.press("ArrowUp")  # opens on the last item
    expect(page.get_by_role("menuitem", name=re.compile("Delete"))).to_be_focused()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Delete Grace Hopper?")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    for _ in range(5):  # Tab cycles inside the dialog (the suppress checkbox included)
        page.keyboard.press("Tab")
        inside = "document.getElementById('delete-dialog').contains(document.activeElement)"
        assert page.evaluate(inside)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")  # not deleted


def test_member_sees_no_admin_actions_and_is_refused_by_the_server(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    sign_in(page, store, MEMBER)
    page.goto(f"{store.server.url}/profiles/{store.grace_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Grace Hopper")
    expect(page.get_by_role("button", name="Profile actions")).to_have_count(0)
    expect(page.get_by_role("menuitem")).to_have_count(0)
    expect(page.get_by_text("Export", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Compliance")).to_have_count(0)
    # Even with the member's own valid CSRF token, the server refuses the admin action.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    response = page.request.post(
        f"{store.server.url}/profiles/{store.grace_id}/export", form={"csrf_token": token}
    )
    assert response.status == 403
    assert page.request.get(f"{store.server.url}/settings/compliance/downloaded").status == 403


def test_forged_post_without_csrf_token_is_refused(page, store: Store) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, store, ADMIN)
    # The browser's own session cookie goes along; only the CSRF token is missing or wrong.
    for form in ({}, {"csrf_token": "forged"}):
        response = page.request.post(
            f"{store.server.url}/profiles/{store.grace_id}/export", form=form
        )
        assert response.status == 403
        assert "did not come from Veil" in response.text()
    page.goto(f"{store.server.url}/settings/compliance/downloaded")
    assert "Grace Hopper" not in page.locator("#compliance-table").inner_text()


def test_pages_fit_a_phone_screen(chromium, store: Store) -> None:  # type: ignore[no-untyped-def]
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, store, ADMIN)
        for path in (
            "/profiles",
            f"/profiles/{store.grace_id}",
            "/campaigns",
            "/settings/workspace",
            "/settings/compliance/downloaded",
            "/settings/compliance/deleted",
        ):
            page.goto(store.server.url + path)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} overflows by {overflow}px"
        page.goto(f"{store.server.url}/profiles/{store.grace_id}")
        page.get_by_role("button", name="Profile actions").click()
        page.get_by_role("menuitem", name=re.compile("Delete")).click()
        box = page.get_by_role("dialog").bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    finally:
        context.close()
