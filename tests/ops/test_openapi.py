"""The OpenAPI document is usable by clients (stable operationIds, security schemes, examples
everywhere), and /api/docs works under Veil's CSP with assets served by Veil itself."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.compliance.export_support import veil_server
from tests.fixtures.factories import WorkspaceHandle
from tests.web.live_server import CHROMIUM, CHROMIUM_ARGS
from veil.runtime import Runtime


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
    ]


def test_operation_ids_are_the_endpoint_names_and_unique(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ids = {(p, m): o["operationId"] for p, m, o in _operations(doc)}
    assert max(Counter(ids.values()).values()) == 1
    assert ids[("/api/v1/profiles/{profile_id}/export", "post")] == "request_export"
    assert ids[("/api/v1/profiles/{profile_id}/delete", "post")] == "delete_profile"
    assert ids[("/api/v1/compliance/exports/{export_id}/download", "get")] == "download_export"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids.values())


def test_security_schemes_cover_each_route_family(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemes = doc["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {**schemes["ApiKey"], "type": "http", "scheme": "bearer"}
    assert schemes["WriteKey"] == {**schemes["WriteKey"], "type": "http", "scheme": "basic"}
    for path, _method, operation in _operations(doc):
        if path.startswith("/api/"):
            assert operation["security"] == [{"ApiKey": []}], path
        elif path.startswith("/v1/"):
            assert operation["security"] == [{"WriteKey": []}], path
        elif path.startswith("/t/"):
            assert "security" not in operation, path


def test_every_request_and_response_body_has_an_example(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    for name, schema in schemas.items():
        assert "example" in schema or "examples" in schema, name
    for path, method, operation in _operations(doc):
        bodies = [*operation.get("requestBody", {}).get("content", {}).items()]
        for response in operation["responses"].values():
            bodies += response.get("content", {}).items()
        for media_type, media in bodies:
            if not media_type.endswith("json"):
                continue  # the open pixel's image/gif
            assert ("example" in media) != ("examples" in media), (path, method)
    export = schemas["ExportRead"]["example"]
    assert export["id"].startswith("exp_") and export["profile_id"].startswith("prf_")
    not_found = doc["paths"]["/api/v1/profiles/{profile_id}/export"]["post"]["responses"]["404"]
    media = not_found["content"]["application/json"]
    assert not ("example" in media and "examples" in media)  # OpenAPI allows one or the other
    bodies = [e["value"] for e in media.get("examples", {}).values()] or [media.get("example")]
    assert "not_found" in [body["error"]["code"] for body in bodies]
    download = doc["paths"]["/api/v1/compliance/exports/{export_id}/download"]["get"]
    assert "docs/export.schema.json" in download["responses"]["200"]["description"]


def test_api_docs_page_has_no_inline_script_and_its_assets_are_local(client: TestClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["content-security-policy"]
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="/' in attrs and not body.strip() for attrs, body in scripts)
    for url in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        asset = client.get(url)
        assert asset.status_code == 200 and len(asset.content) > 100, url
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert client.get("/api/docs/assets/..%2F..%2F__init__.py").status_code == 404


@pytest.mark.browser
def test_swagger_ui_shows_the_operations_in_a_browser(
    runtime: Runtime, database_url: str, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    with (
        veil_server(runtime, database_url, tmp_path / "serve.log", "--no-worker") as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page()
            refused: list[str] = []
            page.on(
                "console",
                lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
            )
            page.goto(f"{base}/api/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            text = page.inner_text("#swagger-ui")
            assert "/api/v1/profiles/{profile_id}/export" in text
            assert "/api/v1/profiles/{profile_id}/delete" in text
            assert page.locator(".opblock").count() >= 20
            assert page.locator("button.authorize").count() == 1  # the security schemes
            assert refused == []
        finally:
            browser.close()


def test_every_documented_error_shows_its_codes_in_the_error_shape(client: TestClient) -> None:
    """Error responses come from `errors.responses(...)`: each status lists the codes it carries,
    each with an example body in SPEC's error shape (no hand-written description only)."""
    doc = client.get("/openapi.json").json()
    for path, method, operation in _operations(doc):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            media = response.get("content", {}).get("application/json", {})
            bodies = [e["value"] for e in media.get("examples", {}).values()]
            if "example" in media:
                bodies.append(media["example"])
            assert bodies, (path, method, status)
            for body in bodies:
                assert set(body) == {"error"}, (path, method, status)
                assert body["error"]["code"] in response["description"], (path, method, status)


def test_a_route_a_member_is_refused_documents_the_refusal_they_get(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    """Admin-only routers declare the 403 once (`ADMIN_RESPONSES`): each admin route documents
    the very body a member's key gets back, not a generic one."""
    doc = client.get("/openapi.json").json()
    refused = 0
    for path, method, operation in _operations(doc):
        if not path.startswith(("/api/", "/opendsr/")):
            continue
        url = re.sub(r"\{[a-z_]+\}", "prf_0000000000000000000000", path)
        response = client.request(method, url, headers=ws.member, json={})
        if response.status_code != 403:
            continue
        refused += 1
        media = operation["responses"]["403"]["content"]["application/json"]
        documented = [e["value"] for e in media.get("examples", {}).values()]
        assert documented == [response.json()], (path, method)
    assert refused >= 25  # the workspace, audit, compliance, privacy-request and OpenDSR routes
