"""Walking nested JSON values: limits on depth and size, and structural rewriting."""

from __future__ import annotations

from typing import Any

import orjson

from veil.errors import ValidationFailed

MAX_DEPTH = 16
MAX_PROPERTIES_BYTES = 256 * 1024
MAX_STRING = 64 * 1024
# JSON numbers beyond this are rejected: both databases and most clients lose precision.
MAX_SAFE_INT = 2**63 - 1


def check_properties(value: Any, *, field: str = "properties") -> dict[str, Any]:
    """A JSON object within Veil's limits (depth, size, string length, integer range)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object.")
    _check(value, field, 1)
    size = len(orjson.dumps(value))
    if size > MAX_PROPERTIES_BYTES:
        raise ValidationFailed(f"{field} is larger than {MAX_PROPERTIES_BYTES // 1024} KiB.")
    return value


def _check(value: Any, path: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ValidationFailed(f"{path} is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationFailed(f"{path} has a non-string key.")
            if len(key) > 256:
                raise ValidationFailed(f"{path} has a key longer than 256 characters.")
            if "\x00" in key:
                raise ValidationFailed(f"{path} has a key with a NUL character.")
            _check(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise ValidationFailed(f"{path} is a string longer than {MAX_STRING} characters.")
        if "\x00" in value:
            raise ValidationFailed(f"{path} contains a NUL character.")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise ValidationFailed(f"{path} is a number out of range.")
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValidationFailed(f"{path} is not a finite number.")
    else:
        raise ValidationFailed(f"{path} has a value that is not JSON.")


def find_nul(value: Any, path: str = "body") -> str | None:
    """The path of the first key or string holding a NUL character, or None.

    PostgreSQL refuses NUL in text and JSONB, SQLite cuts strings at it in places: Veil
    refuses it at the door rather than store something other than what was sent.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return f"a key of {path}"
            found = find_nul(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found:
                return found
    return None
