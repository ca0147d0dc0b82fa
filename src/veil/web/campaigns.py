"""Campaigns and flows: the list with engagement, and one campaign's recipient activity."""

from __future__ import annotations

from typing import ClassVar

from fastapi import APIRouter, Response

from veil.campaigns import service as campaign_service
from veil.kit.pagination import PageParams
from veil.models import Campaign
from veil.web import queries
from veil.web.deps import CursorQuery, UserPageContext, runtime_of
from veil.web.routing import WebRoute
from veil.web.templating import ListPage, render

router = APIRouter(route_class=WebRoute)

CAMPAIGNS_PER_PAGE = 25
RECIPIENTS_PER_PAGE = 50


class CampaignListPage(ListPage):
    template: ClassVar[str] = "campaigns/list.html"
    nav: ClassVar[str] = "campaigns"
    campaigns: list[queries.CampaignRow]


class CampaignPage(ListPage):
    template: ClassVar[str] = "campaigns/show.html"
    nav: ClassVar[str] = "campaigns"
    campaign: Campaign
    totals: queries.CampaignRow
    recipients: list[queries.RecipientRow]


@router.get("/campaigns", name="campaigns")
def list_campaigns(web: UserPageContext, cursor: CursorQuery = None) -> Response:
    rows, next_cursor = queries.campaigns_page(
        web.session,
        workspace_id=web.me.workspace_id,
        page=PageParams(limit=CAMPAIGNS_PER_PAGE, cursor=cursor),
    )
    page = CampaignListPage(campaigns=rows, next_cursor=next_cursor, is_first_page=cursor is None)
    return render(web.request, page)


@router.get("/campaigns/{campaign_id}", name="campaign")
def show_campaign(web: UserPageContext, campaign_id: str, cursor: CursorQuery = None) -> Response:
    session, workspace_id = web.session, web.me.workspace_id
    runtime = runtime_of(web.request)
    campaign = campaign_service.get_campaign(
        session, workspace_id=workspace_id, campaign_id=campaign_id
    )
    views, next_cursor = campaign_service.list_recipients(
        session,
        workspace_id=workspace_id,
        campaign_id=campaign.id,
        base_url=runtime.settings.base_url,
        keyring=runtime.link_keyring,
        page=PageParams(limit=RECIPIENTS_PER_PAGE, cursor=cursor),
    )
    active = queries.active_profile_ids(
        session, workspace_id=workspace_id, ids={v.recipient.profile_id for v in views}
    )
    rows = [
        queries.RecipientRow(
            recipient=v.recipient,
            profile_active=v.recipient.profile_id in active,
            activity=v.summary,
        )
        for v in views
    ]
    page = CampaignPage(
        totals=queries.campaign_totals(session, campaign=campaign),
        campaign=campaign,
        recipients=rows,
        next_cursor=next_cursor,
        is_first_page=cursor is None,
    )
    return render(web.request, page)
