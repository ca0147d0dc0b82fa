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
_INF = float("inf")


def check_properties(value: Any, *, field: str = "properties") -> dict[str, Any]:
    """A JSON object within Veil's limits (depth, size, string length, integer range)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object.")
    try:
        encoded: bytes | None = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: the walk below names the reason (or re-raises)
        encoded = None
    # orjson writes every NUL of a key or string as \u0000: where that text is absent (nearly
    # always) the quick walk, which builds no paths, is enough; anything it is unsure of, and
    # every refusal, is decided by the full walk, whose message names the place.
    if encoded is None or b"\\u0000" in encoded or not _within_limits(value, 1):
        _check(value, field, 1)
        if encoded is None:
            encoded = orjson.dumps(value)
    size = len(encoded)
    if size > MAX_PROPERTIES_BYTES:
        raise ValidationFailed(f"{field} is larger than {MAX_PROPERTIES_BYTES // 1024} KiB.")
    return value


def _within_limits(container: dict[str, Any] | list[Any], depth: int) -> bool:
    """True when `_check` certainly accepts this container at `depth` (NUL characters aside).

    Exact types only (a subclass of str, int or dict goes to `_check`); False means "ask
    `_check`", not "refused".
    """
    if depth >= MAX_DEPTH and container:
        return False  # its items would be nested deeper than MAX_DEPTH
    if type(container) is dict:
        for key in container:
            if type(key) is not str or len(key) > 256:
                return False
        items: Any = container.values()
    else:
        items = container
    for item in items:
        kind = type(item)
        if kind is str:
            if len(item) > MAX_STRING:
                return False
        elif kind is dict or kind is list:
            if not _within_limits(item, depth + 1):
                return False
        elif kind is int:
            if item > MAX_SAFE_INT or item < -MAX_SAFE_INT:
                return False
        elif kind is float:
            if item != item or item == _INF or item == -_INF:
                return False
        elif item is not None and kind is not bool:
            return False
    return True


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
