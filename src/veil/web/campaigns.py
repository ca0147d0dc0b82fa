"""Campaigns and flows: the list with engagement, and one campaign's recipient activity."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from veil.auth.deps import SessionDep
from veil.campaigns import service as campaign_service
from veil.web import queries
from veil.web.deps import CurrentUser, runtime_of
from veil.web.routing import WebRoute
from veil.web.templating import render

router = APIRouter(route_class=WebRoute)

CAMPAIGNS_PER_PAGE = 25
RECIPIENTS_PER_PAGE = 50


@router.get("/campaigns", name="campaigns")
def list_campaigns(
    request: Request,
    session: SessionDep,
    me: CurrentUser,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    rows, next_cursor = queries.campaigns_page(
        session, workspace_id=me.workspace_id, limit=CAMPAIGNS_PER_PAGE, cursor=cursor
    )
    return render(
        request,
        "campaigns/list.html",
        {
            "nav": "campaigns",
            "campaigns": rows,
            "next_cursor": next_cursor,
            "is_first_page": cursor is None,
        },
    )


@router.get("/campaigns/{campaign_id}", name="campaign")
def show_campaign(
    request: Request,
    session: SessionDep,
    me: CurrentUser,
    campaign_id: str,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    runtime = runtime_of(request)
    campaign = campaign_service.get_campaign(
        session, workspace_id=me.workspace_id, campaign_id=campaign_id
    )
    views, next_cursor = campaign_service.list_recipients(
        session,
        workspace_id=me.workspace_id,
        campaign_id=campaign.id,
        base_url=runtime.settings.base_url,
        keyring=runtime.link_keyring,
        limit=RECIPIENTS_PER_PAGE,
        cursor=cursor,
    )
    active = queries.active_profile_ids(
        session, workspace_id=me.workspace_id, ids={v.recipient.profile_id for v in views}
    )
    rows = [
        queries.RecipientRow(
            recipient=v.recipient,
            profile_active=v.recipient.profile_id in active,
            activity=v.summary,
        )
        for v in views
    ]
    return render(
        request,
        "campaigns/show.html",
        {
            "nav": "campaigns",
            "totals": queries.campaign_totals(session, campaign=campaign),
            "campaign": campaign,
            "recipients": rows,
            "next_cursor": next_cursor,
            "is_first_page": cursor is None,
        },
    )
