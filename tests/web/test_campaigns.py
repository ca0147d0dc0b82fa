"""Campaigns list and one campaign's recipient activity."""

from __future__ import annotations

import re

from tests.fixtures.factories import make_campaign, make_event, make_profile, make_recipient
from veil.models.profile import DELETED


def _seed(runtime, workspace_id):
    with runtime.sessionmaker.begin() as session:
        ada = make_profile(session, workspace_id=workspace_id, email="ada@example.com")
        grace = make_profile(
            session, workspace_id=workspace_id, email="grace@example.com", first_name="Grace"
        )
        campaign = make_campaign(session, workspace_id=workspace_id, name="Autumn launch")
        make_campaign(session, workspace_id=workspace_id, name="Welcome series", kind="flow")
        r1 = make_recipient(session, campaign=campaign, profile=ada)
        make_recipient(session, campaign=campaign, profile=grace)
        make_event(
            session, profile=ada, type="Opened Email", campaign_id=campaign.id, recipient_id=r1.id
        )
        make_event(
            session, profile=ada, type="Opened Email", campaign_id=campaign.id, recipient_id=r1.id
        )
        make_event(
            session, profile=ada, type="Clicked Email", campaign_id=campaign.id, recipient_id=r1.id
        )
        return campaign.id, ada.id, r1.id


def test_campaigns_list_shows_engagement(runtime, ws, member):
    _seed(runtime, ws.id)
    page = member.client.get("/campaigns").text
    assert "Autumn launch" in page and "Welcome series" in page
    assert "Flow" in page and "Campaign" in page
    row = page[page.index("Autumn launch") :]
    numbers = re.findall(r'<td class="num"[^>]*>([^<]+)', row)
    assert numbers[:3] == ["2", "1 ", "1 "]  # recipients; opened 1 (50%); clicked 1 (50%)
    assert "50%" in row


def test_campaign_page_lists_recipient_activity(runtime, ws, member):
    campaign_id, ada_id, _ = _seed(runtime, ws.id)
    page = member.client.get(f"/campaigns/{campaign_id}").text
    assert "Recipient activity" in page
    assert f'href="/profiles/{ada_id}">ada@example.com' in page
    ada_row = next(row for row in page.split("<tr") if "ada@example.com" in row)
    assert re.findall(r'<td class="num"[^>]*>(\d+)</td>', ada_row) == ["2", "1"]


def test_activity_after_an_erasure_shows_the_new_profile(runtime, ws, member):
    campaign_id, ada_id, recipient_id = _seed(runtime, ws.id)
    with runtime.sessionmaker.begin() as session:
        from veil.models import Profile, Recipient

        ada = session.get(Profile, ada_id)
        ada.status = DELETED
        ada.email = None
        recipient = session.get(Recipient, recipient_id)
        recipient.email = "redacted8f2k1@redacted.invalid"
        newcomer = make_profile(
            session, workspace_id=ws.id, email=None, first_name=None, last_name=None
        )
        newcomer.anonymous_id = "click-visitor"
        make_event(
            session,
            profile=newcomer,
            type="Clicked Email",
            campaign_id=campaign_id,
            recipient_id=recipient_id,
        )
        newcomer_id = newcomer.id
    page = member.client.get(f"/campaigns/{campaign_id}").text
    assert "redacted8f2k1@redacted.invalid" in page
    assert "Deleted profile" in page
    assert f'href="/profiles/{ada_id}"' not in page
    assert f'href="/profiles/{newcomer_id}"' in page


def test_another_workspaces_campaign_is_not_found(runtime, other_ws, member):
    with runtime.sessionmaker.begin() as session:
        campaign_id = make_campaign(session, workspace_id=other_ws.id).id
    assert member.client.get(f"/campaigns/{campaign_id}").status_code == 404


def test_no_campaigns_empty_state(member):
    assert "No campaigns yet" in member.client.get("/campaigns").text
