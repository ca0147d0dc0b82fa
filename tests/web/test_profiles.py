"""Profiles list, search, pagination, and the profile insights page."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.fixtures.factories import (
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
    shopify_order,
)
from veil.kit.time import utcnow
from veil.models.profile import DELETED


def _search(browser, query: str):
    response = browser.post("/profiles/search", {"q": query})
    assert response.status_code == 303
    return response, browser.client.get(response.headers["location"])


def test_list_shows_active_profiles_of_this_workspace_only(runtime, ws, other_ws, member):
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
        gone = make_profile(
            session,
            workspace_id=ws.id,
            email="gone@example.com",
            first_name="Gone",
            last_name="Person",
        )
        gone.status = DELETED
        make_profile(
            session,
            workspace_id=other_ws.id,
            email="stranger@example.com",
            first_name="Stranger",
            last_name="Danger",
        )
    page = member.client.get("/profiles")
    assert page.status_code == 200
    assert "Ada Lovelace" in page.text and "ada@example.com" in page.text
    assert "gone@example.com" not in page.text and "Gone Person" not in page.text
    assert "Stranger" not in page.text


def test_empty_workspace_has_an_empty_state(member):
    page = member.client.get("/profiles")
    assert "No profiles yet" in page.text


def test_search_by_email_phone_or_name_without_the_term_in_the_url(runtime, ws, member):
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com", phone="+14155550123")
        make_profile(
            session,
            workspace_id=ws.id,
            email="grace@example.com",
            first_name="Grace",
            last_name="Hopper",
            phone="+14155559876",
        )
    for query, found, not_found in (
        ("ada@example.com", "Ada Lovelace", "Grace Hopper"),
        ("555-0123", "Ada Lovelace", "Grace Hopper"),
        ("hopper", "Grace Hopper", "Ada Lovelace"),
        ("Grace Hopper", "Grace Hopper", "Ada Lovelace"),
    ):
        redirect, page = _search(member, query)
        location = redirect.headers["location"]
        assert query.lower() not in location.lower() and "ada" not in location
        assert found in page.text, query
        assert not_found not in page.text, query
        assert f'value="{query}"' in page.text  # the box keeps the term
    _, nothing = _search(member, "nobody-here")
    assert "No profiles match your search" in nothing.text


def test_a_search_token_is_bound_to_its_workspace_and_cannot_be_forged(
    runtime, ws, other_ws, member, browser_for
):
    from tests.web.conftest import add_user

    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
        make_profile(session, workspace_id=ws.id, email="grace@example.com", first_name="Grace")
    redirect, _ = _search(member, "grace")
    add_user(runtime, workspace_id=other_ws.id, email="x@other.test", role="admin")
    other = browser_for("x@other.test")
    page = other.client.get(redirect.headers["location"])
    assert page.status_code == 200 and 'value="grace"' not in page.text
    forged = member.client.get("/profiles?s=v1.AAAA" + "B" * 40)
    assert forged.status_code == 200
    assert "Ada Lovelace" in forged.text and "Grace" in forged.text  # treated as no search


def test_list_paginates(runtime, ws, member):
    with runtime.sessionmaker.begin() as session:
        for i in range(30):
            make_profile(
                session,
                workspace_id=ws.id,
                email=f"p{i:02d}@example.com",
                first_name=f"Person{i:02d}",
                last_name="Test",
            )
    first = member.client.get("/profiles")
    assert first.text.count('class="person"') == 25
    next_link = re.search(r'href="(/profiles\?cursor=[^"]+)" rel="next"', first.text)
    assert next_link
    second = member.client.get(next_link.group(1).replace("&amp;", "&"))
    assert second.text.count('class="person"') == 5
    assert 'rel="next"' not in second.text
    assert "First page" in second.text
    seen = set(re.findall(r"Person\d\d", first.text)) | set(re.findall(r"Person\d\d", second.text))
    assert len(seen) == 30


def test_profile_page_shows_details_consent_attributes_orders_and_messages(runtime, ws, member):
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session,
            workspace_id=ws.id,
            email="ada@example.com",
            phone="+14155550123",
            external_id="shopify:42",
            properties={"tier": "gold", "vip": True},
            consent={"email": "subscribed", "sms": "unsubscribed"},
        )
        make_event(
            session,
            profile=profile,
            timestamp=now - timedelta(days=2),
            properties=shopify_order(
                email="ada@example.com",
                phone="+14155550123",
                first="Ada",
                last="Lovelace",
                order_id=1001,
            ),
        )
        make_event(
            session,
            profile=profile,
            type="Viewed Product",
            timestamp=now,
            properties={"name": "Copper kettle", "price": "39.5", "currency": "USD"},
        )
        campaign = make_campaign(session, workspace_id=ws.id, name="Autumn launch")
        recipient = make_recipient(session, campaign=campaign, profile=profile)
        for _ in range(2):
            make_event(
                session,
                profile=profile,
                type="Opened Email",
                campaign_id=campaign.id,
                recipient_id=recipient.id,
                timestamp=now - timedelta(hours=3),
            )
        make_event(
            session,
            profile=profile,
            type="Clicked Email",
            campaign_id=campaign.id,
            recipient_id=recipient.id,
            timestamp=now - timedelta(hours=2),
            properties={"url": "https://shop.example.com/sale"},
        )
        profile_id = profile.id
    page = member.client.get(f"/profiles/{profile_id}").text
    for text in (
        "Ada Lovelace",
        "ada@example.com",
        "+14155550123",
        "shopify:42",
        "tier",
        "gold",
        "Subscribed",
        "Unsubscribed",
        "#1001",
        "€129.90",
        "Brass gear",
        "Punch cards",
        "€59.95",
        "Ships to London, United Kingdom",
        "Copper kettle · $39.50",
        "Autumn launch",
        "5 events",
    ):
        assert text in page, text
    # Newest first: the product view (now) before the order (two days ago).
    assert page.index("Copper kettle") < page.index("#1001")
    row = page[page.index("Autumn launch") :]
    cells = re.findall(r'<td class="num">(\d+)</td>', row)
    assert cells[:2] == ["2", "1"]  # opens, clicks


def test_timeline_paginates_newest_first(runtime, ws, member):
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        for i in range(25):
            make_event(
                session, profile=profile, type=f"Step {i:02d}", timestamp=now - timedelta(minutes=i)
            )
        profile_id = profile.id
    first = member.client.get(f"/profiles/{profile_id}").text
    steps = re.findall(r"Step (\d\d)", first)
    assert steps == [f"{i:02d}" for i in range(20)]
    link = re.search(r'href="(/profiles/[^"]+\?events=[^"#]+)#timeline" rel="next"', first)
    assert link
    second = member.client.get(link.group(1)).text
    assert re.findall(r"Step (\d\d)", second) == [f"{i:02d}" for i in range(20, 25)]


def test_actions_menu_is_for_admins_only(runtime, ws, admin, member):
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id).id
    admin_page = admin.client.get(f"/profiles/{profile_id}").text
    member_page = member.client.get(f"/profiles/{profile_id}").text
    assert 'aria-haspopup="menu"' in admin_page
    assert f'action="/profiles/{profile_id}/export"' in admin_page
    assert 'id="delete-dialog"' in admin_page
    for marker in ('aria-haspopup="menu"', "/export", "/delete", "delete-dialog"):
        assert marker not in member_page


def test_another_workspaces_profile_is_not_found(runtime, other_ws, member):
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=other_ws.id).id
    response = member.client.get(f"/profiles/{profile_id}")
    assert response.status_code == 404
    assert "Profile not found." in response.text
    assert "Ada" not in response.text


def test_deleted_profile_page_shows_no_personal_data(runtime, ws, admin):
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session, workspace_id=ws.id, email="ada@example.com", phone="+14155550123"
        )
        make_event(session, profile=profile, properties={"email": "ada@example.com"})
        profile.status = DELETED
        profile.deleted_at = utcnow()
        profile_id = profile.id
    page = admin.client.get(f"/profiles/{profile_id}").text
    assert "Deleted profile" in page
    for personal in ("ada@example.com", "Ada", "Lovelace", "+14155550123"):
        assert personal not in page
    assert "profile-actions" not in page


def test_profile_content_is_escaped(runtime, ws, member):
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session,
            workspace_id=ws.id,
            first_name="<script>alert(1)</script>",
            properties={"note": "<img src=x onerror=alert(1)>"},
        )
        make_event(
            session,
            profile=profile,
            type="<b>Evil</b>",
            properties={"title": "<svg onload=alert(1)>"},
        )
        profile_id = profile.id
    page = member.client.get(f"/profiles/{profile_id}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "<svg onload" not in page and "<b>Evil</b>" not in page


def test_search_needs_csrf(member):
    response = member.post("/profiles/search", {"q": "ada"}, csrf=False)
    assert response.status_code == 403
