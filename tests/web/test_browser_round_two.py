"""UI round two in a real browser: phone width (390 px) and desktop (1280 px), toasts clear of
the ⋯ button, the delete dialog keeping the scroll, Export disabled on non-contacts, and an
axe-core check of every page in light and dark mode (axe bundled by axe-playwright-python)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.live_server import BROWSER_TESTS, LiveServer, server_database

pytestmark = BROWSER_TESTS

PASSWORD = "browser-test-password"
ADMIN = "admin@lumen.test"
LONG_NAME = "Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaft" * 2
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class Store:
    server: LiveServer
    long_id: str
    anonymous_id: str
    erased_id: str
    request_id: str


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    data_dir = tmp_path_factory.mktemp("live2")
    with server_database(data_dir) as database_url:
        # Each test signs in with its own viewport or colour scheme: more than the default
        # ten sign-ins a minute from one address.
        server = LiveServer(data_dir, database_url, VEIL_LOGIN_RATE_PER_MINUTE="1000")
        created = server.cli("workspaces", "create", "Lumen Coffee", "--json")
        server.cli(
            "users",
            "create",
            "--workspace",
            created["workspace_id"],
            "--email",
            ADMIN,
            "--role",
            "admin",
            "--password",
            PASSWORD,
        )
        server.start()
        try:
            with server.api(created["admin_api_key"]) as api:
                long = api.post(
                    "/api/v1/profiles",
                    json={"email": "long@example.com", "first_name": LONG_NAME},
                ).json()["id"]
                anonymous = api.post("/api/v1/profiles", json={"external_id": "visitor-7"})
                assert anonymous.status_code == 201, anonymous.text
                erased = api.post(
                    "/api/v1/profiles",
                    json={"email": "gone@example.com", "first_name": "Grace"},
                ).json()["id"]
                assert api.post(f"/api/v1/profiles/{long}/export").status_code == 202
                assert api.post(f"/api/v1/profiles/{erased}/export").status_code == 202
                deleted = api.post(
                    f"/api/v1/profiles/{erased}/delete", json={"confirm": True, "suppress": True}
                )
                assert deleted.status_code == 202, deleted.text
                # A suppressed drop, so the overview draws its bar.
                dropped = api.post("/api/v1/profiles", json={"email": "gone@example.com"})
                assert dropped.status_code == 409, dropped.text
                request_id = api.get("/api/v1/privacy-requests").json()["data"][0]["id"]
            yield Store(server, long, anonymous.json()["id"], erased, request_id)
        finally:
            server.stop()


def open_page(chromium: Any, store: Store, viewport: dict[str, int], scheme: str = "light") -> Any:
    context = chromium.new_context(viewport=viewport, color_scheme=scheme)
    context.set_default_timeout(30_000)  # a shared, busy machine: sign-in can be slow
    page = context.new_page()
    page.goto(f"{store.server.url}/login")
    page.get_by_label("Email").fill(ADMIN)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/profiles$"))
    return page


def pages(store: Store) -> list[str]:
    return [
        "/profiles",
        f"/profiles/{store.long_id}",
        f"/profiles/{store.anonymous_id}",
        f"/profiles/{store.erased_id}",
        "/campaigns",
        "/settings/workspace",
        "/settings/compliance/overview",
        "/settings/compliance/requests",
        f"/settings/compliance/requests/{store.request_id}",
        "/settings/compliance/downloaded",
        "/settings/compliance/deleted",
        "/settings/compliance/suppressions",
    ]


def page_width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_no_page_scrolls_sideways_and_long_names_wrap(chromium, store, viewport) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, viewport)
    for path in pages(store):
        page.goto(f"{store.server.url}{path}")
        assert page_width(page) <= viewport["width"], path
    page.goto(f"{store.server.url}/profiles/{store.long_id}")
    heading = page.get_by_role("heading", level=1).bounding_box()
    assert heading["x"] + heading["width"] <= viewport["width"]
    page.context.close()


def test_phone_top_bar_is_compact_and_shows_that_the_nav_scrolls(chromium, store) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, PHONE)
    page.goto(f"{store.server.url}/campaigns")
    assert page.locator(".sidebar").bounding_box()["height"] <= 130
    compliance = page.get_by_role("link", name="Compliance")
    compliance.scroll_into_view_if_needed()
    box = compliance.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.context.close()


def test_narrow_phone_nav_fades_while_more_links_lie_to_the_right(chromium, store) -> None:  # type: ignore[no-untyped-def]
    # 320 px (the narrowest phone we support): the links cannot all fit whatever the font, so the
    # nav scrolls. The fade shows until the user has scrolled to the end. Waits go through
    # expect(), not wait_for_function: a string predicate is eval'd in the page, which the
    # Content-Security-Policy (script-src 'self') rightly refuses.
    page = open_page(chromium, store, {"width": 320, "height": 640})
    page.goto(f"{store.server.url}/campaigns")
    nav = page.locator("nav.nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth")
    assert nav.evaluate("n => getComputedStyle(n).maskImage") != "none"
    expect(nav).not_to_have_attribute("data-scrolled-end", re.compile(".*"))
    nav.evaluate("n => n.scrollTo(n.scrollWidth, 0)")
    expect(nav).to_have_attribute("data-scrolled-end", "")
    assert nav.evaluate("n => getComputedStyle(n).maskImage") == "none"
    page.context.close()


def test_phone_downloaded_table_keeps_the_download_button_on_screen(chromium, store) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, PHONE)
    page.goto(f"{store.server.url}/settings/compliance/downloaded")
    button = page.get_by_role("button", name="Download")
    button.wait_for()
    box = button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page_width(page) <= PHONE["width"]
    # The erased person's row says what happened to the file.
    page.get_by_text("Destroyed by erasure").first.wait_for()
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_toast_leaves_the_menu_button_free(chromium, store, viewport) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, viewport)
    page.goto(f"{store.server.url}/profiles/{store.long_id}")
    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile("Export")).click()
    toast = page.locator(".toast").first
    toast.wait_for()
    menu_button = page.get_by_role("button", name="Profile actions")
    assert not overlaps(toast.bounding_box(), menu_button.bounding_box())
    menu_button.click()  # not covered: the click reaches it
    page.get_by_role("menuitem", name=re.compile("Delete")).wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Dismiss notification").first.click()
    page.locator(".toast").first.wait_for(state="detached")
    page.context.close()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_opening_the_delete_dialog_does_not_scroll_the_page(chromium, store, viewport) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, {**viewport, "height": 600})
    page.goto(f"{store.server.url}/profiles/{store.long_id}")
    page.evaluate("window.scrollTo(0, 60)")
    before = page.evaluate("window.scrollY")
    # From the keyboard, so that Playwright scrolls nothing itself.
    page.evaluate("document.getElementById('profile-actions-button').focus({preventScroll: true})")
    page.keyboard.press("ArrowUp")  # opens on the last item: Delete
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    assert page.evaluate("window.scrollY") == before
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.context.close()


def test_export_is_disabled_on_a_non_contact_with_the_reason(chromium, store) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, DESKTOP)
    page.goto(f"{store.server.url}/profiles/{store.anonymous_id}")
    page.get_by_role("button", name="Profile actions").press("Enter")
    export = page.get_by_role("menuitem", name=re.compile("Export"))
    assert export.get_attribute("aria-disabled") == "true"
    assert "Only contacts" in export.inner_text()
    page.keyboard.press("Enter")  # activating it does nothing
    page.keyboard.press("Escape")
    assert page.locator(".toast").count() == 0
    assert page.url.endswith(store.anonymous_id)
    page.context.close()


def axe_violations(page: Any) -> list[str]:
    from axe_playwright_python.base import AXE_SCRIPT

    page.evaluate(AXE_SCRIPT)
    result = page.evaluate("async () => await axe.run(document)")
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} {v['nodes'][0]['html'][:80]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_passes_axe_core(chromium, store, scheme) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, DESKTOP, scheme)
    found: dict[str, list[str]] = {}
    for path in pages(store):
        page.goto(f"{store.server.url}{path}")
        found[path] = axe_violations(page)
    page.goto(f"{store.server.url}/profiles/{store.long_id}")
    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile("Delete")).click()
    page.get_by_role("dialog").wait_for()
    # axe reads colours as drawn: wait for the dialog's fade-in to finish (a busy machine can
    # catch it half-transparent).
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")
    found["delete dialog"] = axe_violations(page)
    login = page.context.browser.new_context(color_scheme=scheme).new_page()
    login.goto(f"{store.server.url}/login")
    found["/login"] = axe_violations(login)
    login.context.close()
    assert {path: v for path, v in found.items() if v} == {}
    page.context.close()


def test_compliance_tabs_work_from_the_keyboard_with_a_visible_focus_ring(chromium, store) -> None:  # type: ignore[no-untyped-def]
    page = open_page(chromium, store, DESKTOP)
    page.goto(f"{store.server.url}/settings/compliance/overview")
    tab = page.get_by_role("link", name="Deleted")
    for _ in range(30):  # Tab through the page until the Deleted tab has the focus
        page.keyboard.press("Tab")
        if tab.evaluate("el => el === document.activeElement"):
            break
    assert tab.evaluate("el => el === document.activeElement")
    ring = tab.evaluate(
        "el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth"
    )
    assert not ring.startswith("none") and not ring.endswith(" 0px"), ring
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/settings/compliance/deleted$"))
    assert page.get_by_role("link", name="Deleted").get_attribute("aria-current") == "page"
    page.context.close()
