"""HTTP: Shopify webhooks (public: authenticated by the HMAC of the raw body)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from veil.auth.deps import RuntimeDep, SessionDep
from veil.errors import ValidationFailed, edge_responses
from veil.integrations.body import parse_json_object, read_body
from veil.integrations.shopify import service
from veil.integrations.shopify.parsing import normalize_shop_domain
from veil.integrations.shopify.schemas import Delivery, WebhookReceived

log = logging.getLogger("veil.integrations.shopify")

router = APIRouter(tags=["shopify"])

MAX_WEBHOOK_BYTES = 2 * 1024 * 1024
_TOO_LARGE = "The webhook body is larger than 2 MB."


async def _raw_body(request: Request) -> bytes:
    return await read_body(request, limit=MAX_WEBHOOK_BYTES, too_large=_TOO_LARGE, gzip=False)


RawBody = Annotated[bytes, Depends(_raw_body)]
OptionalHeader = Annotated[str | None, Header(max_length=500)]


@router.post(
    "/integrations/shopify/{workspace_id}/webhooks",
    summary="Receive a Shopify webhook (X-Shopify-Hmac-Sha256 verified)",
    responses=edge_responses(
        unreadable="The request body is not valid JSON.",
        unauthorized="Missing or wrong X-Shopify-Hmac-Sha256.",
        too_large=_TOO_LARGE,
        encoding="Content-Encoding must be none.",
        invalid="A header or field does not fit.",
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
def receive_webhook(
    workspace_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    body: RawBody,
    x_shopify_hmac_sha256: OptionalHeader = None,
    x_shopify_topic: OptionalHeader = None,
    x_shopify_webhook_id: OptionalHeader = None,
    x_shopify_shop_domain: OptionalHeader = None,
) -> WebhookReceived:
    """Verify the signature before anything else, then apply the topic (docs/integrations.md)."""
    service.verify_signature(
        session,
        runtime=runtime,
        workspace_id=workspace_id,
        body=body,
        signature=x_shopify_hmac_sha256,
    )
    topic = (x_shopify_topic or "").strip().lower()
    if not topic:
        raise ValidationFailed("The X-Shopify-Topic header is required.")
    # A NUL anywhere is refused: PostgreSQL cannot store it, and an id with one would only
    # fail deeper down (a customers/redact lookup answered 500).
    payload: dict[str, Any] = parse_json_object(body, refuse_nul=True)
    delivery = Delivery(
        workspace_id=workspace_id,
        topic=topic,
        shop_domain=normalize_shop_domain(x_shopify_shop_domain),
        webhook_id=(x_shopify_webhook_id or "").strip() or None,
        payload=payload,
    )
    status = service.handle(session, runtime=runtime, delivery=delivery)
    log.info(
        "shopify webhook",
        extra={"fields": {"workspace_id": workspace_id, "topic": topic[:50], "status": status}},
    )
    return WebhookReceived(status=status)
