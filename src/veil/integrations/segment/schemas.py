"""Shapes of the Segment-compatible API, for the OpenAPI document and the answer.

The bodies themselves are read raw (gzip, size limits, Segment's loose typing) and checked in
veil.integrations.segment.service; these models only describe them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SegmentCall(BaseModel):
    """One Segment call (identify, track, page, screen, alias, group); unknown fields ignored."""

    model_config = ConfigDict(extra="allow")

    type: str | None = Field(default=None, description="Implied by the path outside /v1/batch.")
    userId: str | None = Field(default=None, description="→ the profile's external_id.")
    anonymousId: str | None = Field(default=None, description="Alone: an anonymous profile.")
    messageId: str | None = Field(default=None, description="De-duplicated per workspace.")
    event: str | None = Field(default=None, description="track: the event type.")
    name: str | None = None
    category: str | None = None
    traits: dict[str, Any] | None = Field(
        default=None, description="email, phone, firstName, lastName → profile; others: properties."
    )
    properties: dict[str, Any] | None = None
    context: dict[str, Any] | None = Field(
        default=None, description="context.traits is honoured on every call."
    )
    timestamp: str | None = None
    originalTimestamp: str | None = None
    sentAt: str | None = None
    writeKey: str | None = Field(default=None, description="Instead of HTTP Basic auth.")


class SegmentBatch(BaseModel):
    """Up to 500 KB, each message up to 32 KB (Segment's limits)."""

    model_config = ConfigDict(extra="allow")

    batch: list[dict[str, Any]] = Field(description="Segment calls, each with its `type`.")
    sentAt: str | None = None
    context: dict[str, Any] | None = None
    writeKey: str | None = None


class SegmentAccepted(BaseModel):
    success: bool = Field(description="Always true: the messages are stored.")
