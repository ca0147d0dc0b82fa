"""One error base class carrying code, message and HTTP status; one renderer for SPEC's shape.

Services raise these; endpoints never build error responses themselves. Messages are human
sentences and never contain personal data (no emails, phones or names of data subjects).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class VeilError(Exception):
    code = "error"
    status = 400
    message = "Something went wrong."

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.headers = headers


class BadRequest(VeilError):
    """A body that cannot be read at all (not JSON, broken gzip); 422 is for bodies that can."""

    code, status, message = "bad_request", 400, "The request body cannot be read."


class Unauthorized(VeilError):
    code, status, message = "unauthorized", 401, "Missing or invalid credentials."


class Forbidden(VeilError):
    code, status, message = "forbidden", 403, "Your role does not allow this action."


class NotFound(VeilError):
    code, status, message = "not_found", 404, "Not found."


class AlreadyRequested(VeilError):
    code, status = "already_requested", 409
    message = (
        "Already requested for this customer. "
        "Download the file from Settings → Compliance → Downloaded."
    )


class ProfileDeleted(VeilError):
    code, status, message = "profile_deleted", 409, "This profile has been deleted."


class ExportNotReady(VeilError):
    code, status, message = "export_not_ready", 409, "The export file is not ready yet."


class ExportExpired(VeilError):
    code, status = "export_expired", 410
    message = "The export file has expired and was destroyed. Request a new export."


class Conflict(VeilError):
    code, status, message = "conflict", 409, "The request conflicts with the current state."


class IdentifierConflict(VeilError):
    """An email, phone or external id that another active profile holds (SPEC §2, §9)."""

    code, status = "identifier_conflict", 409
    message = "These identifiers belong to two different profiles."


class PayloadTooLarge(VeilError):
    code, status, message = "payload_too_large", 413, "The request body is too large."


class UnsupportedMediaType(VeilError):
    code, status, message = "unsupported_media_type", 415, "This content encoding is not supported."


class NotAContact(VeilError):
    code, status = "not_a_contact", 422
    message = "Only contacts (profiles with an email or a phone number) can be exported."


class ConfirmationRequired(VeilError):
    code, status = "confirmation_required", 422
    message = 'Deleting a profile cannot be undone; send {"confirm": true} to confirm.'


class ValidationFailed(VeilError):
    code, status, message = "validation_error", 422, "The request is not valid."


class IdempotencyConflict(VeilError):
    code, status = "idempotency_conflict", 409
    message = "This Idempotency-Key was already used with a different request body."


class NotCancellable(VeilError):
    code, status = "not_cancellable", 409
    message = "Only a pending privacy request (no step started yet) can be cancelled."


class AlreadyExtended(VeilError):
    code, status = "already_extended", 409
    message = "This privacy request's deadline has already been extended once."


class NotExtendable(VeilError):
    code, status = "not_extendable", 422
    message = "The deadline of a request under this regulation cannot be extended."


class RateLimited(VeilError):
    code, status, message = "rate_limited", 429, "Too many requests; slow down and retry later."


# Every API operation can answer these (with a body: also the size and media type refusals).
_COMMON: tuple[type[VeilError], ...] = (Unauthorized, Forbidden, NotFound, ValidationFailed)
_COMMON_WITH_BODY: tuple[type[VeilError], ...] = (PayloadTooLarge, UnsupportedMediaType)
_FASTAPI_422 = "Validation Error"  # FastAPI's own entry for its validation errors, replaced
_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}


def document_errors(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every API operation documents the errors it can answer, all in SPEC's error shape."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = _ERROR_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content_json = {"schema": {"$ref": "#/components/schemas/Error"}}
    for path, operations in openapi.get("paths", {}).items():
        if not path.startswith(("/api/", "/opendsr/")):
            # Elsewhere (the integration edges) only FastAPI's own 422 is put in Veil's words.
            for operation in operations.values():
                declared = operation.get("responses", {})
                if declared.get("422", {}).get("description") == _FASTAPI_422:
                    declared["422"] = responses(ValidationFailed)[422]
            continue
        for operation in operations.values():
            declared = operation.setdefault("responses", {})
            with_body = _COMMON_WITH_BODY if "requestBody" in operation else ()
            for status, documented in responses(*_COMMON, *with_body).items():
                current = declared.get(str(status))
                if current is None or current.get("description") == _FASTAPI_422:
                    declared[str(status)] = documented
            for status, response in declared.items():
                if status.isdigit() and int(status) >= 400:
                    # Examples declared with `responses()` stay; the schema is always ours.
                    json_content = response.get("content", {}).get("application/json", {})
                    response["content"] = {"application/json": {**json_content, **content_json}}
    return openapi


def responses(*errors: type[VeilError] | VeilError) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=` for OpenAPI, from the errors it can answer: each status with the
    codes it carries and an example body each. An instance documents a route's own message:
    `responses(NotFound, AlreadyRequested, PayloadTooLarge("The call is over 32 KB."))`."""
    declared: dict[int | str, dict[str, Any]] = {}
    for error in errors:
        entry = declared.setdefault(
            error.status, {"description": "", "content": {"application/json": {"examples": {}}}}
        )
        line = f"{error.code}: {error.message}"
        entry["description"] = f"{entry['description']}; {line}" if entry["description"] else line
        examples = entry["content"]["application/json"]["examples"]
        examples[error.code] = {"value": error_body(error.code, error.message)}
    return declared


def edge_responses(
    *, unreadable: str, unauthorized: str, too_large: str, encoding: str, invalid: str
) -> dict[int | str, dict[str, Any]]:
    """`responses()` of an integration edge (outside /api/: it reads its own raw body and checks
    its own credentials): the five refusals every edge can answer, each in that edge's words."""
    return responses(
        BadRequest(unreadable),
        Unauthorized(unauthorized),
        PayloadTooLarge(too_large),
        UnsupportedMediaType(encoding),
        ValidationFailed(invalid),
    )


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        msg = str(err.get("msg", "is invalid"))
        if err.get("type") == "json_invalid":
            return "The request body is not valid JSON."
        parts.append(f"{where}: {msg}")
    return "Invalid request: " + "; ".join(parts) + "."


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VeilError)
    async def _veil_error(_request: Request, exc: VeilError) -> JSONResponse:
        return JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            error_body("validation_error", _describe_validation(exc)), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            message = "Not found."
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        # The traceback is logged by the server; the client gets no internals.
        return JSONResponse(
            error_body("internal_error", "An unexpected error occurred; it has been logged."),
            status_code=500,
        )
