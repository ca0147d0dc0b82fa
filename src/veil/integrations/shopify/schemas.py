"""Shapes of the Shopify webhook endpoint's answer (bodies are Shopify's, read raw)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class WebhookReceived(BaseModel):
    status: Literal["processed", "duplicate", "ignored", "suppressed"] = Field(
        description="processed: stored; duplicate: this X-Shopify-Webhook-Id was seen before; "
        "ignored: a topic Veil does not use, or a payload naming nobody; suppressed: it names "
        "an erased and suppressed person, nothing of it was stored (SPEC §9)."
    )
