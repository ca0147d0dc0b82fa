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

The checks are here; `veil.middleware.InputGuardMiddleware` runs them. The body it parsed is
handed to endpoints through `request.state` and the `json_body(Model)` dependency, so a body is
parsed once (by orjson) without relying on what FastAPI does inside.

The semantic limits (batch size, nesting depth, property size, string lengths, integer range)
live with the data they limit: the Pydantic schemas and `veil.kit.jsonwalk.check_properties`.
Messages name where the problem is, never the value (it may be personal data).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.types import Message, Scope

from veil.kit.jsonwalk import find_nul, has_big_integer

API_PREFIX = "/api/"
# Integration edges take whatever outside systems send and answer in their own way (a tracking
# pixel answers a GIF whatever the token, a bad click link is a 400): they check their input
# themselves (veil.integrations), so the URL check here leaves them alone.
_OWN_INPUT_HANDLING = ("/t/", "/v1/", "/integrations/")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_FORM = "application/x-www-form-urlencoded"
_MULTIPART = "multipart/form-data"
# The key in `request.state` (the ASGI scope's "state") of the body the guard parsed.
PARSED_JSON = "parsed_json"

Problem = tuple[int, str, str]  # status, code, message
B = TypeVar("B", bound=BaseModel)
_COMPONENTS = "#/components/schemas/{model}"
# The models `json_body` reads, for the OpenAPI document (FastAPI only sees its own bodies).
_BODY_MODELS: set[type[BaseModel]] = set()


@dataclass(frozen=True)
class Parsed:
    """A body parsed by the guard, handed to the endpoint (any JSON value, `null` included)."""

    value: Any


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


def _own_input_handling(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    return path.startswith(_OWN_INPUT_HANDLING)


def refuses_url(scope: Scope) -> Problem | None:
    """A NUL character in the path or the query string (not on the integration edges)."""
    if _own_input_handling(scope):
        return None
    path: str = scope.get("path", "")
    query = scope.get("query_string", b"").lower()
    if "\x00" in path or b"%00" in query or b"\x00" in query:
        return (422, "validation_error", "The URL contains a NUL character.")
    return None


def screens_body(scope: Scope) -> bool:
    """Whether the guard reads this request's body: every body but the integration edges'."""
    return not _own_input_handling(scope) and scope.get("method") in _BODY_METHODS


async def body_problem(scope: Scope, body: bytes) -> tuple[Problem | None, Parsed | None]:
    """Why the body is refused, or the JSON value to hand to the endpoint (when there is one)."""
    if not body:
        return None, None
    media_type = _media_type(scope)
    if not scope.get("path", "").startswith(API_PREFIX):
        if await _form_has_nul(scope, media_type, body):
            return (422, "validation_error", "The request body contains a NUL character."), None
        return None, None
    if not is_json_media_type(media_type):
        use_json = "Send the request body as JSON with 'Content-Type: application/json'."
        return (415, "unsupported_media_type", use_json), None
    value, message = _checked_json(body)
    if message:
        return (422, "validation_error", message), None
    if has_big_integer(body):
        # orjson and the stdlib agree on strict JSON but for integers beyond 64 bits (orjson
        # answers a float): with a run of 19 digits, the endpoint parses with the stdlib.
        return None, None
    return None, Parsed(value)


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


async def request_json(request: Request) -> Any:
    """The request's JSON body (None when empty): the guard's parse when it made one."""
    state = request.scope.get("state", {})
    if PARSED_JSON in state:
        return state[PARSED_JSON]
    body = await request.body()
    return parse_with_stdlib(body) if body else None


def parse_with_stdlib(body: bytes) -> Any:
    """The careful parse, where orjson's could differ (integers beyond 64 bits)."""
    return json.loads(body)


def json_body(model: type[B]) -> Any:
    """A dependency giving the body validated as `model`, errors as FastAPI words them:
    `body: Annotated[EventCreate, json_body(EventCreate)]`, with `openapi_extra=
    request_body_openapi(EventCreate)` on the route so the document still shows the body."""

    async def validated_body(request: Request) -> B:
        value = await request_json(request)
        if value is None:
            missing = {"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}
            raise RequestValidationError([missing])
        try:
            return model.model_validate(value)
        except ValidationError as exc:
            errors = [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            raise RequestValidationError(errors) from None

    return Depends(validated_body)


def request_body_openapi(model: type[BaseModel]) -> dict[str, Any]:
    """The route's `openapi_extra` for a `json_body(model)` body: required, JSON, `model`."""
    _BODY_MODELS.add(model)
    schema = {"$ref": _COMPONENTS.format(model=model.__name__)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def document_bodies(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the schemas of `json_body` models (and the models they nest) to the components."""
    if not _BODY_MODELS:
        return openapi
    models = sorted(_BODY_MODELS, key=lambda m: m.__name__)
    _keys, schemas = models_json_schema(
        [(model, "validation") for model in models], ref_template=_COMPONENTS
    )
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in schemas.get("$defs", {}).items():
        components.setdefault(name, schema)
    return openapi
