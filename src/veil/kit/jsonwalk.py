"""Walking nested JSON values: limits on depth and size, and structural rewriting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from veil.errors import ValidationFailed

MAX_DEPTH = 16
MAX_PROPERTIES_BYTES = 256 * 1024
MAX_STRING = 64 * 1024
MAX_KEY = 256
# JSON numbers beyond this are rejected: both databases and most clients lose precision.
MAX_SAFE_INT = 2**63 - 1
_INF = float("inf")
# Digits to "0", every other byte to " ": a run of 19 digits becomes a substring search (in C,
# ~1 ms per MiB of body) instead of a regular expression that starts a match at every digit
# (~8 ms per MiB).
_DIGIT_RUNS = bytes.maketrans(
    bytes(range(256)), bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
)
_NINETEEN_DIGITS = b"0" * 19


def has_big_integer(text: bytes) -> bool:
    """Whether JSON text holds a run of 19 or more digits: an integer orjson may read as a
    float (beyond 64 bits), where the edges parse with the stdlib instead."""
    return _NINETEEN_DIGITS in text.translate(_DIGIT_RUNS)


def check_properties(value: Any, *, field: str = "properties") -> dict[str, Any]:
    """A JSON object within Veil's limits (depth, size, string length, integer range)."""
    properties_json(value, field=field)
    return {} if value is None else value


def properties_json(value: Any, *, field: str = "properties") -> str:
    """`check_properties`, answering the object's JSON text: the serialisation the size limit
    is measured on, and exactly what `veil.db.json_dumps` would store (string keys and 64-bit
    integers only, which the checks guarantee), so a bulk insert can store it as it is."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise ValidationFailed(f"{field} must be a JSON object.")
    try:
        _check(value, 1)
    except _Refusal as refusal:
        path = field + "".join(reversed(refusal.where))
        raise ValidationFailed(f"{path} {refusal.reason}") from None
    text = orjson.dumps(value)
    if len(text) > MAX_PROPERTIES_BYTES:
        raise ValidationFailed(f"{field} is larger than {MAX_PROPERTIES_BYTES // 1024} KiB.")
    return text.decode()


class _Refusal(Exception):
    """Why a value deep inside is refused; its path (`where`, innermost step first) is put
    together on the way out, so an accepted value costs no path strings at all."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.where: list[str] = []


def _check(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _Refusal(f"is nested deeper than {MAX_DEPTH} levels.")
    if isinstance(value, dict):
        _check_items(value.items(), depth, keyed=True)
    elif isinstance(value, list):
        _check_items(enumerate(value), depth, keyed=False)
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            raise _Refusal(f"is a string longer than {MAX_STRING} characters.")
        if "\x00" in value:
            raise _Refusal("contains a NUL character.")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > MAX_SAFE_INT:
            raise _Refusal("is a number out of range.")
    elif isinstance(value, float):
        if value != value or value in (_INF, -_INF):
            raise _Refusal("is not a finite number.")
    else:
        raise _Refusal("has a value that is not JSON.")


def _check_items(pairs: Iterable[tuple[Any, Any]], depth: int, *, keyed: bool) -> None:
    """The items of a container at `depth`: its keys here, each value by `_check`, except the
    plain leaves `_check` certainly accepts (most of them), which are passed without a call."""
    shortcut = depth < MAX_DEPTH  # items one level down are within the depth limit
    for name, item in pairs:
        if keyed:
            if not isinstance(name, str):
                raise _Refusal("has a non-string key.")
            if len(name) > MAX_KEY:
                raise _Refusal(f"has a key longer than {MAX_KEY} characters.")
            if "\x00" in name:
                raise _Refusal("has a key with a NUL character.")
        if shortcut:
            kind = type(item)
            if kind is str:
                if len(item) <= MAX_STRING and "\x00" not in item:
                    continue
            elif kind is int:
                if -MAX_SAFE_INT <= item <= MAX_SAFE_INT:
                    continue
            elif item is None or kind is bool:
                continue
        try:
            _check(item, depth + 1)
        except _Refusal as refusal:
            refusal.where.append(f".{name}" if keyed else f"[{name}]")
            raise


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
