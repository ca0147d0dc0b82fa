"""Input checks at the door, for every route at once: NUL characters, bodies that are not JSON.

What it refuses, before any handler runs (so nothing can be stored partially), everywhere but
on the integration edges (they validate what outside systems send themselves):
- a NUL character in the path, the query string or a form (PostgreSQL refuses NUL in text,
  and it is never meant): `422 validation_error`. Forms, urlencoded or multipart, are parsed
  as the endpoint will parse them and every field name, value, file name and uploaded file is
  checked, so no encoding (`%00`, a raw byte, a quoted-printable part) slips through; any
  other non-API body is checked byte for byte;
- on the JSON API (`/api/…`): a body that is not JSON (`415 unsupported_media_type`), JSON
  that is not strict RFC 8259 — NaN, Infinity, numbers that overflow a double, unpaired
  surrogates, bad UTF-8 (`422 validation_error`) — and a NUL character in any key or string,
  whose place the message names.

The semantic limits (batch size, nesting depth, property size, string lengths, integer range)
live with the data they limit: the Pydantic schemas and `veil.kit.jsonwalk.check_properties`.
Messages name where the problem is, never the value (it may be personal data).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from veil.errors import error_body
from veil.kit.jsonwalk import find_nul

API_PREFIX = "/api/"
# Integration edges take whatever outside systems send and answer in their own way (a tracking
# pixel answers a GIF whatever the token, a bad click link is a 400): they check their input
# themselves (veil.integrations), so the URL check here leaves them alone.
_OWN_INPUT_HANDLING = ("/t/", "/v1/", "/integrations/")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
_PARSED = "veil.parsed_json"
_BIG_INTEGER = re.compile(rb"[0-9]{19}")


def _media_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            raw: bytes = value
            return raw.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def is_json_media_type(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def json_body_problem(body: bytes) -> str | None:
    """Why this body is not acceptable JSON for the API, or None."""
    return _checked_json(body)[1]


def _checked_json(body: bytes) -> tuple[Any, str | None]:
    """The parsed body and None, or (None, why it is not acceptable JSON for the API)."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return None, f"The request body is not valid JSON (line {exc.lineno}, column {exc.colno})."
    if b"\\u0000" in body:  # JSON must escape NUL; only then is a walk worth it
        where = find_nul(value)
        if where:
            return None, f"{where} contains a NUL character (\\u0000); Veil does not store it."
    return value, None


class ParsedBodyRoute(APIRoute):
    """An API route whose JSON body is not parsed a second time: FastAPI would parse it with
    the stdlib after the guard's orjson. The guard's value is handed over (in the scope) only
    where the two parsers certainly agree; otherwise the stdlib parses it as before."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parsed_body_handler(request: Request) -> Response:
            return await handler(_ParsedBodyRequest(request.scope, request.receive))

        return parsed_body_handler


class _ParsedBodyRequest(Request):
    async def json(self) -> Any:
        if _PARSED in self.scope:
            return self.scope[_PARSED]
        return await super().json()


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path.startswith(_OWN_INPUT_HANDLING):
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"").lower()
        if "\x00" in path or b"%00" in query or b"\x00" in query:
            await _refuse(send, 422, "validation_error", "The URL contains a NUL character.")
            return
        if scope.get("method") not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        media_type = _media_type(scope)
        api = path.startswith(API_PREFIX)
        body, more = await _read_body(receive)
        problem: tuple[int, str, str] | None = None
        if body and api and not is_json_media_type(media_type):
            problem = (
                415,
                "unsupported_media_type",
                "Send the request body as JSON with 'Content-Type: application/json'.",
            )
        elif body and api:
            value, message = _checked_json(body)
            if message:
                problem = (422, "validation_error", message)
            elif _BIG_INTEGER.search(body) is None:
                # orjson and the stdlib agree on strict JSON but for integers beyond 64 bits
                # (orjson answers a float): with no run of 19 digits there is none.
                scope[_PARSED] = value
        elif body and not api and await _form_has_nul(scope, media_type, body):
            problem = (422, "validation_error", "The request body contains a NUL character.")
        if problem:
            await _refuse(send, *problem)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await more()

        await self.app(scope, replay, send)


async def _form_has_nul(scope: Scope, media_type: str, body: bytes) -> bool:
    """Whether a UI body holds a NUL character anywhere its endpoint will read one."""
    if media_type not in (_FORM, _MULTIPART):
        return b"\x00" in body or b"\\u0000" in body

    async def replay() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, replay).form() as form:
            for name, value in form.multi_items():
                if "\x00" in name:
                    return True
                if isinstance(value, str):
                    if "\x00" in value:
                        return True
                elif "\x00" in (value.filename or "") or b"\x00" in await value.read():
                    return True
    except Exception:
        # A form this parser refuses (e.g. a part over its size limit): the endpoint answers
        # it as it would, unless a raw NUL byte is in it.
        return b"\x00" in body
    return False


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (BodyLimitMiddleware, outside this one, bounds its size)."""
    chunks: list[bytes] = []
    pending: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            pending.append(message)  # a disconnect: hand it on after the body
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break

    async def more() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return b"".join(chunks), more


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps(error_body(code, message))
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    start: dict[str, Any] = {"type": "http.response.start", "status": status, "headers": headers}
    await send(start)
    await send({"type": "http.response.body", "body": body})
