"""Export and Delete from the profile page, and Settings → Compliance, through the UI."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from tests.conftest import run_jobs
from tests.fixtures.factories import make_event, make_profile, shopify_order
from veil.errors import AlreadyRequested
from veil.models import DeletionRequest, ExportRequest, Profile
from veil.models.profile import DELETED

DOWNLOADED = "/settings/compliance/downloaded"
DELETED_TAB = "/settings/compliance/deleted"


def _contact(runtime, workspace_id, **fields):
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


def _download_form(page: str) -> str:
    match = re.search(r'action="(/settings/compliance/exports/[^"]+/download)"', page)
    assert match, "no Download button"
    return match.group(1)


def test_export_toast_pending_row_then_download_button_then_json(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    response = admin.post(f"/profiles/{profile_id}/export")
    assert response.status_code == 303
    assert response.headers["location"] == f"/profiles/{profile_id}"
    page = admin.client.get(response.headers["location"]).text
    assert "Export requested." in page
    assert "Settings → Compliance → Downloaded" in page

    table = admin.client.get(DOWNLOADED).text
    assert "Ada Lovelace" in table and "ada@example.com" in table and "+14155550123" in table
    assert "Pending" in table and "data-pending" in table
    assert "by owner@acme.test" in table  # requested_by is the signed-in user's email
    assert "Download</button>" not in table

    run_jobs(runtime)
    table = admin.client.get(DOWNLOADED).text
    assert "data-pending" not in table
    download = admin.post(_download_form(table))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        f'attachment; filename="profile-{profile_id}-export.json"'
    )
    document = json.loads(download.content)
    assert document["format"] == "veil.profile-export"
    assert document["profile"]["id"] == profile_id
    assert document["profile"]["email"] == "ada@example.com"
    assert document["events"][0]["properties"]["total_price"] == "129.90"
    with runtime.sessionmaker() as session:
        export = session.scalar(select(ExportRequest))
        assert export.status == "downloaded"
        assert export.requested_by == "owner@acme.test"
        assert export.source == "ui"
    assert "Downloaded" in admin.client.get(DOWNLOADED).text


def test_second_export_shows_the_already_requested_error_toast(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/export")
    again = admin.post(f"/profiles/{profile_id}/export")
    assert again.status_code == 303
    page = admin.client.get(again.headers["location"]).text
    assert AlreadyRequested.message in page
    assert 'class="toast toast-error" role="alert"' in page
    with runtime.sessionmaker() as session:
        assert len(session.scalars(select(ExportRequest)).all()) == 1


def test_exporting_a_non_contact_shows_the_service_message(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session,
            workspace_id=ws.id,
            email=None,
            first_name=None,
            last_name=None,
            external_id="anon-1",
        )
        profile_id = profile.id
    response = admin.post(f"/profiles/{profile_id}/export")
    page = admin.client.get(response.headers["location"]).text
    assert "Only contacts (profiles with an email or a phone number) can be exported." in page


def test_members_get_neither_export_nor_delete(runtime, ws, member):
    profile_id = _contact(runtime, ws.id)
    assert member.post(f"/profiles/{profile_id}/export").status_code == 403
    assert member.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"}).status_code == 403
    assert member.client.get(f"/profiles/{profile_id}/delete").status_code == 403
    assert member.client.get(DOWNLOADED).status_code == 403
    assert member.client.get(DELETED_TAB).status_code == 403
    with runtime.sessionmaker() as session:
        assert session.scalar(select(ExportRequest)) is None
        assert session.get(Profile, profile_id).status == "active"


def test_forged_posts_without_csrf_are_refused(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    export = admin.post(f"/profiles/{profile_id}/export", csrf=False)
    delete = admin.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"}, csrf=False)
    wrong = admin.client.post(
        f"/profiles/{profile_id}/export", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert (export.status_code, delete.status_code, wrong.status_code) == (403, 403, 403)
    with runtime.sessionmaker() as session:
        assert session.scalar(select(ExportRequest)) is None
        assert session.get(Profile, profile_id).status == "active"


def test_export_of_another_workspaces_profile_is_not_found(runtime, other_ws, admin):
    profile_id = _contact(runtime, other_ws.id)
    assert admin.post(f"/profiles/{profile_id}/export").status_code == 404


def test_delete_needs_confirmation(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    response = admin.post(f"/profiles/{profile_id}/delete")
    assert response.status_code == 303
    assert "Confirm the deletion" in admin.client.get(response.headers["location"]).text
    with runtime.sessionmaker() as session:
        assert session.get(Profile, profile_id).status == "active"


def test_delete_then_the_deleted_tab_keeps_the_record(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    confirm_page = admin.client.get(f"/profiles/{profile_id}/delete").text
    assert "Erased" in confirm_page and "Kept" in confirm_page
    response = admin.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"})
    assert response.status_code == 303
    assert response.headers["location"] == "/profiles"
    listing = admin.client.get("/profiles").text
    assert "Deletion requested." in listing
    assert "Settings → Compliance → Deleted" in listing
    assert "Ada Lovelace" not in listing.split('class="toasts"')[0]

    table = admin.client.get(DELETED_TAB).text
    assert "Ada Lovelace" in table and "ada@example.com" in table and "+14155550123" in table
    assert "owner@acme.test" in table
    assert "data-pending" in table
    run_jobs(runtime)
    table = admin.client.get(DELETED_TAB).text
    assert "Completed" in table and "data-pending" not in table
    with runtime.sessionmaker() as session:
        profile = session.get(Profile, profile_id)
        assert profile.status == DELETED and profile.email is None
        request = session.scalar(select(DeletionRequest))
        assert request.requested_by == "owner@acme.test" and request.source == "ui"

    again = admin.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"})
    assert "This profile has been deleted." in admin.client.get(again.headers["location"]).text


def test_polling_fragment_returns_the_table_only_and_keeps_toasts(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/export")
    fragment = admin.client.get(DOWNLOADED, headers={"X-Veil-Fragment": "1"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="compliance-table">')
    assert "<html" not in fragment.text
    # The toast from the export is still there for the next full page.
    assert "Export requested." in admin.client.get(f"/profiles/{profile_id}").text


def test_downloaded_page_refreshes_without_javascript_while_pending(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    assert "http-equiv" not in admin.client.get(DOWNLOADED).text
    admin.post(f"/profiles/{profile_id}/export")
    assert '<meta http-equiv="refresh"' in admin.client.get(DOWNLOADED).text


def test_empty_compliance_tabs(admin):
    assert "No exports yet" in admin.client.get(DOWNLOADED).text
    assert "No deletions yet" in admin.client.get(DELETED_TAB).text
    # SPEC §8.8: Compliance opens on the Requests tab.
    assert (
        admin.client.get("/settings/compliance", follow_redirects=False).headers["location"]
        == "/settings/compliance/requests"
    )


def test_failed_export_can_be_retried_from_the_table(runtime, ws, admin):
    profile_id = _contact(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/export")
    with runtime.sessionmaker.begin() as session:
        export = session.scalar(select(ExportRequest))
        export.status = "failed"
        export.last_error = "boom"
    table = admin.client.get(DOWNLOADED).text
    assert "Failed" in table
    retry = re.search(r'action="(/settings/compliance/exports/[^"]+/retry)"', table)
    assert retry
    response = admin.post(retry.group(1))
    assert response.status_code == 303
    assert "Export queued again." in admin.client.get(DOWNLOADED).text
    run_jobs(runtime)
    assert "Download</button>" in admin.client.get(DOWNLOADED).text


def test_downloading_an_expired_file_says_so(runtime, ws, admin):
    from datetime import timedelta

    from veil.errors import ExportExpired
    from veil.kit.time import utcnow

    profile_id = _contact(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/export")
    run_jobs(runtime)
    form = _download_form(admin.client.get(DOWNLOADED).text)
    with runtime.sessionmaker.begin() as session:
        session.scalar(select(ExportRequest)).expires_at = utcnow() - timedelta(seconds=1)
    response = admin.post(form)
    assert response.status_code == 303
    page = admin.client.get(DOWNLOADED).text
    assert ExportExpired.message in page
    assert "Expired" in page
    with runtime.sessionmaker() as session:
        export = session.scalar(select(ExportRequest))
        assert export.status == "expired" and export.file_key is None
