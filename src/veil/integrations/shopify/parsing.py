"""Reading Shopify payloads: typed values out of loosely typed JSON, and the profile and
event properties a customer, order or checkout object describes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from veil.errors import ValidationFailed
from veil.events.service import ProfileRef
from veil.integrations.shopify.repository import EXTERNAL_ID_PREFIX
from veil.integrations.shopify.schemas import (
    CHECKOUT_FIELDS,
    CONSENT_STATES,
    CUSTOMER_FIELDS,
    ORDER_FIELDS,
)
from veil.kit.jsonwalk import check_properties
from veil.kit.time import parse_rfc3339
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
    """A Shopify time; one that is unparseable or out of range counts as absent (the
    delivery is still acknowledged: Shopify would retry a refusal for days)."""
    try:
        return parse_rfc3339(value)
    except ValueError:
        return None


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
    # The legacy flag can say yes; its false is "did not tick the box", never a withdrawal.
    if (
        customer.get("email_marketing_consent") is None
        and customer.get("accepts_marketing") is True
    ):
        consent["email"] = "subscribed"
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


_CUSTOMER_TOPICS = ("customers/create", "customers/update")
_CART_TOPICS = ("orders/create", "orders/updated", "checkouts/create")


def _raw(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def ingestion_subject(topic: str, payload: dict[str, Any]) -> ProfileRef | None:
    """The person a customer, order or checkout delivery names, as sent (for the suppression
    check); None for the other topics, which must never be dropped (redactions above all)."""
    if topic in _CUSTOMER_TOPICS:
        customer, email, phone = payload, None, None
    elif topic in _CART_TOPICS:
        found = payload.get("customer")
        customer = found if isinstance(found, dict) else {}
        email = payload.get("email") or payload.get("contact_email")
        phone = payload.get("phone")
    else:
        return None
    customer_id = _raw(customer.get("id"))
    return ProfileRef(
        external_id=f"{EXTERNAL_ID_PREFIX}{customer_id}" if customer_id else None,
        email=_raw(customer.get("email")) or _raw(email),
        phone=_raw(customer.get("phone")) or _raw(phone),
    )
