"""HTTP: /api/v1/campaigns — create and send (admins), read campaigns and recipients (members)."""

from __future__ import annotations

from fastapi import APIRouter

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, CurrentPrincipal, RuntimeDep, SessionDep
from veil.campaigns import service
from veil.campaigns.schemas import (
    CampaignCreate,
    CampaignPage,
    CampaignRead,
    CampaignSend,
    RecipientPage,
    RecipientRead,
    SendResult,
)
from veil.listing import PageQuery

router = APIRouter(prefix="/api/v1/campaigns", tags=["campaigns"])


@router.post("", status_code=201, responses=ADMIN_RESPONSES)
def create_campaign(
    body: CampaignCreate, session: SessionDep, principal: AdminOnly
) -> CampaignRead:
    campaign = service.create_campaign(
        session,
        workspace_id=principal.workspace_id,
        actor=principal.actor,
        name=body.name,
        kind=body.kind,
        channel=body.channel,
        links=body.links,
    )
    return CampaignRead.build(campaign, recipient_count=0)


@router.get("")
def list_campaigns(
    session: SessionDep, principal: CurrentPrincipal, page: PageQuery
) -> CampaignPage:
    rows, next_cursor = service.list_campaigns(
        session, workspace_id=principal.workspace_id, page=page
    )
    counts = service.recipient_counts(
        session, workspace_id=principal.workspace_id, campaign_ids=[c.id for c in rows]
    )
    return CampaignPage(
        data=[CampaignRead.build(c, counts.get(c.id, 0)) for c in rows], next_cursor=next_cursor
    )


@router.get("/{campaign_id}")
def get_campaign(
    campaign_id: str, session: SessionDep, principal: CurrentPrincipal
) -> CampaignRead:
    campaign = service.get_campaign(
        session, workspace_id=principal.workspace_id, campaign_id=campaign_id
    )
    counts = service.recipient_counts(
        session, workspace_id=principal.workspace_id, campaign_ids=[campaign.id]
    )
    return CampaignRead.build(campaign, counts.get(campaign.id, 0))


@router.post("/{campaign_id}/send", responses=ADMIN_RESPONSES)
def send_campaign(
    campaign_id: str,
    session: SessionDep,
    principal: AdminOnly,
    body: CampaignSend | None = None,
) -> SendResult:
    outcome = service.send_campaign(
        session,
        workspace_id=principal.workspace_id,
        actor=principal.actor,
        campaign_id=campaign_id,
        profile_ids=body.profile_ids if body else None,
    )
    return SendResult(recipients=outcome.recipients, skipped=outcome.skipped)


@router.get("/{campaign_id}/recipients")
def list_recipients(
    campaign_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    page: PageQuery,
) -> RecipientPage:
    views, next_cursor = service.list_recipients(
        session,
        workspace_id=principal.workspace_id,
        campaign_id=campaign_id,
        base_url=runtime.settings.base_url,
        keyring=runtime.link_keyring,
        page=page,
    )
    return RecipientPage(
        data=[
            RecipientRead.build(
                v.recipient,
                open_url=v.open_url,
                click_urls=v.click_urls,
                activity=v.activity,
                summary=v.summary,
            )
            for v in views
        ],
        next_cursor=next_cursor,
    )
