"""UI for SPEC §9: the delete warning's suppress checkbox, Settings → Compliance → Suppressions
with Lift, ⋯ → Restrict / Lift restriction with the badge, and retention in Settings →
Workspace with the preview counts."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from tests.fixtures.factories import make_event, make_profile
from veil.kit.time import utcnow

CHECKBOX = 'name="suppress" value="yes"'


def _person(runtime, workspace_id, email="gone@example.com"):
    with runtime.sessionmaker.begin() as session:
        return make_profile(session, workspace_id=workspace_id, email=email).id


def test_the_delete_warning_offers_suppression_ticked_by_the_setting(runtime, ws, admin):
    profile_id = _person(runtime, ws.id)
    page = admin.client.get(f"/profiles/{profile_id}").text
    assert "Also suppress: keep this person out" in page
    assert CHECKBOX + " >" in page or CHECKBOX + ">" in page  # not ticked by default
    confirm = admin.client.get(f"/profiles/{profile_id}/delete").text
    assert "Also suppress: keep this person out" in confirm

    saved = admin.post("/settings/workspace/retention", {"suppress_on_delete": "yes"})
    assert saved.status_code == 303
    assert f"{CHECKBOX} checked" in admin.client.get(f"/profiles/{profile_id}").text


def test_deleting_with_the_box_ticked_suppresses_and_the_list_can_lift_it(
    runtime, ws, admin, client: TestClient
):
    kept = _person(runtime, ws.id)
    other = _person(runtime, ws.id, email="other@example.com")
    done = admin.post(f"/profiles/{kept}/delete", {"confirm": "yes", "suppress": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/profiles"
    admin.post(f"/profiles/{other}/delete", {"confirm": "yes"})  # box left unticked

    page = admin.client.get("/settings/compliance/suppressions").text
    assert page.count("data-suppression=") == 1 and "email" in page
    assert "gone@example.com" not in page
    refused = client.post("/api/v1/profiles", json={"email": "gone@example.com"}, headers=ws.admin)
    assert refused.status_code == 409
    welcome = client.post("/api/v1/profiles", json={"email": "other@example.com"}, headers=ws.admin)
    assert welcome.status_code == 201

    (entry,) = client.get("/api/v1/compliance/suppressions", headers=ws.admin).json()["data"]
    assert entry["dropped"] == 1
    lifted = admin.post(f"/settings/compliance/suppressions/{entry['id']}/lift")
    assert lifted.status_code == 303
    assert "Nobody is suppressed" in admin.client.get("/settings/compliance/suppressions").text
    again = admin.post(f"/settings/compliance/suppressions/{entry['id']}/lift")
    assert again.status_code == 404


def test_restrict_from_the_menu_shows_the_badge_and_lifts(runtime, ws, admin, member):
    profile_id = _person(runtime, ws.id)
    page = admin.client.get(f"/profiles/{profile_id}").text
    assert f'href="/profiles/{profile_id}/restrict"' in page and ">Restricted<" not in page
    form = admin.client.get(f"/profiles/{profile_id}/restrict")
    assert form.status_code == 200 and 'name="reason"' in form.text

    empty = admin.post(f"/profiles/{profile_id}/restrict", {"reason": "  "})
    assert empty.status_code == 303 and empty.headers["location"].endswith("/restrict")
    assert ">Restricted<" not in admin.client.get(f"/profiles/{profile_id}").text

    done = admin.post(f"/profiles/{profile_id}/restrict", {"reason": "legal claim pending"})
    assert done.status_code == 303 and done.headers["location"] == f"/profiles/{profile_id}"
    page = admin.client.get(f"/profiles/{profile_id}").text
    assert ">Restricted<" in page and "Lift restriction" in page
    seen_by_member = member.client.get(f"/profiles/{profile_id}").text
    assert ">Restricted<" in seen_by_member and "Lift restriction" not in seen_by_member
    assert "legal claim pending" not in seen_by_member

    assert admin.post(f"/profiles/{profile_id}/unrestrict").status_code == 303
    assert ">Restricted<" not in admin.client.get(f"/profiles/{profile_id}").text


def test_retention_is_shown_and_edited_in_workspace_settings_with_the_preview(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        shopper = make_profile(session, workspace_id=ws.id, email="shopper@example.com")
        for days in (40, 50):
            make_event(session, profile=shopper, timestamp=utcnow() - timedelta(days=days))
    saved = admin.post(
        "/settings/workspace/retention",
        {"retention_events": "30d", "retention_inactive_profiles": ""},
    )
    assert saved.status_code == 303
    page = admin.client.get("/settings/workspace").text
    assert 'value="30d"' in page
    assert "would delete <strong>2</strong> events and erase <strong>0</strong>" in page

    bad = admin.post("/settings/workspace/retention", {"retention_events": "1y2"})
    assert bad.status_code == 303
    follow = admin.client.get(bad.headers["location"]).text
    assert "positive duration" in follow and 'value="30d"' in follow
