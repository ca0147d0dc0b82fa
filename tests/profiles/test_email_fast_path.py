"""normalize_email answers everyday ASCII addresses without email-validator: each answer must
be exactly the library's (accepted, and the same canonical text), or the fast path must decline.

Checked on addresses built to look plain (upper case, dots, plus tags, hyphens, long labels,
reserved and Punycode domains near the edge of the pattern) and on arbitrary text from the
alphabet addresses are made of."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError
from hypothesis import given, settings
from hypothesis import strategies as st

from veil.errors import ValidationFailed
from veil.profiles import identifiers
from veil.profiles.identifiers import normalize_email


def _library(text: str) -> str | None:
    """What normalize_email answered before the fast path: email-validator's canonical form."""
    try:
        checked = identifiers._validated(text)
    except EmailNotValidError:
        return None
    return f"{checked.local_part}@{checked.domain}".lower()


def _agrees(text: str) -> None:
    fast = identifiers._plain_email(text)
    if fast is not None:
        assert _library(text) == fast, text
    expected = _library(text.strip()) if text.strip() else None
    try:
        got = normalize_email(text)
    except ValidationFailed:
        got = None
    if text.strip() and len(text.strip()) <= identifiers.MAX_EMAIL and "\x00" not in text:
        assert got == expected, text


_LOCAL = st.text(alphabet="abcXYZ019._+-%!'", min_size=1, max_size=70)
_LABEL = st.text(alphabet="abcXYZ09-_", min_size=0, max_size=66) | st.sampled_from(
    ["xn--bcher-kva", "XN--BCHER-KVA", "ab--cd", "a" * 63, "a" * 64, "-a", "a-", "1"]
)
_TLD = st.sampled_from(
    [
        "com",
        "COM",
        "de",
        "io",
        "test",
        "local",
        "localhost",
        "invalid",
        "onion",
        "arpa",
        "a",
        "c0m",
        "123",
        "x" * 63,
        "x" * 64,
        "example",
        "",
    ]
)


@settings(max_examples=3000)
@given(_LOCAL, st.lists(_LABEL, min_size=0, max_size=5), _TLD)
def test_addresses_that_look_plain(local: str, labels: list[str], tld: str) -> None:
    _agrees(f"{local}@{'.'.join([*labels, tld])}")


@settings(max_examples=3000)
@given(
    st.from_regex(
        r"\A[a-zA-Z0-9_+-]{1,30}(\.[a-zA-Z0-9_+-]{1,30}){0,2}@([a-zA-Z0-9-]{1,64}\.){1,4}"
        r"(com|Com|de|test|local|onion|x|[a-zA-Z]{2,64})\Z"
    )
)
def test_generated_plain_addresses(text: str) -> None:
    _agrees(text)


@settings(max_examples=3000)
@given(st.text(alphabet="aZ0.@-_+ \tüx", max_size=40))
def test_arbitrary_text_of_address_characters(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize(
    "text",
    [
        "Ada.Lovelace+news@Example-Shop.COM",
        " ada@example.com\n",
        "ada@mail.example.test",
        "ada@x.local",
        "ada@xn--bcher-kva.de",
        "a" * 64 + "@example.com",
        "a" * 65 + "@example.com",
        "ada@" + ".".join(["a" * 63] * 4) + ".com",
        "ada@" + "a" * 63 + "." + "b" * 63 + "." + "c" * 63 + "." + "d" * 58 + ".com",
        "ada..b@example.com",
        ".ada@example.com",
        "ada@-example.com",
        "ada@example.c",
        "ada@example.c0m",
    ],
)
def test_edges(text: str) -> None:
    _agrees(text)


def test_the_fast_path_answers_everyday_addresses() -> None:
    """Otherwise the property tests above would pass with a fast path that never answers."""
    assert identifiers._plain_email("Ada.Lovelace+news@Example-Shop.COM") == (
        "ada.lovelace+news@example-shop.com"
    )
    assert identifiers._plain_email("ada@bücher.de") is None
    assert identifiers._plain_email("ada@xn--bcher-kva.de") is None
    assert identifiers._plain_email("ada@shop.local") is None
