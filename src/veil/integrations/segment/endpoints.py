"""HTTP: the Segment-compatible tracking API, /v1/* (public: authenticated by the write key).

Existing Segment and RudderStack client libraries work by pointing their host at Veil: the
write key comes as the HTTP Basic user name (or `writeKey` in the body), bodies may be gzip.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from veil.auth.deps import SessionDep, runtime_of
from veil.auth.service import workspace_for_write_key
from veil.compliance.suppressions import screening
from veil.errors import Unauthorized, edge_responses
from veil.integrations.body import parse_json_object, read_body
from veil.integrations.segment import service
from veil.integrations.segment.schemas import SegmentAccepted, SegmentBatch, SegmentCall
from veil.kit.time import utcnow

log = logging.getLogger("veil.integrations.segment")

router = APIRouter(tags=["segment"])


def _gzip_body(limit: int, too_large: str) -> Callable[[Request], Awaitable[bytes]]:
    """A dependency: the body, gzip or not, of at most `limit` bytes (413 `too_large` over)."""

    async def read(request: Request) -> bytes:
        return await read_body(request, limit=limit, too_large=too_large, gzip=True)

    return read


_CALL_TOO_LARGE = "The call is larger than 32 KB, Segment's limit for one message."
_BATCH_TOO_LARGE = "The batch is larger than 500 KB, Segment's limit; send smaller batches."
CallBody = Annotated[bytes, Depends(_gzip_body(service.MAX_MESSAGE_BYTES, _CALL_TOO_LARGE))]
BatchBody = Annotated[bytes, Depends(_gzip_body(service.MAX_BATCH_BYTES, _BATCH_TOO_LARGE))]

_RESPONSES = edge_responses(
    unreadable="The request body is not valid JSON, or not valid gzip.",
    unauthorized="Missing, unknown or revoked write key.",
    too_large="Over 32 KB per call or 500 KB per batch.",
    encoding="Content-Encoding must be gzip or none.",
    invalid="A message does not fit (its index is named).",
)


def _openapi(model: type[SegmentCall] | type[SegmentBatch]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _basic_user(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, _, _password = decoded.partition(":")
    return user.strip() or None


def _authenticate(session: SessionDep, write_key: Any) -> str:
    if not isinstance(write_key, str) or not write_key.strip():
        raise Unauthorized(
            "Missing write key: send it as the HTTP Basic user name or as writeKey.",
            headers={"WWW-Authenticate": 'Basic realm="Veil"'},
        )
    return workspace_for_write_key(session, write_key.strip())


def _ingest(
    request: Request, session: SessionDep, body: bytes, kind: str | None
) -> SegmentAccepted:
    received_at = utcnow()
    basic = _basic_user(request)
    # With the key in the header a stranger is refused before the body is even parsed.
    workspace_id = _authenticate(session, basic) if basic else None
    payload = parse_json_object(body)
    if workspace_id is None:
        workspace_id = _authenticate(session, payload.get("writeKey"))
    if kind is None:
        messages = service.parse_batch(payload, received_at=received_at)
    else:
        messages = service.parse_call(payload, kind=kind, received_at=received_at)
    messages = screening.drop_suppressed(
        session,
        runtime_of(request),
        workspace_id=workspace_id,
        items=messages,
        subject=lambda m: m.ref,
        source=service.ORIGIN,
    )
    result = service.ingest(session, workspace_id=workspace_id, messages=messages)
    log.info(
        "segment messages ingested",
        extra={
            "fields": {
                "workspace_id": workspace_id,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
            }
        },
    )
    return SegmentAccepted(success=True)


def _route(kind: str, summary: str) -> None:
    def endpoint(request: Request, session: SessionDep, body: CallBody) -> SegmentAccepted:
        return _ingest(request, session, body, kind)

    endpoint.__name__ = f"segment_{kind}"
    endpoint.__doc__ = summary
    router.add_api_route(
        f"/v1/{kind}",
        endpoint,
        methods=["POST"],
        summary=summary,
        responses=_RESPONSES,
        openapi_extra=_openapi(SegmentCall),
    )


_route("identify", "Segment identify: upsert the profile with its traits")
_route("track", "Segment track: record an event")
_route("page", "Segment page: record a Viewed Page event")
_route("screen", "Segment screen: record a Viewed Screen event")
_route("alias", "Segment alias: accepted, nothing stored")
_route("group", "Segment group: accepted, nothing stored")


@router.post(
    "/v1/batch",
    summary="Segment batch: many calls at once (all or nothing)",
    responses=_RESPONSES,
    openapi_extra=_openapi(SegmentBatch),
)
def segment_batch(request: Request, session: SessionDep, body: BatchBody) -> SegmentAccepted:
    """Many calls in one request, as the client libraries send them."""
    return _ingest(request, session, body, None)
