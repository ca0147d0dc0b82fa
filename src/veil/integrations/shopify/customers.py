"""customers/create and customers/update: the profile upsert every Shopify topic shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from veil.integrations.shopify.parsing import customer_input, json_object
from veil.integrations.shopify.repository import origin_of
from veil.integrations.shopify.schemas import SOURCE, Delivery
from veil.models import Profile
from veil.profiles import service as profiles
from veil.runtime import Runtime


def upsert(
    session: Session,
    delivery: Delivery,
    data: profiles.ProfileInput,
    *,
    replace_contact: bool = False,
) -> Profile | None:
    if data.identity.is_empty():
        return None
    profile, _created = profiles.upsert(
        session,
        workspace_id=delivery.workspace_id,
        data=data,
        origin=origin_of(delivery.shop_domain),
        consent_source=SOURCE,
        strict=False,
        replace_contact=replace_contact,
    )
    return profile


def region(session: Session, delivery: Delivery) -> str:
    return profiles.workspace_region(session, delivery.workspace_id)


def upsert_owner(session: Session, delivery: Delivery, document: dict[str, Any]) -> Profile | None:
    """The profile of an order's or checkout's customer (the document's own email and phone
    stand in when the customer has none)."""
    customer = json_object(document.get("customer"), "customer")
    data = customer_input(
        customer,
        region=region(session, delivery),
        email=document.get("email") or document.get("contact_email"),
        phone=document.get("phone"),
    )
    return upsert(session, delivery, data)


def on_customer(session: Session, _runtime: Runtime, delivery: Delivery) -> bool:
    data = customer_input(delivery.payload, region=region(session, delivery))
    # The customer object is Shopify's current record of the person: a changed email or
    # phone replaces the profile's (orders and checkouts only fill in what is missing).
    return upsert(session, delivery, data, replace_contact=True) is not None
