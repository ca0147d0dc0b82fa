"""The OpenAPI document made usable by clients: stable operationIds (the endpoint function's
name), security schemes per route family, and an example on every request and response schema.

Examples come from the schemas themselves (types, formats, enums, defaults) with realistic
values for Veil's field names, so a new schema gets one without anyone writing it by hand.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "A workspace API key (`veil_sk_…`) with the admin or member role.",
    },
    "WriteKey": {
        "type": "http",
        "scheme": "basic",
        "description": "Segment-style: the workspace write key (`veil_wk_…`) as the user name, "
        "an empty password.",
    },
    "ShopifyHmac": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Shopify-Hmac-Sha256",
        "description": "Base64 HMAC-SHA256 of the raw body with the workspace's webhook secret.",
    },
}

_BY_NAME: dict[str, Any] = {
    "email": "jane.doe@example.com",
    "phone": "+14155550132",
    "first_name": "Jane",
    "last_name": "Doe",
    "name": "Jane Doe",
    "external_id": "cust-1042",
    "type": "Placed Order",
    "event": "Placed Order",
    "userId": "cust-1042",
    "anonymousId": "6f1c2a9e-3b0d-4c55-9a51-0f1e2d3c4b5a",
    "messageId": "msg-7d2f0a",
    "currency": "EUR",
    "url": "https://shop.example.com/products/tent",
    "reference": "ticket-1042",
    "reason": "Identity check pending",
    "confirm": True,
    "status": "ready",
    "role": "admin",
    "subject": "Winter sale",
    "channel": "email",
    "requested_by": "admin@shop.example.com",
    "source": "api",
    "download_url": "/api/v1/compliance/exports/exp_01jd5g2m9x7q8r3t4v5w6y7z8b/download",
    "last_error": "build_failed:OperationalError",
    "code": "not_found",
    "message": "Not found.",
    "api_key": "veil_sk_3q9Zb1…",
    "admin_api_key": "veil_sk_3q9Zb1…",
    "write_key": "veil_wk_8Hc2Lm…",
    "query": "jane.doe@example.com",
    "sku": "TENT-2P",
}
# An object's own `id` takes the prefix of its schema's family (ExportRead → exp_…).
_FAMILY_IDS = {
    "Export": "export_id",
    "Deletion": "deletion_id",
    "Profile": "profile_id",
    "Campaign": "campaign_id",
    "Event": "event_id",
    "Workspace": "workspace_id",
}
_ID_PREFIXES = {
    "profile_id": "prf_01jd5g2m9x7q8r3t4v5w6y7z8a",
    "export_id": "exp_01jd5g2m9x7q8r3t4v5w6y7z8b",
    "deletion_id": "del_01jd5g2m9x7q8r3t4v5w6y7z8c",
    "campaign_id": "cmp_01jd5g2m9x7q8r3t4v5w6y7z8d",
    "workspace_id": "ws_01jd5g2m9x7q8r3t4v5w6y7z8e",
    "event_id": "evt_01jd5g2m9x7q8r3t4v5w6y7z8f",
}
_BY_FORMAT = {
    "date-time": "2026-12-06T10:15:00Z",
    "date": "2026-12-06",
    "email": "jane.doe@example.com",
    "uri": "https://shop.example.com/",
    "uuid": "6f1c2a9e-3b0d-4c55-9a51-0f1e2d3c4b5a",
}


def operation_id(route: APIRoute) -> str:
    """The endpoint's function name: stable across path changes, readable in generated clients."""
    return route.name


def describe_api(openapi: dict[str, Any]) -> dict[str, Any]:
    components = openapi.setdefault("components", {})
    components["securitySchemes"] = SECURITY_SCHEMES
    _document_the_export_file(openapi)
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    for path, operations in openapi.get("paths", {}).items():
        for operation in operations.values():
            security = _security_for(path)
            if security is not None:
                operation["security"] = security
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _add_example(media, schemas)
            for status, response in operation.get("responses", {}).items():
                # Error responses share one content object (veil.errors): give each its own.
                response["content"] = {k: dict(v) for k, v in response.get("content", {}).items()}
                for media in response["content"].values():
                    if status.isdigit() and int(status) >= 400:
                        # Every error is SPEC's shape (FastAPI's validation schema is dropped).
                        media["schema"] = {"$ref": "#/components/schemas/Error"}
                        if "example" not in media and "examples" not in media:
                            media["example"] = _error_example(response)
                    _add_example(media, schemas)
    for schema_name, schema in schemas.items():
        if "example" not in schema and "examples" not in schema:
            schema["example"] = example_of(schema, schemas, owner=schema_name)
    return openapi


_T = "2026-12-06T10:15:00Z"
_EXPORT_EXAMPLE: dict[str, Any] = {
    "format": "veil.profile-export",
    "version": 1,
    "generated_at": _T,
    "workspace": {"id": _ID_PREFIXES["workspace_id"], "name": "Acme Store"},
    "request": {
        "id": _ID_PREFIXES["export_id"],
        "requested_at": _T,
        "requested_by": "admin@shop.example.com",
    },
    "profile": {
        "id": _ID_PREFIXES["profile_id"],
        "email": "jane.doe@example.com",
        "phone": "+14155550132",
        "external_id": "cust-1042",
        "first_name": "Jane",
        "last_name": "Doe",
        "properties": {"city": "Lyon"},
        "created_at": _T,
        "updated_at": _T,
    },
    "consents": [{"channel": "email", "state": "subscribed", "source": "api", "recorded_at": _T}],
    "events": [
        {
            "id": _ID_PREFIXES["event_id"],
            "type": "Placed Order",
            "timestamp": _T,
            "source": "shopify",
            "properties": {"order_id": 1042, "total_price": "129.90"},
            "campaign_id": None,
        }
    ],
    "messages": [],
}


def _document_the_export_file(openapi: dict[str, Any]) -> None:
    path = openapi.get("paths", {}).get("/api/v1/compliance/exports/{export_id}/download", {})
    operation = path.get("get")
    if operation is None:
        return
    operation["responses"]["200"] = {
        "description": "The export document (attachment `profile-<profile id>-export.json`), "
        "valid against docs/export.schema.json (JSON Schema 2020-12).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "See docs/export.schema.json in the Veil repository.",
                    "example": _EXPORT_EXAMPLE,
                    "required": [
                        "format",
                        "version",
                        "generated_at",
                        "workspace",
                        "request",
                        "profile",
                        "consents",
                        "events",
                        "messages",
                    ],
                },
            }
        },
    }


def _security_for(path: str) -> list[dict[str, list[str]]] | None:
    if path.startswith("/api/"):
        return [{"ApiKey": []}]
    if path.startswith("/v1/"):
        return [{"WriteKey": []}]
    if path.startswith("/integrations/shopify/"):
        return [{"ShopifyHmac": []}]
    return None  # tracking links and pixels: public, authenticated by their signature


def _error_example(response: dict[str, Any]) -> dict[str, Any]:
    """The error code each documented status names first in its description."""
    description = str(response.get("description", "error"))
    words = description.split(":")[0].split()
    code = words[0] if words else "error"
    if not code.replace("_", "").isalpha() or not code.islower():
        code = "error"
    return {"error": {"code": code, "message": "A sentence saying what went wrong."}}


def _add_example(media: dict[str, Any], schemas: dict[str, Any]) -> None:
    schema = media.get("schema")
    if isinstance(schema, dict) and "example" not in media and "examples" not in media:
        media["example"] = example_of(schema, schemas)


def example_of(
    schema: dict[str, Any], schemas: dict[str, Any], name: str = "", depth: int = 0, owner: str = ""
) -> Any:
    if depth > 6:
        return None
    for key in ("example", "default", "const"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if "examples" in schema and isinstance(schema["examples"], list) and schema["examples"]:
        return schema["examples"][0]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = ref.rsplit("/", 1)[-1]
        return example_of(schemas.get(target, {}), schemas, name, depth + 1, owner=target)
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return example_of(options[0], schemas, name, depth + 1, owner)
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {
            prop: example_of(sub, schemas, prop, depth + 1, owner)
            for prop, sub in properties.items()
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), schemas, name, depth + 1)]
    if kind == "string":
        return _string_example(schema, name, owner)
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return 59.95
    if kind == "boolean":
        return True
    return None


def _string_example(schema: dict[str, Any], name: str, owner: str) -> str:
    if name == "id":
        family = next((f for f in _FAMILY_IDS if owner.startswith(f)), None)
        if family:
            name = _FAMILY_IDS[family]
    if name in _ID_PREFIXES:
        return str(_ID_PREFIXES[name])
    if name in _BY_NAME and isinstance(_BY_NAME[name], str):
        return str(_BY_NAME[name])
    fmt = schema.get("format")
    if fmt in _BY_FORMAT:
        return _BY_FORMAT[fmt]
    if name.endswith("_at"):
        return _BY_FORMAT["date-time"]
    if name == "id" or name.endswith("_id"):
        return "key_01jd5g2m9x7q8r3t4v5w6y7z8g"
    return str(schema.get("title") or name or "text").lower().replace(" ", "-")
