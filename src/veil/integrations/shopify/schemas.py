"""Shopify's shapes: the webhook endpoint's answer, a verified delivery, and the fields of
Shopify's payloads that Veil keeps (bodies are Shopify's, read raw)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field

SOURCE = "shopify"
ACTOR = "shopify"
REQUESTED_BY = "shopify"
PLACED_ORDER = "Placed Order"
UPDATED_ORDER = "Updated Order"
STARTED_CHECKOUT = "Started Checkout"

# The parts of an order or checkout an event keeps, as Shopify sends them (line items,
# totals, addresses). Client details (browser IP, user agent), notes and the embedded
# customer are left out: the customer is the profile, the rest is not needed for marketing.
_CART_FIELDS = (
    "created_at",
    "updated_at",
    "currency",
    "presentment_currency",
    "total_price",
    "subtotal_price",
    "total_tax",
    "total_discounts",
    "total_line_items_price",
    "discount_codes",
    "line_items",
    "shipping_lines",
    "shipping_address",
    "billing_address",
    "source_name",
    "landing_site",
    "referring_site",
)
ORDER_FIELDS = (
    *_CART_FIELDS,
    "admin_graphql_api_id",
    "name",
    "order_number",
    "processed_at",
    "cancelled_at",
    "cancel_reason",
    "total_shipping_price_set",
    "total_price_set",
    "total_weight",
    "taxes_included",
    "financial_status",
    "fulfillment_status",
    "tags",
    "checkout_id",
    "checkout_token",
)
CHECKOUT_FIELDS = (*_CART_FIELDS, "token", "cart_token", "abandoned_checkout_url")
CUSTOMER_FIELDS = (
    "state",
    "tags",
    "currency",
    "verified_email",
    "tax_exempt",
    "orders_count",
    "total_spent",
    "created_at",
    "default_address",
)
# Shopify's marketing consent states; "not_subscribed", "pending", "invalid" and "redacted"
# change nothing (no consent was given, none was withdrawn). Only an explicit "unsubscribed"
# withdraws consent: a returning customer who leaves the checkout's marketing box unticked
# arrives as "not_subscribed" (or the legacy accepts_marketing=false) and stays subscribed.
CONSENT_STATES = {"subscribed": "subscribed", "unsubscribed": "unsubscribed"}


@dataclass
class Delivery:
    workspace_id: str
    topic: str
    shop_domain: str | None
    webhook_id: str | None
    payload: dict[str, Any]


class WebhookReceived(BaseModel):
    status: Literal["processed", "duplicate", "ignored", "suppressed"] = Field(
        description="processed: stored; duplicate: this X-Shopify-Webhook-Id was seen before; "
        "ignored: a topic Veil does not use, or a payload naming nobody; suppressed: it names "
        "an erased and suppressed person, nothing of it was stored (SPEC §9)."
    )
