"""The walkthrough's findings, server side: what each page now says (browser checks of layout
and keyboard are in test_browser_round_two.py)."""

from __future__ import annotations

import re

from sqlalchemy import select, update

from tests.conftest import run_jobs
from tests.fixtures.factories import make_event, make_profile
from tests.web.conftest import PASSWORD, contact_with_order
from veil.kit.time import utcnow
from veil.models import DeletionRequest, ExportRequest, WebSession

DOWNLOADED = "/settings/compliance/downloaded"
DELETED_TAB = "/settings/compliance/deleted"


def test_export_is_disabled_with_its_reason_on_a_noncontact_with_order(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        anonymous = make_profile(
            session, workspace_id=ws.id, email=None, first_name=None, last_name=None
        ).id
    contact = contact_with_order(runtime, ws.id)
    page = admin.client.get(f"/profiles/{anonymous}").text
    assert f'action="/profiles/{anonymous}/export"' not in page
    disabled = re.search(r'<div class="menu-item"[^>]*aria-disabled="true"[^>]*>.*?</div>', page)
    assert disabled and "Only contacts" in disabled.group(0)
    assert f'action="/profiles/{contact}/export"' in admin.client.get(f"/profiles/{contact}").text


def test_a_form_posted_after_the_session_ended_goes_to_sign_in_and_back(runtime, ws, admin, client):
    profile_id = contact_with_order(runtime, ws.id)
    token = admin.csrf(f"/profiles/{profile_id}")
    with runtime.sessionmaker.begin() as session:
        session.execute(update(WebSession).values(expires_at=utcnow()))
    response = admin.client.post(
        f"/profiles/{profile_id}/export",
        data={"csrf_token": token},
        headers={"Referer": f"http://testserver/profiles/{profile_id}"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/profiles/{profile_id}"
    login = admin.client.get(response.headers["location"]).text
    assert "Your session ended, so that was not done." in login
    assert "This form has expired" not in login
    with runtime.sessionmaker() as session:
        assert session.scalar(select(ExportRequest)) is None

    login_token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    signed_in = admin.client.post(
        "/login",
        data={
            "email": admin.email,
            "password": PASSWORD,
            "csrf_token": login_token,
            "next": f"/profiles/{profile_id}",
        },
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == f"/profiles/{profile_id}"


def test_a_forged_token_on_a_live_session_is_still_refused(runtime, ws, admin):
    profile_id = contact_with_order(runtime, ws.id)
    response = admin.client.post(
        f"/profiles/{profile_id}/export", data={"csrf_token": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403


def test_a_foreign_referer_is_not_followed_after_sign_in(runtime, ws, admin):
    admin.csrf()
    with runtime.sessionmaker.begin() as session:
        session.execute(update(WebSession).values(expires_at=utcnow()))
    response = admin.client.post(
        "/logout",
        data={"csrf_token": "x"},
        headers={"Referer": "https://evil.example/x"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/profiles"


def test_signing_out_says_so_on_the_login_card(admin):
    response = admin.post("/logout")
    page = admin.client.get(response.headers["location"]).text
    card = page.split('class="login-card"')[1]
    assert "You are signed out." in card


def test_export_rows_of_an_erased_person_say_the_erasure_destroyed_the_file(runtime, ws, admin):
    profile_id = contact_with_order(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/export")
    run_jobs(runtime)
    assert "Download" in admin.client.get(DOWNLOADED).text
    admin.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"})
    run_jobs(runtime)
    table = admin.client.get(DOWNLOADED).text
    assert "Destroyed by erasure" in table
    assert "The file was destroyed when this person was deleted." in table
    assert ">Expired<" not in table


def test_the_deleted_table_says_verified_or_what_was_found(runtime, ws, admin):
    profile_id = contact_with_order(runtime, ws.id)
    admin.post(f"/profiles/{profile_id}/delete", {"confirm": "yes"})
    run_jobs(runtime)
    table = admin.client.get(DELETED_TAB).text
    assert "Verified: nothing of this person was found afterwards" in table
    with runtime.sessionmaker.begin() as session:
        request = session.scalar(select(DeletionRequest))
        request.summary = {**request.summary, "verified": False, "residue": ["events"]}
    table = admin.client.get(DELETED_TAB).text
    assert "Not verified: the final search still found personal data in events" in table
    assert "Verified: nothing" not in table


def test_a_checkout_shows_its_discount_under_the_line_items(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        make_event(
            session,
            profile=profile,
            type="Started Checkout",
            properties={
                "currency": "USD",
                "line_items": [{"title": "Tent", "price": "200.00", "quantity": 1}],
                "subtotal_price": "200.00",
                "total_discounts": "20.00",
                "total_shipping": "0.00",
                "total_price": "180.00",
            },
        )
        profile_id = profile.id
    page = admin.client.get(f"/profiles/{profile_id}").text
    footer = page.split("<tfoot>")[1].split("</tfoot>")[0]
    assert re.search(r"Discount</th><td class=\"num\">-\$20\.00", footer)
    assert "Subtotal" in footer and "$180.00" in footer and "Shipping" not in footer
