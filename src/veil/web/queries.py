"""Read models for the pages: small queries, each scoped to the signed-in workspace.

They only read; every rule (who may export, what erasure keeps) lives in the feature services.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veil.campaigns import service as campaign_service
from veil.campaigns.repository import CampaignRepository
from veil.campaigns.service import CLICK_TYPES, OPEN_TYPES, Activity, summarize_activity
from veil.events.repository import EventRepository
from veil.kit.pagination import PageParams
from veil.models import Campaign, Event, Profile, Recipient
from veil.models.profile import ACTIVE, DELETED
from veil.profiles.repository import ProfileRepository


@dataclass
class ReceivedMessage:
    recipient: Recipient
    campaign: Campaign
    activity: Activity


@dataclass
class CampaignRow:
    campaign: Campaign
    recipients: int
    opened: int
    clicked: int


@dataclass
class RecipientRow:
    recipient: Recipient
    profile_active: bool
    activity: Activity


def event_count(session: Session, *, workspace_id: str, profile_id: str) -> int:
    stmt = EventRepository(session, workspace_id).of_profile(profile_id)
    return int(session.scalar(stmt.with_only_columns(func.count())) or 0)


def erased_profile_ids(session: Session, *, workspace_id: str, ids: set[str]) -> frozenset[str]:
    if not ids:
        return frozenset()
    stmt = (
        ProfileRepository(session, workspace_id)
        .statement()
        .where(Profile.id.in_(ids), Profile.status == DELETED)
        .with_only_columns(Profile.id)
    )
    return frozenset(session.scalars(stmt))


def campaign_names(session: Session, *, workspace_id: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    stmt = CampaignRepository(session, workspace_id).statement().where(Campaign.id.in_(ids))
    return {c.id: c.name for c in session.scalars(stmt)}


def messages_received(
    session: Session, *, workspace_id: str, profile_id: str, limit: int = 50
) -> list[ReceivedMessage]:
    """Campaigns and flows sent to a profile, newest first, with their opens and clicks."""
    rows = session.execute(
        select(Recipient, Campaign)
        .join(Campaign, Campaign.id == Recipient.campaign_id)
        .where(Recipient.workspace_id == workspace_id, Recipient.profile_id == profile_id)
        .order_by(Recipient.sent_at.desc(), Recipient.id.desc())
        .limit(limit)
    ).all()
    events: dict[str, list[Event]] = defaultdict(list)
    for event in EventRepository(session, workspace_id).of_recipients([r.id for r, _c in rows]):
        events[event.recipient_id or ""].append(event)
    return [
        ReceivedMessage(recipient=r, campaign=c, activity=summarize_activity(r, events[r.id]))
        for r, c in rows
    ]


def _engaged_recipients(
    session: Session, workspace_id: str, campaign_ids: list[str], types: tuple[str, ...]
) -> dict[str, int]:
    """Per campaign, how many of its recipients have at least one event of these types."""
    rows = session.execute(
        select(Recipient.campaign_id, func.count(func.distinct(Event.recipient_id)))
        .join(Recipient, Recipient.id == Event.recipient_id)
        .where(
            Event.workspace_id == workspace_id,
            Recipient.workspace_id == workspace_id,
            Recipient.campaign_id.in_(campaign_ids),
            Event.type.in_(types),
        )
        .group_by(Recipient.campaign_id)
    ).all()
    return {campaign_id: count for campaign_id, count in rows}


def campaigns_page(
    session: Session, *, workspace_id: str, page: PageParams
) -> tuple[list[CampaignRow], str | None]:
    """Newest first, each with its recipients and how many of them opened and clicked."""
    campaigns, next_cursor = campaign_service.list_campaigns(
        session, workspace_id=workspace_id, page=page
    )
    ids = [c.id for c in campaigns]
    sent = campaign_service.recipient_counts(session, workspace_id=workspace_id, campaign_ids=ids)
    opened = _engaged_recipients(session, workspace_id, ids, OPEN_TYPES) if ids else {}
    clicked = _engaged_recipients(session, workspace_id, ids, CLICK_TYPES) if ids else {}
    rows = [
        CampaignRow(
            campaign=c,
            recipients=sent.get(c.id, 0),
            opened=opened.get(c.id, 0),
            clicked=clicked.get(c.id, 0),
        )
        for c in campaigns
    ]
    return rows, next_cursor


def active_profile_ids(session: Session, *, workspace_id: str, ids: set[str]) -> set[str]:
    if not ids:
        return set()
    return set(
        session.scalars(
            ProfileRepository(session, workspace_id)
            .statement()
            .where(Profile.id.in_(ids), Profile.status == ACTIVE)
            .with_only_columns(Profile.id)
        )
    )


def campaign_totals(session: Session, *, campaign: Campaign) -> CampaignRow:
    workspace_id = campaign.workspace_id
    recipients = campaign_service.recipient_counts(
        session, workspace_id=workspace_id, campaign_ids=[campaign.id]
    ).get(campaign.id, 0)
    opened = _engaged_recipients(session, workspace_id, [campaign.id], OPEN_TYPES)
    clicked = _engaged_recipients(session, workspace_id, [campaign.id], CLICK_TYPES)
    return CampaignRow(
        campaign=campaign,
        recipients=recipients,
        opened=opened.get(campaign.id, 0),
        clicked=clicked.get(campaign.id, 0),
    )
