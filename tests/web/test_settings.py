"""Settings → Workspace: general settings, PII keys, Shopify secret, write key, API keys."""

from __future__ import annotations

import re

from sqlalchemy import select

from veil.models import ApiKey, Workspace
from veil.workspaces.service import shopify_secret


def test_members_cannot_open_or_change_settings(ws, member):
    assert member.client.get("/settings/workspace").status_code == 403
    navigation = member.client.get("/profiles").text
    assert 'href="/settings/workspace"' not in navigation
    assert 'href="/settings/compliance"' not in navigation
    for path, data in (
        ("/settings/workspace/general", {"name": "Hijacked"}),
        ("/settings/workspace/keys", {"name": "x", "role": "admin"}),
        ("/settings/workspace/write-key/reveal", {}),
        ("/settings/workspace/shopify-secret", {"secret": "s3cret"}),
    ):
        assert member.post(path, data).status_code == 403, path


def test_settings_forms_need_csrf(admin):
    response = admin.post("/settings/workspace/general", {"name": "No token"}, csrf=False)
    assert response.status_code == 403


def test_create_api_key_shows_it_once_and_it_works(runtime, client, admin):
    response = admin.post("/settings/workspace/keys", {"name": "Nightly sync", "role": "member"})
    assert response.status_code == 200
    token = re.search(r'<code id="new-api-key">([^<]+)</code>', response.text).group(1)
    assert response.headers["cache-control"] == "no-store"
    assert (
        client.get("/api/v1/profiles", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    listing = admin.client.get("/settings/workspace").text
    assert "Nightly sync" in listing and token not in listing
    with runtime.sessionmaker() as session:
        key = session.scalar(select(ApiKey).where(ApiKey.name == "Nightly sync"))
        assert key.role == "member"
        key_id = key.id
    revoked = admin.post(f"/settings/workspace/keys/{key_id}/revoke")
    assert revoked.status_code == 303
    assert "revoked" in admin.client.get("/settings/workspace").text
    assert (
        client.get("/api/v1/profiles", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )


def test_revoking_another_workspaces_key_is_not_found(runtime, admin, other_ws):
    with runtime.sessionmaker() as session:
        key_id = session.scalar(select(ApiKey.id).where(ApiKey.workspace_id == other_ws.id))
    assert admin.post(f"/settings/workspace/keys/{key_id}/revoke").status_code == 404


def test_write_key_is_masked_until_revealed(ws, admin):
    page = admin.client.get("/settings/workspace").text
    assert ws.write_key not in page
    assert ws.write_key[:12] in page
    revealed = admin.post("/settings/workspace/write-key/reveal")
    assert revealed.status_code == 200
    assert ws.write_key in revealed.text


def test_general_settings_and_pii_keys_are_saved(runtime, ws, admin):
    response = admin.post(
        "/settings/workspace/general", {"name": "Acme Europe", "default_phone_region": "DE"}
    )
    assert response.status_code == 303
    response = admin.post(
        "/settings/workspace/pii-keys", {"pii_keys": "loyalty_card\ncompany_vat_id, loyalty_card"}
    )
    assert response.status_code == 303
    with runtime.sessionmaker() as session:
        workspace = session.get(Workspace, ws.id)
        assert workspace.name == "Acme Europe"
        assert workspace.default_phone_region == "DE"
        assert workspace.pii_keys == ["loyalty_card", "company_vat_id"]
    page = admin.client.get("/settings/workspace").text
    assert "PII keys saved." in page
    assert "loyalty_card\ncompany_vat_id" in page


def test_invalid_settings_are_refused_with_the_service_message(runtime, ws, admin):
    response = admin.post(
        "/settings/workspace/general", {"name": "Acme", "default_phone_region": "XX"}
    )
    assert response.status_code == 303
    page = admin.client.get("/settings/workspace").text
    assert "default_phone_region must be a two-letter region code" in page
    with runtime.sessionmaker() as session:
        assert session.get(Workspace, ws.id).default_phone_region == "US"


def test_shopify_secret_is_write_only(runtime, ws, admin):
    response = admin.post("/settings/workspace/shopify-secret", {"secret": "shpss_top_secret"})
    assert response.status_code == 303
    page = admin.client.get("/settings/workspace").text
    assert "shpss_top_secret" not in page
    assert "Shopify webhook secret saved." in page
    with runtime.sessionmaker() as session:
        workspace = session.get(Workspace, ws.id)
        assert shopify_secret(workspace, runtime.seal_keyring) == "shpss_top_secret"
    admin.post("/settings/workspace/shopify-secret", {"remove": "yes"})
    with runtime.sessionmaker() as session:
        assert session.get(Workspace, ws.id).shopify_webhook_secret_sealed is None


def test_times_show_in_the_workspace_time_zone_with_its_abbreviation(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        created = session.get(Workspace, ws.id).created_at
    page = admin.client.get("/settings/workspace").text
    assert 'id="ws-timezone"' in page and '<option value="UTC" selected>' in page
    utc = re.search(r"<time datetime=\"[^\"]+\">([^<]+)</time>", page).group(1)
    assert utc.endswith(" UTC")

    saved = admin.post(
        "/settings/workspace/general",
        {"name": "Acme Store", "default_phone_region": "US", "timezone": "America/New_York"},
    )
    assert saved.status_code == 303
    page = admin.client.get("/settings/workspace").text
    assert '<option value="America/New_York" selected>' in page
    local = re.search(r"<time datetime=\"[^\"]+\">([^<]+)</time>", page).group(1)
    assert local.endswith((" EST", " EDT")), local
    assert local != utc and created is not None


def test_an_unknown_time_zone_is_refused_with_the_services_message(admin):
    response = admin.post(
        "/settings/workspace/general",
        {"name": "Acme Store", "default_phone_region": "US", "timezone": "Mars/Olympus"},
    )
    assert response.status_code == 303
    page = admin.client.get(response.headers["location"]).text
    assert "IANA time zone" in page
