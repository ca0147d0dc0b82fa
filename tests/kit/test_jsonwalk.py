"""check_properties walks once, without building paths (they are put together only for a
refusal), and passes plain leaves without a call: its answers must be exactly those of the
straightforward walk it replaced — the same value accepted, the same error message otherwise."""

from __future__ import annotations

import enum
import random
import re
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from veil.errors import ValidationFailed
from veil.kit import jsonwalk
from veil.kit.jsonwalk import MAX_DEPTH, MAX_PROPERTIES_BYTES, MAX_SAFE_INT, MAX_STRING


# The walk as it was (b6e6063), a path string built at every step: the specification.
def _full_walk(value: Any, path: str, depth: int) -> None:
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
            _full_walk(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _full_walk(item, f"{path}[{index}]", depth + 1)
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


def reference(value: Any, field: str = "properties") -> tuple[str, str]:
    """What the straightforward walk answers (check_properties before it was made faster)."""
    try:
        if not isinstance(value, dict):
            raise ValidationFailed(f"{field} must be a JSON object.")
        _full_walk(value, field, 1)
        if len(orjson.dumps(value)) > MAX_PROPERTIES_BYTES:
            raise ValidationFailed(f"{field} is larger than {MAX_PROPERTIES_BYTES // 1024} KiB.")
    except ValidationFailed as exc:
        return ("refused", exc.message)
    except TypeError as exc:
        return ("TypeError", type(exc).__name__)
    return ("ok", "")


def answer(value: Any, field: str = "properties") -> tuple[str, str]:
    try:
        assert jsonwalk.check_properties(value, field=field) is value
    except ValidationFailed as exc:
        return ("refused", exc.message)
    except TypeError as exc:
        return ("TypeError", type(exc).__name__)
    return ("ok", "")


def nested(depth: int, leaf: Any = 1) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": leaf}
    for _ in range(depth - 1):
        value = {"n": value}
    return value


class Colour(enum.IntEnum):
    RED = 1


class Name(str):
    pass


CASES: list[Any] = [
    {},
    {"a": "b", "n": [1, 2.5, True, None, {"x": []}]},
    nested(MAX_DEPTH),
    nested(MAX_DEPTH + 1),
    nested(MAX_DEPTH, leaf={}),
    nested(MAX_DEPTH, leaf=[]),
    nested(MAX_DEPTH - 1, leaf=[[]]),
    nested(MAX_DEPTH - 1, leaf=[[1]]),
    {"list": [[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]},
    {"k" * 256: 1},
    {"k" * 257: 1},
    {"pad": "x" * MAX_STRING},
    {"pad": "x" * (MAX_STRING + 1)},
    {"pad": ["x" * (MAX_STRING + 1)]},
    {"big": MAX_SAFE_INT, "small": -MAX_SAFE_INT},
    {"big": MAX_SAFE_INT + 1},
    {"small": -MAX_SAFE_INT - 1},
    {"big": 2**64},
    {"big": 10**30},
    {"f": float("nan")},
    {"f": [float("inf")]},
    {"f": -float("inf")},
    {"k\x00": 1},
    {"k": "v\x00"},
    {"k": ["fine", {"deeper": "v\x00"}]},
    {"k": "looks like \\u0000 but is not"},
    {"k\\u0000": "neither is this key"},
    {1: "non-string key"},
    {"k": {2: "nested non-string key"}},
    {"k": (1, 2)},
    {"k": {1, 2}},
    {"k": datetime(2026, 1, 1, tzinfo=UTC)},
    {"k": b"bytes"},
    {"k": Colour.RED},
    {"k": Name("a str subclass")},
    {Name("key subclass"): 1},
    {"k": "\ud800"},  # an unpaired surrogate: orjson refuses it, the walk does not
    {f"p{i}": "x" * 60_000 for i in range(MAX_PROPERTIES_BYTES // 60_000 + 1)},
    [],
    "text",
]


@pytest.mark.parametrize("value", CASES)
def test_the_walk_answers_as_the_straightforward_walk(value: Any) -> None:
    assert answer(value) == reference(value)


def test_none_is_an_empty_object() -> None:
    assert jsonwalk.check_properties(None) == {}


def _random_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth < MAX_DEPTH + 2 and roll < 0.25:
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(rng.randrange(4))}
    if depth < MAX_DEPTH + 2 and roll < 0.4:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return rng.choice(
        [
            "plain",
            "ünïcödé ✓",
            "nul\x00inside",
            "x" * (MAX_STRING + rng.choice((0, 1))),
            MAX_SAFE_INT + rng.choice((0, 1)),
            -MAX_SAFE_INT - rng.choice((0, 1)),
            rng.randrange(-1000, 1000),
            rng.random(),
            float("nan"),
            True,
            None,
        ]
    )


def _random_key(rng: random.Random) -> Any:
    return rng.choice(["a", "b", "key", "k" * 256, "k" * 257, "n\x00l", "ñ", 7])


def test_random_documents_get_the_same_answers() -> None:
    rng = random.Random(7)
    outcomes: set[str] = set()
    for _ in range(3000):
        value = {_random_key(rng): _random_value(rng, 2) for _ in range(rng.randrange(1, 4))}
        expected = reference(value)
        assert answer(value) == expected, value
        outcomes.add(expected[0] + ":" + expected[1].split(" ", 1)[-1][:20])
    # The generator reaches acceptance and several kinds of refusal.
    assert len(outcomes) >= 6, outcomes


# -- has_big_integer: a byte translation and a substring search, equal to the regex it replaced


@given(st.binary(max_size=80) | st.lists(st.sampled_from(list(b"0123456789 -.e,x\xff"))).map(bytes))
def test_has_big_integer_finds_exactly_the_runs_of_nineteen_digits(text: bytes) -> None:
    assert jsonwalk.has_big_integer(text) is bool(re.search(rb"[0-9]{19}", text))


def test_has_big_integer_at_the_boundary() -> None:
    assert not jsonwalk.has_big_integer(b'{"n": 9223372036854775807}'[:-3] + b"}")  # 18 digits
    assert jsonwalk.has_big_integer(b'{"n": 9223372036854775807}')  # 19
    assert jsonwalk.has_big_integer(b'{"s": "x1234567890123456789"}')  # inside a string too
    assert not jsonwalk.has_big_integer(b"123456789 1234567890")  # two runs, none long enough
    full_width = "１２３４５６７８９０１２３４５６７８９".encode()
    assert not jsonwalk.has_big_integer(full_width)  # digits, but not ASCII ones
