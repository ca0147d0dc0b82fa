"""Event API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from veil.events.service import MAX_BATCH, EventInput, ProfileRef
from veil.kit.time import check_time_range, parse_rfc3339, rfc3339
from veil.models import Event
from veil.profiles.schemas import IdentifierFields


class ProfileRefIn(IdentifierFields):
    """Whose event this is: a profile id, or identifiers resolved as in SPEC §2."""

    id: str | None = Field(default=None, max_length=40)

    @model_validator(mode="after")
    def _one_way_of_naming(self) -> ProfileRefIn:
        identifiers = (self.email, self.phone, self.external_id)
        if self.id is not None and any(v is not None for v in identifiers):
            raise ValueError("give either id or identifiers (email, phone, external_id), not both")
        if self.id is None and all(v is None or not v.strip() for v in identifiers):
            raise ValueError("give one of id, email, phone, external_id")
        return self


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(min_length=1, max_length=200)
    profile: ProfileRefIn
    properties: dict[str, Any] = Field(default_factory=dict)
    timestamp: datetime | None = None
    # Optional idempotency key: sending the same message_id again records nothing new.
    message_id: str | None = Field(default=None, min_length=1, max_length=255)

    @field_validator("timestamp", mode="before")
    @classmethod
    def _rfc3339(cls, value: Any) -> Any:
        # Strings go through Veil's one parser (range-checked before any conversion to UTC);
        # numbers (Unix seconds) are left to Pydantic and range-checked below.
        return parse_rfc3339(value) if isinstance(value, str) else value

    @field_validator("timestamp")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        return None if value is None else check_time_range(value)

    def to_input(self) -> EventInput:
        return EventInput(
            type=self.type,
            profile=ProfileRef(
                id=self.profile.id,
                email=self.profile.email,
                phone=self.profile.phone,
                external_id=self.profile.external_id,
            ),
            properties=self.properties,
            timestamp=self.timestamp,
            source="api",
            message_id=self.message_id,
        )


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[EventCreate] = Field(min_length=1, max_length=MAX_BATCH)


class EventAccepted(BaseModel):
    id: str
    profile_id: str


class BatchAccepted(BaseModel):
    accepted: int
    suppressed: int = Field(
        default=0, description="items dropped: they name a suppressed person (SPEC §9)"
    )


class EventRead(BaseModel):
    id: str
    profile_id: str
    type: str
    timestamp: str
    received_at: str
    source: str
    properties: dict[str, Any]
    campaign_id: str | None
    recipient_id: str | None

    @classmethod
    def build(cls, event: Event) -> EventRead:
        return cls(
            id=event.id,
            profile_id=event.profile_id,
            type=event.type,
            timestamp=rfc3339(event.timestamp) or "",
            received_at=rfc3339(event.received_at) or "",
            source=event.source,
            properties=event.properties or {},
            campaign_id=event.campaign_id,
            recipient_id=event.recipient_id,
        )


class EventPage(BaseModel):
    data: list[EventRead]
    next_cursor: str | None
