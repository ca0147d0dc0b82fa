"""Campaigns: create, send to subscribed contacts (recipient records), read recipient activity.

Sending twice: a `campaign` is a one-off broadcast, so each profile receives it at most once —
a repeated or retried send only adds profiles that have not had it yet. A `flow` is an
automation triggered again and again (an abandoned-checkout reminder), so every send creates a
new recipient record, even for a profile that received the flow before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.campaigns import links
from veil.campaigns.repository import CampaignRepository, chunks
from veil.errors import NotFound
from veil.events.repository import EventRepository
from veil.kit.crypto import Keyring
from veil.kit.ids import new_id, new_token
from veil.kit.pagination import PageParams, paginate
from veil.kit.time import utcnow
from veil.models import Campaign, Event, Recipient

KINDS = ("campaign", "flow")
# Tracking events (veil.integrations.tracking records them; activity summaries count them).
OPENED_EMAIL = "Opened Email"
CLICKED = {"email": "Clicked Email", "sms": "Clicked SMS"}
OPEN_TYPES = (OPENED_EMAIL,)
CLICK_TYPES = tuple(CLICKED.values())
CHANNELS = ("email", "sms")
SENT = "sent"
_INSERT_CHUNK = 1000


@dataclass
class SendOutcome:
    recipients: int
    skipped: int


def create_campaign(
    session: Session,
    *,
    workspace_id: str,
    actor: str,
    name: str,
    kind: str,
    channel: str,
    links: list[str],
) -> Campaign:
    campaign = Campaign(
        id=new_id("cmp"),
        workspace_id=workspace_id,
        name=name,
        kind=kind,
        channel=channel,
        links=list(links),
    )
    session.add(campaign)
    session.flush()
    audit.record_about(
        session,
        campaign,
        "campaign",
        "campaign.created",
        actor=actor,
        details={"kind": kind, "channel": channel, "links": len(links)},
    )
    return campaign


def get_campaign(session: Session, *, workspace_id: str, campaign_id: str) -> Campaign:
    return CampaignRepository(session, workspace_id).get_one(campaign_id)


def list_campaigns(
    session: Session, *, workspace_id: str, page: PageParams
) -> tuple[list[Campaign], str | None]:
    """Newest first."""
    return CampaignRepository(session, workspace_id).newest_first(page)


def recipient_counts(
    session: Session, *, workspace_id: str, campaign_ids: Sequence[str]
) -> dict[str, int]:
    return CampaignRepository(session, workspace_id).recipient_counts(campaign_ids)


def send_campaign(
    session: Session,
    *,
    workspace_id: str,
    actor: str,
    campaign_id: str,
    profile_ids: Sequence[str] | None = None,
) -> SendOutcome:
    """Create one recipient record per eligible profile, with the address used and a token.

    `profile_ids` narrows the audience; ids that are not this workspace's profiles are a 404,
    while known profiles that may not receive the message are counted as skipped.
    """
    repo = CampaignRepository(session, workspace_id)
    # Row lock (PostgreSQL): two concurrent sends of one campaign cannot both add a profile.
    # SQLite serialises write transactions already (BEGIN IMMEDIATE).
    campaign = repo.get_one(campaign_id, for_update=True)
    wanted: list[str] | None = None
    if profile_ids is not None:
        wanted = list(dict.fromkeys(profile_ids))
        known = repo.known_profile_ids(wanted)
        unknown = [pid for pid in wanted if pid not in known]
        if unknown:
            raise NotFound(f"Profile not found: {unknown[0]}.")
    audience = repo.audience(
        campaign=campaign, once_per_profile=campaign.kind == "campaign", profile_ids=wanted
    )
    now = utcnow()
    rows = [
        {
            "id": new_id("rcp"),
            "workspace_id": workspace_id,
            "campaign_id": campaign.id,
            "profile_id": profile_id,
            "channel": campaign.channel,
            "email": email if campaign.channel == "email" else None,
            "phone": phone if campaign.channel == "sms" else None,
            "status": SENT,
            "sent_at": now,
            "token": new_token(),
        }
        for profile_id, email, phone in audience
    ]
    for part in chunks(rows, _INSERT_CHUNK):
        session.execute(insert(Recipient), list(part))
    skipped = len(wanted) - len(rows) if wanted is not None else 0
    audit.record_about(
        session,
        campaign,
        "campaign",
        "campaign.sent",
        actor=actor,
        details={"recipients": len(rows), "skipped": skipped},
    )
    return SendOutcome(recipients=len(rows), skipped=skipped)


@dataclass
class Activity:
    """Opens, clicks and last activity of one message, from the events pointing at it."""

    opens: int = 0
    clicks: int = 0
    last_at: datetime | None = None
    # Profiles other than the recipient's own that this message's activity landed on
    # (after an erasure, a click on an old link lands on a new profile, SPEC §2).
    other_profile_ids: list[str] = field(default_factory=list)


def summarize_activity(recipient: Recipient, events: list[Event]) -> Activity:
    activity = Activity()
    for event in events:
        if event.type in OPEN_TYPES:
            activity.opens += 1
        elif event.type in CLICK_TYPES:
            activity.clicks += 1
        if activity.last_at is None or event.timestamp > activity.last_at:
            activity.last_at = event.timestamp
        if event.profile_id != recipient.profile_id and (
            event.profile_id not in activity.other_profile_ids
        ):
            activity.other_profile_ids.append(event.profile_id)
    return activity


@dataclass
class RecipientView:
    recipient: Recipient
    open_url: str
    click_urls: dict[str, str]
    activity: list[Event]
    summary: Activity


def list_recipients(
    session: Session,
    *,
    workspace_id: str,
    campaign_id: str,
    base_url: str,
    keyring: Keyring,
    page: PageParams,
) -> tuple[list[RecipientView], str | None]:
    """Recipient records (id order, roughly send order) with tracking URLs and activity.

    Activity is every event pointing at the record, whoever's profile it landed on: after an
    erasure a click on an old link is recorded on a new profile and still shows here.
    """
    campaign = get_campaign(session, workspace_id=workspace_id, campaign_id=campaign_id)
    rows, next_cursor = paginate(
        session,
        CampaignRepository(session, workspace_id).recipients_of(campaign.id),
        keys=[Recipient.id],
        descending=False,
        page=page,
    )
    activity: dict[str, list[Event]] = defaultdict(list)
    for event in EventRepository(session, workspace_id).of_recipients([r.id for r in rows]):
        if event.recipient_id is not None:
            activity[event.recipient_id].append(event)
    views = [
        RecipientView(
            recipient=r,
            open_url=links.open_url(base_url, r.token),
            click_urls={
                str(url): links.click_url(base_url, keyring, r.token, str(url))
                for url in campaign.links or []
            },
            activity=activity.get(r.id, []),
            summary=summarize_activity(r, activity.get(r.id, [])),
        )
        for r in rows
    ]
    return views, next_cursor
