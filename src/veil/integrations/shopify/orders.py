"""orders/create, orders/updated and checkouts/create: events on the customer's profile."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from veil.events.repository import EventRepository
from veil.events.service import EventInput, ProfileRef, record_event
from veil.integrations.shopify.customers import upsert_owner
from veil.integrations.shopify.parsing import (
    checkout_properties,
    order_properties,
    required_id,
    text,
    timestamp,
)
from veil.integrations.shopify.schemas import (
    PLACED_ORDER,
    SOURCE,
    STARTED_CHECKOUT,
    UPDATED_ORDER,
    Delivery,
)
from veil.kit.time import utcnow
from veil.models import Profile
from veil.runtime import Runtime


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
        timestamp=timestamp(order.get("processed_at")) or timestamp(order.get("created_at")),
        message_id=_order_message_id(required_id(order, "id", "order")),
    )


def on_order_created(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    required_id(delivery.payload, "id", "order")
    properties = order_properties(delivery.payload)
    profile = upsert_owner(session, delivery, delivery.payload)
    if profile is None:
        return False
    _record_placed_order(session, delivery, profile, properties)
    return True


def on_order_updated(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
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
    order_id = required_id(order, "id", "order")
    properties = order_properties(order)
    profile = upsert_owner(session, delivery, order)
    if profile is None:
        return False
    existing = EventRepository(session, delivery.workspace_id).by_message_id(
        _order_message_id(order_id)
    )
    updated_at = timestamp(order.get("updated_at"))
    if existing is None:
        _record_placed_order(session, delivery, profile, properties)
    elif existing.profile_id == profile.id:
        known = timestamp((existing.properties or {}).get("updated_at"))
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


def on_checkout_created(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    checkout = delivery.payload
    key = text(checkout.get("token")) or required_id(checkout, "id", "checkout")
    properties = checkout_properties(checkout)
    profile = upsert_owner(session, delivery, checkout)
    if profile is None:
        return False
    _record(
        session,
        delivery,
        profile,
        type=STARTED_CHECKOUT,
        properties=properties,
        timestamp=timestamp(checkout.get("created_at")),
        message_id=f"shopify:checkout:{key}",
    )
    return True
