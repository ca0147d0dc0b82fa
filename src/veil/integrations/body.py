"""Raw request bodies at the ingestion edges: size limits on the bytes sent and, for gzip
bodies, on the bytes they expand to (a small gzip bomb never gets to allocate its payload)."""

from __future__ import annotations

import json
import zlib
from typing import Any

import orjson
from fastapi import Request

from veil.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed
from veil.kit.jsonwalk import find_nul, has_big_integer

_GZIP_WBITS = zlib.MAX_WBITS | 16


async def read_body(request: Request, *, limit: int, too_large: str, gzip: bool) -> bytes:
    """The body as sent, at most `limit` bytes; decompressed (again at most `limit`) when it
    is gzip and `gzip` is allowed. Over the limit: 413 with `too_large` as the message."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(too_large)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(too_large)
        chunks.append(chunk)
    raw = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if gzip and encoding in ("gzip", "x-gzip"):
        return gunzip(raw, limit=limit, too_large=too_large)
    raise UnsupportedMediaType(
        "Content-Encoding must be gzip or none." if gzip else "Content-Encoding must be none."
    )


def gunzip(data: bytes, *, limit: int, too_large: str) -> bytes:
    """Decompress gzip (one or more members), never producing more than `limit` + 1 bytes."""
    out = bytearray()
    pending = data
    if not pending:
        raise BadRequest("The request body is empty gzip.")
    while pending:
        decompressor = zlib.decompressobj(_GZIP_WBITS)
        tail = pending
        while not decompressor.eof:
            try:
                # max_length is always >= 1 here (0 would mean "unlimited").
                piece = decompressor.decompress(tail, limit + 1 - len(out))
            except zlib.error:
                raise BadRequest("The request body is not valid gzip.") from None
            out += piece
            if len(out) > limit:
                raise PayloadTooLarge(too_large)
            next_tail = decompressor.unconsumed_tail
            if not piece and (not next_tail or next_tail == tail):
                raise BadRequest("The gzip request body is truncated.")
            tail = next_tail
        pending = decompressor.unused_data
    return bytes(out)


def parse_json_object(body: bytes, *, refuse_nul: bool = False) -> dict[str, Any]:
    """A JSON object, or 400 (not JSON) / 422 (JSON but not an object; with `refuse_nul`, a
    NUL character anywhere in it). Segment leaves NUL to its per-message checks, so a
    duplicate message is skipped before it is checked, as Segment's de-duplication does."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("The request body is not valid JSON.") from None
    if has_big_integer(body):
        # orjson reads an integer beyond 64 bits as a float (1e30); the stdlib keeps it an
        # integer, which check_properties then refuses exactly as on the JSON API: one rule
        # for numbers at every edge. orjson has already refused what is not strict JSON.
        value = json.loads(body)
    if not isinstance(value, dict):
        raise ValidationFailed("The request body must be a JSON object.")
    if refuse_nul and b"\\u0000" in body:  # JSON must escape NUL; only then walk
        where = find_nul(value)
        if where:
            # PostgreSQL cannot store NUL in text: refused here, before any lookup uses it.
            raise ValidationFailed(f"{where} contains a NUL character (\\u0000).")
    return value
