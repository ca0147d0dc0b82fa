"""Reading Shopify payloads: typed values out of loosely typed JSON, and the profile and
event properties a customer, order or checkout object describes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from veil.errors import ValidationFailed
from veil.integrations.shopify.repository import EXTERNAL_ID_PREFIX
from veil.integrations.shopify.schemas import (
    CHECKOUT_FIELDS,
    CONSENT_STATES,
    CUSTOMER_FIELDS,
    ORDER_FIELDS,
)
from veil.kit.jsonwalk import check_properties
from veil.profiles import service as profiles


def text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    raise ValidationFailed("A Shopify customer field has an unexpected type.")


def json_object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name} must be a JSON object.")
    return value


def timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def required_id(payload: dict[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ValidationFailed(f"The {what} has no {key}.")
    return str(value).strip()


def customer_external_id(customer: dict[str, Any]) -> str | None:
    value = customer.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed("customer.id must be a number or a string.")
    return f"{EXTERNAL_ID_PREFIX}{value}"


def _consent(customer: dict[str, Any]) -> dict[str, str]:
    consent: dict[str, str] = {}
    for channel, key in (("email", "email_marketing_consent"), ("sms", "sms_marketing_consent")):
        state = json_object(customer.get(key), key).get("state")
        if isinstance(state, str) and state in CONSENT_STATES:
            consent[channel] = CONSENT_STATES[state]
    legacy = customer.get("accepts_marketing")
    if customer.get("email_marketing_consent") is None and isinstance(legacy, bool):
        consent["email"] = "subscribed" if legacy else "unsubscribed"
    return consent


def customer_input(
    customer: dict[str, Any], *, region: str, email: Any = None, phone: Any = None
) -> profiles.ProfileInput:
    """The profile a Shopify customer object describes (order/checkout email and phone as
    fallbacks when the customer has none)."""
    identity = profiles.Identity.parse(
        region=region,
        external_id=customer_external_id(customer),
        email=text(customer.get("email")) or text(email),
        phone=text(customer.get("phone")) or text(phone),
    )
    shopify = {k: customer[k] for k in CUSTOMER_FIELDS if customer.get(k) is not None}
    return profiles.ProfileInput(
        identity=identity,
        first_name=text(customer.get("first_name")),
        last_name=text(customer.get("last_name")),
        properties={"shopify": shopify} if shopify else {},
        consent=_consent(customer),
    )


def order_properties(order: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"order_id": order.get("id")}
    properties.update({k: order[k] for k in ORDER_FIELDS if k in order})
    return check_properties(properties)


def checkout_properties(checkout: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"checkout_id": checkout.get("id")}
    properties.update({k: checkout[k] for k in CHECKOUT_FIELDS if k in checkout})
    return check_properties(properties)


def normalize_shop_domain(value: str | None) -> str | None:
    if value is None:
        return None
    domain = value.strip().lower()
    if not domain:
        return None
    if len(domain) > 200 or any(not (c.isalnum() or c in ".-") for c in domain):
        raise ValidationFailed("The shop domain is not a valid host name.")
    return domain
