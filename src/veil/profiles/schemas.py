"""Profile API shapes."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from veil.kit.time import rfc3339
from veil.models import Consent, Profile
from veil.models.profile import ACTIVE

ConsentState = Literal["subscribed", "unsubscribed"]


class IdentifierFields(BaseModel):
    """A person's identifiers as the API takes them (SPEC §2), at most as long as their
    columns; profiles.service normalises them."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=255)


class _ProfileFields(IdentifierFields):
    """The identifiers and names a profile is created or rectified with."""

    first_name: str | None = Field(default=None, max_length=200)
    last_name: str | None = Field(default=None, max_length=200)


class ProfileCreate(_ProfileFields):
    properties: dict[str, Any] = Field(default_factory=dict)
    consent: dict[Literal["email", "sms"], ConsentState] = Field(default_factory=dict)


class ProfileUpdate(_ProfileFields):
    """Rectification (SPEC §9): only the fields sent change; null clears a field, and inside
    `properties` null removes that key."""

    properties: dict[str, Any] | None = None


class ProfileRead(BaseModel):
    id: str
    status: str
    email: str | None
    phone: str | None
    external_id: str | None
    first_name: str | None
    last_name: str | None
    properties: dict[str, Any]
    consent: dict[str, str]
    is_contact: bool
    restricted: bool = Field(description="processing restricted (GDPR art. 18, SPEC §9)")
    restricted_at: str | None
    restriction_reason: str | None
    created_at: str
    updated_at: str
    deleted_at: str | None

    @classmethod
    def build(cls, profile: Profile, consents: list[Consent] | None = None) -> ProfileRead:
        active = profile.status == ACTIVE
        return cls(
            id=profile.id,
            status=profile.status,
            # A deleted profile shows no personal data, even before the erasure job has run.
            email=profile.email if active else None,
            phone=profile.phone if active else None,
            external_id=profile.external_id if active else None,
            first_name=profile.first_name if active else None,
            last_name=profile.last_name if active else None,
            properties=(profile.properties or {}) if active else {},
            consent={c.channel: c.state for c in consents or []} if active else {},
            is_contact=profile.is_contact if active else False,
            restricted=profile.restricted if active else False,
            restricted_at=rfc3339(profile.restricted_at) if active else None,
            restriction_reason=profile.restriction_reason if active else None,
            created_at=rfc3339(profile.created_at) or "",
            updated_at=rfc3339(profile.updated_at) or "",
            deleted_at=rfc3339(profile.deleted_at),
        )


class ProfilePage(BaseModel):
    data: list[ProfileRead]
    next_cursor: str | None
