"""Shopify's mandatory compliance topics: customers/data_request, customers/redact and
shop/redact become privacy requests (source `shopify`) with their export and deletion requests,
as Shopify. shop/redact is answered at once: the privacy request's job fans out over the shop."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from veil.compliance.privacy_requests import profile_actions
from veil.compliance.privacy_requests.identities import Identity, IdentityType, match_subjects
from veil.errors import AlreadyRequested, NotAContact, ProfileDeleted, ValidationFailed
from veil.integrations.shopify.parsing import (
    customer_external_id,
    json_object,
    normalize_shop_domain,
    text,
)
from veil.integrations.shopify.schemas import ACTOR, REQUESTED_BY, SOURCE, Delivery
from veil.profiles import service as profiles
from veil.profiles.identifiers import normalize_email, normalize_phone
from veil.runtime import Runtime

log = logging.getLogger("veil.integrations.shopify")


def matching_profiles(
    session: Session, *, workspace_id: str, customer: dict[str, Any]
) -> list[str]:
    """Every active profile holding, now or before (SPEC §8.1, §9), the customer's Shopify id,
    email or phone (a person's data may have been split across profiles; each is answered
    for). Unparseable values are skipped: a redaction must not fail on a phone Veil never
    stored."""
    region = profiles.workspace_region(session, workspace_id)
    identities: list[Identity] = []
    candidates: list[tuple[IdentityType, Callable[[], str | None]]] = [
        ("external_id", lambda: customer_external_id(customer)),
        ("email", lambda: normalize_email(text(customer.get("email")))),
        ("phone", lambda: normalize_phone(text(customer.get("phone")), region=region)),
    ]
    for kind, value_of in candidates:
        try:
            value = value_of()
        except ValidationFailed:
            continue
        if value is not None:
            identities.append(Identity(kind, value))
    if not identities:
        return []
    [found] = match_subjects(session, workspace_id=workspace_id, subjects=[identities])
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


def _customer_profiles(session: Session, delivery: Delivery) -> list[str]:
    customer = json_object(delivery.payload.get("customer"), "customer")
    return matching_profiles(session, workspace_id=delivery.workspace_id, customer=customer)


def on_data_request(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    ids = _customer_profiles(session, delivery)
    # AlreadyRequested: one is on its way; NotAContact: nothing personal to export.
    skip = (AlreadyRequested, NotAContact)
    return _request_each(session, runtime, delivery, ids, profile_actions.export_profile, skip) > 0


def _delete(session: Session, runtime: Runtime, delivery: Delivery, profile_ids: list[str]) -> int:
    return _request_each(
        session, runtime, delivery, profile_ids, profile_actions.delete_profile, (ProfileDeleted,)
    )


def on_customer_redact(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    return _delete(session, runtime, delivery, _customer_profiles(session, delivery)) > 0


def on_shop_redact(session: Session, runtime: Runtime, delivery: Delivery) -> bool:
    domain = text(delivery.payload.get("shop_domain")) or delivery.shop_domain
    # Answered at once; the privacy request's job fans out over the shop's profiles.
    profile_actions.schedule_shop_redact(
        session,
        runtime=runtime,
        workspace_id=delivery.workspace_id,
        shop_domain=normalize_shop_domain(domain),
    )
    return True
