"""Take the README's screenshots (docs/img/*.png) from a fresh demo store.

    make screenshots            (or .venv/bin/python scripts/screenshots.py [--out docs/img])

Starts `veil demo` in a temporary data dir on a free port, signs in as the demo admin in
headless Chromium (/usr/bin/chromium), walks the export and delete flow by clicking (one
deletion with "Also suppress" ticked), and saves: the profiles list, a profile with its ⋯ menu
open, the delete dialog, the export toast, Settings → Compliance (overview, Requests, one
request's page, Downloaded, Deleted, Suppressions), dark mode, and phone-width (390 px) pages.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.live_server import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    LiveServer,
    server_database,
)
from veil.demo.seed import ADMIN_EMAIL, DEMO_PASSWORD  # noqa: E402

DESKTOP = {"width": 1280, "height": 820}
PHONE = {"width": 390, "height": 844}


def settle(page: Any) -> None:
    """Let animations (menu, dialog, toasts) finish before the shot."""
    page.wait_for_timeout(450)


def sign_in(page: Any, url: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("Email").fill(ADMIN_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/profiles$"))


def engaged_profile(page: Any, url: str) -> str:
    """A customer who opened and clicked an email campaign: the richest profile page."""
    page.goto(f"{url}/campaigns")
    rows = page.locator("#main table tbody tr").filter(has_text="Email")
    page.goto(url + str(rows.first.locator("a.strong-link").get_attribute("href")))
    best, best_score = None, -1
    for row in page.locator("#main table tbody tr").all():
        link = row.locator("a[href^='/profiles/']")
        opens, clicks = (int(n) for n in row.locator("td.num").all_inner_texts()[:2])
        score = min(opens, 1) + min(clicks, 1)
        if link.count() and score > best_score:
            best, best_score = link.first.get_attribute("href"), score
    return str(best)


def other_profiles(page: Any, url: str, count: int, skip: str) -> list[str]:
    page.goto(f"{url}/profiles")
    hrefs = page.locator("a.person").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    return [h for h in hrefs if h != skip][:count]


def menu_action(page: Any, name: str) -> None:
    page.get_by_role("button", name="Profile actions").click()
    page.get_by_role("menuitem", name=re.compile(name)).click()


def take(out: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="veil-shots-") as tmp:
        data_dir = Path(tmp)
        with server_database(data_dir) as database_url:
            server = LiveServer(data_dir, database_url)
            server.start("demo")
            try:
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                    )
                    context = browser.new_context(viewport=DESKTOP, device_scale_factor=1)
                    context.set_default_timeout(30_000)
                    page = context.new_page()
                    url = server.url
                    sign_in(page, url)
                    page.goto(f"{url}/profiles")
                    settle(page)
                    page.screenshot(path=out / "profiles.png")

                    profile = engaged_profile(page, url)
                    page.goto(url + profile)
                    page.get_by_role("button", name="Profile actions").click()
                    settle(page)
                    page.screenshot(path=out / "profile-menu.png")

                    page.get_by_role("menuitem", name=re.compile("Delete")).click()
                    settle(page)
                    page.screenshot(path=out / "delete-dialog.png")
                    page.keyboard.press("Escape")

                    menu_action(page, "Export")
                    page.locator(".toast-success").wait_for()
                    settle(page)
                    page.screenshot(path=out / "export-toast.png")

                    exported, downloaded, *deleted = other_profiles(page, url, 4, profile)
                    for target in (exported, downloaded):
                        page.goto(url + target)
                        menu_action(page, "Export")
                        page.locator(".toast-success").wait_for()
                    page.goto(f"{url}/settings/compliance/downloaded")
                    buttons = page.get_by_role("button", name="Download", exact=True)
                    expect(page.locator("[data-pending]")).to_have_count(0, timeout=60_000)
                    with page.expect_download():
                        buttons.nth(1).click()
                    page.locator("[data-status=downloaded]").wait_for()
                    settle(page)
                    page.screenshot(path=out / "compliance-downloaded.png")

                    for index, target in enumerate(deleted):
                        page.goto(url + target)
                        menu_action(page, "Delete")
                        # One of the two is also kept out (SPEC §9): a fresh Suppressions row.
                        page.get_by_role("checkbox", name=re.compile("Also suppress")).set_checked(
                            index == 0
                        )
                        page.get_by_role("button", name="Delete profile").click()
                        page.wait_for_url(re.compile(r"/profiles$"))
                    page.goto(f"{url}/settings/compliance/deleted")
                    expect(page.locator("[data-pending]")).to_have_count(0, timeout=120_000)
                    settle(page)
                    page.screenshot(path=out / "compliance-deleted.png")
                    page.goto(f"{url}/settings/compliance/overview")
                    settle(page)
                    page.screenshot(path=out / "compliance-overview.png", full_page=True)

                    page.goto(f"{url}/settings/compliance/requests")
                    settle(page)
                    page.screenshot(path=out / "compliance-requests.png")
                    # Newest first: the run's own five requests lead the seeded history.
                    ours = page.locator("#main table tbody tr").all()[:5]
                    erasures = [row for row in ours if "Erasure" in row.inner_text()]
                    erasures[-1].locator("a.strong-link").click()  # the suppressing one
                    page.get_by_role("heading", name="Timeline").wait_for()
                    settle(page)
                    page.screenshot(path=out / "request-page.png", full_page=True)

                    page.goto(f"{url}/settings/compliance/suppressions")
                    settle(page)
                    page.screenshot(path=out / "compliance-suppressions.png")

                    dark = browser.new_context(
                        viewport=DESKTOP, device_scale_factor=1, color_scheme="dark"
                    )
                    dark_page = dark.new_page()
                    sign_in(dark_page, url)
                    for name, path in (
                        ("profile-dark", profile),
                        ("compliance-overview-dark", "/settings/compliance/overview"),
                        ("compliance-requests-dark", "/settings/compliance/requests"),
                    ):
                        dark_page.goto(url + path)
                        settle(dark_page)
                        dark_page.screenshot(path=out / f"{name}.png")

                    phone = browser.new_context(
                        viewport=PHONE, device_scale_factor=1, is_mobile=True
                    )
                    phone_page = phone.new_page()
                    sign_in(phone_page, url)
                    for name, path in (
                        ("profile-phone", profile),
                        ("downloaded-phone", "/settings/compliance/downloaded"),
                        ("campaigns-phone", "/campaigns"),
                        ("overview-phone", "/settings/compliance/overview"),
                        ("requests-phone", "/settings/compliance/requests"),
                    ):
                        phone_page.goto(url + path)
                        settle(phone_page)
                        phone_page.screenshot(path=out / f"{name}.png")
                    browser.close()
            finally:
                server.stop()
    for path in sorted(out.glob("*.png")):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    take(parser.parse_args().out.resolve())


if __name__ == "__main__":
    main()
