"""Campaign API shapes."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from veil.campaigns.service import Activity
from veil.kit.time import rfc3339
from veil.models import Campaign, Event, Recipient

MAX_LINKS = 100
MAX_URL = 2048
MAX_SEND_IDS = 5000


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["campaign", "flow"] = "campaign"
    channel: Literal["email", "sms"]
    links: list[str] = Field(default_factory=list, max_length=MAX_LINKS)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("name must not be blank")
        return value.strip()

    @field_validator("links")
    @classmethod
    def _links(cls, values: list[str]) -> list[str]:
        seen: list[str] = []
        for index, value in enumerate(values):
            url = value.strip()
            parts = urlsplit(url)
            if (
                len(url) > MAX_URL
                or parts.scheme not in ("http", "https")
                or not parts.hostname
                or any(ch.isspace() for ch in url)
            ):
                raise ValueError(f"links[{index}] is not an http(s) URL")
            if url not in seen:
                seen.append(url)
        return seen


class CampaignSend(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # None: every active, subscribed contact of the campaign's channel.
    profile_ids: list[str] | None = Field(default=None, max_length=MAX_SEND_IDS)


class SendResult(BaseModel):
    recipients: int = Field(description="Recipient records created by this send.")
    skipped: int = Field(
        description="Given profile_ids that got no message: not subscribed to the channel, "
        "no address for it, deleted, or (campaigns) already sent to."
    )


class CampaignRead(BaseModel):
    id: str
    name: str
    kind: str
    channel: str
    links: list[str]
    recipient_count: int
    created_at: str
    updated_at: str

    @classmethod
    def build(cls, campaign: Campaign, recipient_count: int) -> CampaignRead:
        return cls(
            id=campaign.id,
            name=campaign.name,
            kind=campaign.kind,
            channel=campaign.channel,
            links=[str(link) for link in campaign.links or []],
            recipient_count=recipient_count,
            created_at=rfc3339(campaign.created_at) or "",
            updated_at=rfc3339(campaign.updated_at) or "",
        )


class CampaignPage(BaseModel):
    data: list[CampaignRead]
    next_cursor: str | None


class ActivityRead(BaseModel):
    id: str
    type: str
    timestamp: str
    # After the recipient's profile was deleted, activity lands on a new profile (SPEC §2).
    profile_id: str
    url: str | None = Field(default=None, description="The clicked link (clicks only).")

    @classmethod
    def build(cls, event: Event) -> ActivityRead:
        url = (event.properties or {}).get("url")
        return cls(
            id=event.id,
            type=event.type,
            timestamp=rfc3339(event.timestamp) or "",
            profile_id=event.profile_id,
            url=url if isinstance(url, str) else None,
        )


class RecipientRead(BaseModel):
    id: str
    campaign_id: str
    profile_id: str
    channel: str
    email: str | None
    phone: str | None
    status: str
    sent_at: str
    open_url: str
    click_urls: dict[str, str]
    opens: int = Field(description="Opened Email events of this message (docs/integrations.md).")
    clicks: int = Field(description="Clicked Email / Clicked SMS events of this message.")
    last_activity_at: str | None
    activity_profile_ids: list[str] = Field(
        description="Profiles other than profile_id that this message's activity landed on "
        "(a new profile after the recipient's was deleted)."
    )
    activity: list[ActivityRead]

    @classmethod
    def build(
        cls,
        recipient: Recipient,
        *,
        open_url: str,
        click_urls: dict[str, str],
        activity: list[Event],
        summary: Activity,
    ) -> RecipientRead:
        return cls(
            id=recipient.id,
            campaign_id=recipient.campaign_id,
            profile_id=recipient.profile_id,
            channel=recipient.channel,
            email=recipient.email,
            phone=recipient.phone,
            status=recipient.status,
            sent_at=rfc3339(recipient.sent_at) or "",
            open_url=open_url,
            click_urls=click_urls,
            opens=summary.opens,
            clicks=summary.clicks,
            last_activity_at=rfc3339(summary.last_at),
            activity_profile_ids=list(summary.other_profile_ids),
            activity=[ActivityRead.build(e) for e in activity],
        )


class RecipientPage(BaseModel):
    data: list[RecipientRead]
    next_cursor: str | None
