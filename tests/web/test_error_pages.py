"""The UI answers pages, never JSON (issue 16 item 7): an unexpected error on a UI route is an
HTML error page with status 500, and a GET of a form's POST-only address an HTML 405 page."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from tests.web.conftest import Browser
from veil.profiles.repository import ProfileRepository


def _is_page(response: object, status: int) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("text/html")  # type: ignore[attr-defined]
    text: str = response.text  # type: ignore[attr-defined]
    assert text.lstrip().lower().startswith("<!doctype html")
    assert '"error"' not in text
    return text


def test_an_unexpected_error_on_a_ui_route_is_an_html_page(
    admin: Browser, ws: WorkspaceHandle, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: ProfileRepository, query: str | None) -> None:
        raise RuntimeError("a bug, not user input")

    monkeypatch.setattr(ProfileRepository, "search_active", broken)
    page = _is_page(admin.client.get("/profiles"), 500)
    assert "Something went wrong" in page
    assert "a bug, not user input" not in page
    # The API keeps SPEC's JSON shape for the same failure.
    api = client.get("/api/v1/profiles", headers=ws.admin)
    assert api.status_code == 500
    assert api.json()["error"]["code"] == "internal_error"


@pytest.mark.parametrize(
    "path",
    [
        "/settings/compliance/exports/exp_unknown/download",
        "/profiles/prf_unknown/export",
        "/logout",
        "/settings/workspace/keys",
    ],
)
def test_a_get_of_a_post_only_ui_address_is_an_html_page(admin: Browser, path: str) -> None:
    response = admin.client.get(path, follow_redirects=False)
    page = _is_page(response, 405)
    assert "POST" in response.headers["allow"]
    assert "button" in page


def test_api_addresses_keep_json_for_the_routers_errors(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = client.put("/api/v1/events", headers=ws.admin, json={})
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
