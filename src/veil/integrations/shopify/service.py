"""Shopify webhooks (SPEC §3): verify, de-duplicate, and turn each topic into service calls.

- customers/create, customers/update: profile upsert (external_id `shopify:<customer id>`,
  email, phone, names, marketing consent, a `shopify` properties object);
- orders/create: upsert of the order's customer + a `Placed Order` event carrying the order;
- orders/updated: upsert + the order's `Placed Order` event brought to the newer state
  (created if orders/create was missed); see `_on_order_updated`;
- checkouts/create: upsert + a `Started Checkout` event;
- customers/data_request: an export request (requested_by "shopify") per matching profile;
- customers/redact: a deletion request (requested_by "shopify") per matching profile;
- shop/redact: a deletion request for every profile that came from the shop;
- any other topic: acknowledged, nothing stored.

Shopify retries a webhook that does not get a 2xx and eventually removes the subscription,
so a payload that cannot be attributed to anybody (an order without customer, email or phone)
is acknowledged and ignored rather than refused. Payloads are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from veil.compliance.privacy_requests import profile_actions
from veil.errors import (
    AlreadyRequested,
    NotAContact,
    ProfileDeleted,
    Unauthorized,
    ValidationFailed,
)
from veil.events.repository import EventRepository
from veil.events.service import EventInput, ProfileRef, record_event
from veil.integrations import dedup
from veil.integrations.shopify.repository import EXTERNAL_ID_PREFIX, origin_of
from veil.kit.crypto import DecryptionError
from veil.kit.jsonwalk import check_properties
from veil.kit.time import utcnow
from veil.models import Profile, Workspace
from veil.profiles import service as profiles
from veil.profiles.identifiers import normalize_email, normalize_phone
from veil.profiles.repository import ProfileRepository
from veil.runtime import Runtime
from veil.workspaces.service import shopify_secret

log = logging.getLogger("veil.integrations.shopify")

SOURCE = "shopify"
ACTOR = "shopify"
REQUESTED_BY = "shopify"
PLACED_ORDER = "Placed Order"
UPDATED_ORDER = "Updated Order"
STARTED_CHECKOUT = "Started Checkout"
_BAD_SIGNATURE = "Invalid Shopify webhook signature."

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
# change nothing (no consent was given, none was withdrawn).
_CONSENT_STATES = {"subscribed": "subscribed", "unsubscribed": "unsubscribed"}


@dataclass
class Delivery:
    workspace_id: str
    topic: str
    shop_domain: str | None
    webhook_id: str | None
    payload: dict[str, Any]


# -- verification -----------------------------------------------------------------------------


def verify_signature(
    session: Session, *, runtime: Runtime, workspace_id: str, body: bytes, signature: str | None
) -> None:
    """401 unless `signature` is the base64 HMAC-SHA256 of the raw body under the workspace's
    secret. Unknown workspace, no secret and a wrong signature all answer alike."""
    if not signature or len(workspace_id) > 40:
        raise Unauthorized(_BAD_SIGNATURE)
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise Unauthorized(_BAD_SIGNATURE)
    try:
        secret = shopify_secret(workspace, runtime.seal_keyring)
    except DecryptionError:
        log.warning(
            "shopify secret does not open", extra={"fields": {"workspace_id": workspace_id}}
        )
        raise Unauthorized(_BAD_SIGNATURE) from None
    if not secret:
        raise Unauthorized(_BAD_SIGNATURE)
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    if not hmac.compare_digest(expected, signature.strip().encode("latin-1", "replace")):
        raise Unauthorized(_BAD_SIGNATURE)


def sign(secret: str, body: bytes) -> str:
    """What Shopify sends in X-Shopify-Hmac-Sha256 (for tests and docs)."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


# -- dispatch ---------------------------------------------------------------------------------


def handle(session: Session, *, runtime: Runtime, delivery: Delivery) -> str:
    """Apply one verified delivery in the caller's transaction; returns what happened
    (`processed`, `duplicate`, `ignored`)."""
    if delivery.webhook_id is not None and not dedup.first_delivery(
        session,
        workspace_id=delivery.workspace_id,
        scope=dedup.SHOPIFY,
        key=delivery.webhook_id,
    ):
        return "duplicate"
    handler = HANDLERS.get(delivery.topic)
    if handler is None:
        return "ignored"
    return "processed" if handler(session, runtime, delivery) else "ignored"


# -- customers --------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    raise ValidationFailed("A Shopify customer field has an unexpected type.")


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name} must be a JSON object.")
    return value


def _customer_id(customer: dict[str, Any]) -> str | None:
    value = customer.get("id")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationFailed("customer.id must be a number or a string.")
    return f"{EXTERNAL_ID_PREFIX}{value}"


def _consent(customer: dict[str, Any]) -> dict[str, str]:
    consent: dict[str, str] = {}
    for channel, key in (("email", "email_marketing_consent"), ("sms", "sms_marketing_consent")):
        state = _object(customer.get(key), key).get("state")
        if isinstance(state, str) and state in _CONSENT_STATES:
            consent[channel] = _CONSENT_STATES[state]
    legacy = customer.get("accepts_marketing")
    if customer.get("email_marketing_consent") is None and isinstance(legacy, bool):
        consent["email"] = "subscribed" if legacy else "unsubscribed"
    return consent


def _customer_input(
    customer: dict[str, Any], *, region: str, email: Any = None, phone: Any = None
) -> profiles.ProfileInput:
    """The profile a Shopify customer object describes (order/checkout email and phone as
    fallbacks when the customer has none)."""
    identity = profiles.Identity.parse(
        region=region,
        external_id=_customer_id(customer),
        email=_text(customer.get("email")) or _text(email),
        phone=_text(customer.get("phone")) or _text(phone),
    )
    shopify = {k: customer[k] for k in CUSTOMER_FIELDS if customer.get(k) is not None}
    return profiles.ProfileInput(
        identity=identity,
        first_name=_text(customer.get("first_name")),
        last_name=_text(customer.get("last_name")),
        properties={"shopify": shopify} if shopify else {},
        consent=_consent(customer),
    )


def _upsert(session: Session, delivery: Delivery, data: profiles.ProfileInput) -> Profile | None:
    if data.identity.is_empty():
        return None
    profile, _created = profiles.upsert(
        session,
        workspace_id=delivery.workspace_id,
        data=data,
        origin=origin_of(delivery.shop_domain),
        consent_source=SOURCE,
        strict=False,
    )
    return profile


def _region(session: Session, delivery: Delivery) -> str:
    return profiles.workspace_region(session, delivery.workspace_id)


def _on_customer(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    data = _customer_input(delivery.payload, region=_region(session, delivery))
    return _upsert(session, delivery, data) is not None


# -- orders and checkouts ---------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _required_id(payload: dict[str, Any], key: str, what: str) -> str:
    value = payload.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ValidationFailed(f"The {what} has no {key}.")
    return str(value).strip()


def order_properties(order: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {"order_id": order.get("id")}
    properties.update({k: order[k] for k in ORDER_FIELDS if k in order})
    return check_properties(properties)


def _order_owner(session: Session, delivery: Delivery, document: dict[str, Any]) -> Profile | None:
    customer = _object(document.get("customer"), "customer")
    data = _customer_input(
        customer,
        region=_region(session, delivery),
        email=document.get("email") or document.get("contact_email"),
        phone=document.get("phone"),
    )
    return _upsert(session, delivery, data)


def _order_message_id(order_id: str) -> str:
    return f"shopify:order:{order_id}"


def _record(
    session: Session,
    delivery: Delivery,
    profile: Profile,
    *,
    type: str,
    properties: dict[str, Any],
    timestamp: datetime | None,
    message_id: str | None,
) -> None:
    record_event(
        session,
        workspace_id=delivery.workspace_id,
        item=EventInput(
            type=type,
            profile=ProfileRef(id=profile.id),
            properties=properties,
            timestamp=min(timestamp, utcnow()) if timestamp else None,
            source=SOURCE,
            message_id=message_id,
        ),
    )


def _record_placed_order(
    session: Session, delivery: Delivery, profile: Profile, properties: dict[str, Any]
) -> None:
    """The order's one `Placed Order` event, at the time it was placed; its message id makes a
    second delivery of the same order (a late orders/create) a no-op."""
    order = delivery.payload
    _record(
        session,
        delivery,
        profile,
        type=PLACED_ORDER,
        properties=properties,
        timestamp=_time(order.get("processed_at")) or _time(order.get("created_at")),
        message_id=_order_message_id(_required_id(order, "id", "order")),
    )


def _on_order_created(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    _required_id(delivery.payload, "id", "order")
    properties = order_properties(delivery.payload)
    profile = _order_owner(session, delivery, delivery.payload)
    if profile is None:
        return False
    _record_placed_order(session, delivery, profile, properties)
    return True


def _on_order_updated(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    """One `Placed Order` event per order, kept at the order's latest state.

    Shopify sends orders/updated for every change (payment, fulfilment, tags) and does not
    guarantee order of delivery, so instead of an event per change the order's event is
    updated in place when the payload is newer (by `updated_at`), and created if orders/create
    was missed. An event is only ever updated on the profile the update resolves to: when the
    order's event belongs to another profile — a deleted one whose history was scrubbed, or a
    different customer — the update is recorded as an `Updated Order` event instead, so
    nothing is written back into an erased history (SPEC §2).
    """
    order = delivery.payload
    order_id = _required_id(order, "id", "order")
    properties = order_properties(order)
    profile = _order_owner(session, delivery, order)
    if profile is None:
        return False
    existing = EventRepository(session, delivery.workspace_id).by_message_id(
        _order_message_id(order_id)
    )
    updated_at = _time(order.get("updated_at"))
    if existing is None:
        _record_placed_order(session, delivery, profile, properties)
    elif existing.profile_id == profile.id:
        known = _time((existing.properties or {}).get("updated_at"))
        if known is None or updated_at is None or updated_at >= known:
            existing.properties = properties
    else:
        _record(
            session,
            delivery,
            profile,
            type=UPDATED_ORDER,
            properties=properties,
            timestamp=updated_at,
            message_id=None,
        )
    return True


def _on_checkout_created(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    checkout = delivery.payload
    key = _text(checkout.get("token")) or _required_id(checkout, "id", "checkout")
    properties: dict[str, Any] = {"checkout_id": checkout.get("id")}
    properties.update({k: checkout[k] for k in CHECKOUT_FIELDS if k in checkout})
    check_properties(properties)
    profile = _order_owner(session, delivery, checkout)
    if profile is None:
        return False
    _record(
        session,
        delivery,
        profile,
        type=STARTED_CHECKOUT,
        properties=properties,
        timestamp=_time(checkout.get("created_at")),
        message_id=f"shopify:checkout:{key}",
    )
    return True


# -- compliance topics ------------------------------------------------------------------------


def matching_profiles(
    session: Session, *, workspace_id: str, customer: dict[str, Any]
) -> list[str]:
    """Every active profile holding the customer's Shopify id, email or phone (a person's data
    may have been split across profiles; each is answered for). Unparseable values are
    skipped: a redaction must not fail on a phone Veil never stored."""
    region = profiles.workspace_region(session, workspace_id)
    repo = ProfileRepository(session, workspace_id)
    found: list[str] = []
    candidates: list[tuple[str, Callable[[], str | None]]] = [
        ("external_id", lambda: _customer_id(customer)),
        ("email", lambda: normalize_email(_text(customer.get("email")))),
        ("phone", lambda: normalize_phone(_text(customer.get("phone")), region=region)),
    ]
    for column, value_of in candidates:
        try:
            value = value_of()
        except ValidationFailed:
            continue
        if value is None:
            continue
        profile = repo.find_active(column, value)
        if profile is not None and profile.id not in found:
            found.append(profile.id)
    return found


def _request_each(
    session: Session,
    runtime: Runtime,
    delivery: Delivery,
    profile_ids: list[str],
    request: Callable[..., object],
    skip: tuple[type[Exception], ...],
) -> int:
    """Ask the compliance service for each profile, as Shopify; how many were requested."""
    requested = 0
    for profile_id in profile_ids:
        try:
            request(
                session,
                runtime=runtime,
                workspace_id=delivery.workspace_id,
                profile_id=profile_id,
                requested_by=REQUESTED_BY,
                actor=ACTOR,
                source=SOURCE,
            )
        except skip:
            continue
        requested += 1
    return requested


def _on_data_request(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    customer = _object(delivery.payload.get("customer"), "customer")
    ids = matching_profiles(session, workspace_id=delivery.workspace_id, customer=customer)
    # AlreadyRequested: one is on its way; NotAContact: nothing personal to export.
    skip = (AlreadyRequested, NotAContact)
    return _request_each(session, runtime, delivery, ids, profile_actions.export_profile, skip) > 0


def _delete(session: Session, runtime: Runtime, delivery: Delivery, profile_ids: list[str]) -> int:
    return _request_each(
        session, runtime, delivery, profile_ids, profile_actions.delete_profile, (ProfileDeleted,)
    )


def _on_customer_redact(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    customer = _object(delivery.payload.get("customer"), "customer")
    ids = matching_profiles(session, workspace_id=delivery.workspace_id, customer=customer)
    return _delete(session, runtime, delivery, ids) > 0


def _on_shop_redact(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    domain = _text(delivery.payload.get("shop_domain")) or delivery.shop_domain
    # Answered at once; the privacy request's job fans out over the shop's profiles.
    profile_actions.schedule_shop_redact(
        session,
        runtime=runtime,
        workspace_id=delivery.workspace_id,
        shop_domain=normalize_shop_domain(domain),
    )
    return True


def normalize_shop_domain(value: str | None) -> str | None:
    if value is None:
        return None
    domain = value.strip().lower()
    if not domain:
        return None
    if len(domain) > 200 or any(not (c.isalnum() or c in ".-") for c in domain):
        raise ValidationFailed("The shop domain is not a valid host name.")
    return domain


Handler = Callable[[Session, Runtime, Delivery], bool]
HANDLERS: dict[str, Handler] = {
    "customers/create": _on_customer,
    "customers/update": _on_customer,
    "orders/create": _on_order_created,
    "orders/updated": _on_order_updated,
    "checkouts/create": _on_checkout_created,
    "customers/data_request": _on_data_request,
    "customers/redact": _on_customer_redact,
    "shop/redact": _on_shop_redact,
}
