"""Read models for the pages: small queries, each scoped to the signed-in workspace.

They only read; every rule (who may export, what erasure keeps) lives in the feature services.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from veil.kit.pagination import paginate
from veil.models import Campaign, Event, Profile, Recipient
from veil.models.profile import ACTIVE

OPEN_TYPES = ("Opened Email",)
CLICK_TYPES = ("Clicked Email", "Clicked SMS")


@dataclass
class Activity:
    opens: int = 0
    clicks: int = 0
    last_at: datetime | None = None
    # Profiles other than the recipient's own that this message's activity landed on
    # (after an erasure, a click on an old link lands on a new profile).
    other_profile_ids: list[str] = field(default_factory=list)


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


def events_page(
    session: Session,
    *,
    workspace_id: str,
    profile_id: str,
    limit: int,
    cursor: str | None,
) -> tuple[list[Event], str | None]:
    """A profile's events, newest first, keyset-paginated on (timestamp, id)."""
    stmt = select(Event).where(Event.workspace_id == workspace_id, Event.profile_id == profile_id)
    return paginate(
        session,
        stmt,
        keys=[Event.timestamp, Event.id],
        descending=True,
        limit=limit,
        cursor=cursor,
        key_of=lambda e: [e.timestamp, e.id],
    )


def event_count(session: Session, *, workspace_id: str, profile_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.workspace_id == workspace_id, Event.profile_id == profile_id)
        )
        or 0
    )


def campaign_names(session: Session, *, workspace_id: str, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Campaign.id, Campaign.name).where(
            Campaign.workspace_id == workspace_id, Campaign.id.in_(ids)
        )
    ).all()
    return {r.id: r.name for r in rows}


def _activity_of(
    session: Session, *, workspace_id: str, recipients: list[Recipient]
) -> dict[str, Activity]:
    activity: dict[str, Activity] = defaultdict(Activity)
    if not recipients:
        return activity
    owners = {r.id: r.profile_id for r in recipients}
    rows = session.execute(
        select(
            Event.recipient_id,
            Event.profile_id,
            Event.type,
            func.count(),
            func.max(Event.timestamp),
        )
        .where(Event.workspace_id == workspace_id, Event.recipient_id.in_(owners))
        .group_by(Event.recipient_id, Event.profile_id, Event.type)
    ).all()
    for recipient_id, profile_id, type_, count, last_at in rows:
        item = activity[recipient_id]
        if type_ in OPEN_TYPES:
            item.opens += count
        elif type_ in CLICK_TYPES:
            item.clicks += count
        if last_at is not None and (item.last_at is None or last_at > item.last_at):
            item.last_at = last_at
        if profile_id != owners[recipient_id] and profile_id not in item.other_profile_ids:
            item.other_profile_ids.append(profile_id)
    return activity


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
    recipients = [r for r, _c in rows]
    activity = _activity_of(session, workspace_id=workspace_id, recipients=recipients)
    return [ReceivedMessage(recipient=r, campaign=c, activity=activity[r.id]) for r, c in rows]


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
    session: Session, *, workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[CampaignRow], str | None]:
    stmt = select(Campaign).where(Campaign.workspace_id == workspace_id)
    campaigns, next_cursor = paginate(
        session,
        stmt,
        keys=[Campaign.id],
        descending=True,
        limit=limit,
        cursor=cursor,
        key_of=lambda c: [c.id],
    )
    ids = [c.id for c in campaigns]
    sent: dict[str, int] = {}
    opened: dict[str, int] = {}
    clicked: dict[str, int] = {}
    if ids:
        sent = {
            campaign_id: count
            for campaign_id, count in session.execute(
                select(Recipient.campaign_id, func.count())
                .where(Recipient.workspace_id == workspace_id, Recipient.campaign_id.in_(ids))
                .group_by(Recipient.campaign_id)
            ).all()
        }
        opened = _engaged_recipients(session, workspace_id, ids, OPEN_TYPES)
        clicked = _engaged_recipients(session, workspace_id, ids, CLICK_TYPES)
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


def get_campaign(session: Session, *, workspace_id: str, campaign_id: str) -> Campaign | None:
    return session.scalar(
        select(Campaign).where(Campaign.workspace_id == workspace_id, Campaign.id == campaign_id)
    )


def recipients_page(
    session: Session, *, workspace_id: str, campaign_id: str, limit: int, cursor: str | None
) -> tuple[list[RecipientRow], str | None]:
    stmt = select(Recipient).where(
        Recipient.workspace_id == workspace_id, Recipient.campaign_id == campaign_id
    )
    recipients, next_cursor = paginate(
        session,
        stmt,
        keys=[Recipient.id],
        descending=False,
        limit=limit,
        cursor=cursor,
        key_of=lambda r: [r.id],
    )
    activity = _activity_of(session, workspace_id=workspace_id, recipients=recipients)
    profile_ids = {r.profile_id for r in recipients}
    active: set[str] = set()
    if profile_ids:
        active = set(
            session.scalars(
                select(Profile.id).where(
                    Profile.workspace_id == workspace_id,
                    Profile.id.in_(profile_ids),
                    Profile.status == ACTIVE,
                )
            )
        )
    rows = [
        RecipientRow(recipient=r, profile_active=r.profile_id in active, activity=activity[r.id])
        for r in recipients
    ]
    return rows, next_cursor


def campaign_totals(session: Session, *, campaign: Campaign) -> CampaignRow:
    workspace_id = campaign.workspace_id
    recipients = session.scalar(
        select(func.count())
        .select_from(Recipient)
        .where(Recipient.workspace_id == workspace_id, Recipient.campaign_id == campaign.id)
    )
    opened = _engaged_recipients(session, workspace_id, [campaign.id], OPEN_TYPES)
    clicked = _engaged_recipients(session, workspace_id, [campaign.id], CLICK_TYPES)
    return CampaignRow(
        campaign=campaign,
        recipients=int(recipients or 0),
        opened=opened.get(campaign.id, 0),
        clicked=clicked.get(campaign.id, 0),
    )
