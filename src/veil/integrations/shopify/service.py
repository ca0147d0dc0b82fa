"""Shopify webhooks (SPEC §3): verify, de-duplicate, and turn each topic into service calls.

- customers/create, customers/update: profile upsert (external_id `shopify:<customer id>`,
  email, phone, names, marketing consent, a `shopify` properties object); a changed email or
  phone replaces the profile's unless another active profile holds it (the old value is kept
  as a previous identifier);
- orders/create: upsert of the order's customer + a `Placed Order` event carrying the order;
- orders/updated: upsert + the order's `Placed Order` event brought to the newer state
  (created if orders/create was missed); see `orders.on_order_updated`;
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

from sqlalchemy.orm import Session

from veil.compliance.suppressions import screening
from veil.errors import Unauthorized
from veil.integrations import dedup
from veil.integrations.shopify import customers, gdpr, orders
from veil.integrations.shopify.parsing import ingestion_subject
from veil.integrations.shopify.schemas import SOURCE, Delivery
from veil.kit.crypto import DecryptionError
from veil.models import Workspace
from veil.runtime import Runtime
from veil.workspaces.service import shopify_secret

log = logging.getLogger("veil.integrations.shopify")

_BAD_SIGNATURE = "Invalid Shopify webhook signature."

Handler = Callable[[Session, Runtime, Delivery], bool]
HANDLERS: dict[str, Handler] = {
    "customers/create": customers.on_customer,
    "customers/update": customers.on_customer,
    "orders/create": orders.on_order_created,
    "orders/updated": orders.on_order_updated,
    "checkouts/create": orders.on_checkout_created,
    "customers/data_request": gdpr.on_data_request,
    "customers/redact": gdpr.on_customer_redact,
    "shop/redact": gdpr.on_shop_redact,
}


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


def handle(session: Session, *, runtime: Runtime, delivery: Delivery) -> str:
    """Apply one verified delivery in the caller's transaction; returns what happened
    (`processed`, `duplicate`, `ignored`, `suppressed`)."""
    subject = ingestion_subject(delivery.topic, delivery.payload)
    if subject is not None and screening.is_suppressed(
        session, runtime, workspace_id=delivery.workspace_id, subject=subject, source=SOURCE
    ):
        return "suppressed"  # before de-duplication: nothing of it is stored
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
