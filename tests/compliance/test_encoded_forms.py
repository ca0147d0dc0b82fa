"""The subject's values in the forms they travel in (SPEC §5.3): in any letter case,
percent-encoded once or twice, with `+` or `%20` for spaces, in strings at any depth and inside
URLs and query strings. Scrubbing removes every form and verification then passes; a form
planted after the scrub makes verification fail.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import unquote, unquote_plus

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compliance.test_scrubber import (
    URL_ENCODINGS,
    in_a_url,
    subjects,
    url_encoded_forms,
    walk,
)
from veil.compliance.deletions.forms import decoded_forms
from veil.compliance.deletions.scrubber import Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import REDACTED, PiiKeys

ADA = Subject(
    emails=("ada.lovelace@example.com",),
    phones=("+14155550132",),
    first_name="Ada",
    last_name="Lovelace",
)

SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def scrubber_for(subject: Subject) -> Scrubber:
    return Scrubber(PiiKeys(), SubjectMatcher(subject))


def values_of(subject: Subject) -> list[str]:
    full = f"{subject.first_name} {subject.last_name}"
    return [subject.emails[0], full, f"{subject.last_name}, {subject.first_name}"]


@st.composite
def hidden(draw: st.DrawFn, subject: Subject) -> str:
    """One of the subject's values, encoded and placed in a URL or a plain string."""
    value = draw(st.sampled_from(values_of(subject)))
    around = draw(st.sampled_from(["", "see ", "link: "]))
    return around + draw(in_a_url(draw(url_encoded_forms(value))))


@st.composite
def payloads(draw: st.DrawFn, subject: Subject) -> Any:
    """A nested payload (non-PII keys only) with encoded values hidden at random depths."""
    plain = st.one_of(
        st.integers(0, 999), st.sampled_from(["TENT-2P", "EUR", "/p/tent?ref=mail", "a+b%20c"])
    )
    leaves = st.one_of(plain, hidden(subject))
    keys = st.sampled_from(["url", "page", "note", "context", "items", "landing_site", "query"])
    return draw(
        st.dictionaries(
            keys,
            st.recursive(
                leaves,
                lambda children: st.one_of(
                    st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
                ),
                max_leaves=8,
            ),
            min_size=1,
            max_size=4,
        )
    )


def fully_decoded(text: str) -> str:
    """An independent reading: every level of encoding undone, `+` as a space, any case."""
    for _ in range(3):
        text = unquote_plus(text)
        text = html.unescape(text)
        text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return " ".join(text.casefold().split())


def reveals(text: str, subject: Subject) -> bool:
    plain = fully_decoded(text)
    first, last = (n.casefold() for n in (subject.first_name or "", subject.last_name or ""))
    return any(
        needle in plain
        for needle in (subject.emails[0].casefold(), f"{first} {last}", f"{last}, {first}")
    )


@SETTINGS
@given(st.data())
def test_every_encoded_form_is_scrubbed_and_verification_then_passes(data: st.DataObject) -> None:
    subject = data.draw(st.one_of(st.just(ADA), subjects()))
    scrubber = scrubber_for(subject)
    doc = data.draw(payloads(subject))
    scrubbed = scrubber.scrub(doc)
    for kind, item in walk(scrubbed):
        if isinstance(item, str):
            assert not reveals(item, subject), item
    assert scrubber.residue(scrubbed) == []  # verification passes


@SETTINGS
@given(st.data())
def test_a_form_planted_after_the_scrub_fails_verification(data: st.DataObject) -> None:
    subject = data.draw(st.one_of(st.just(ADA), subjects()))
    scrubber = scrubber_for(subject)
    scrubbed = scrubber.scrub(data.draw(payloads(subject)))
    planted = data.draw(hidden(subject))
    where = data.draw(st.sampled_from(["top", "nested", "list"]))
    if where == "top":
        dirty = {**scrubbed, "planted": planted}
    elif where == "nested":
        dirty = {**scrubbed, "context": {"page": {"url": planted}}}
    else:
        dirty = {**scrubbed, "items": [{"sku": "T"}, [planted]]}
    assert scrubber.residue(dirty) != []  # verification fails
    assert scrubber.residue(scrubber.scrub(dirty)) == []


@pytest.mark.parametrize(
    "text",
    [
        "https://shop.example/?name=Ada+Lovelace",
        "https://shop.example/?name=Ada%20Lovelace",
        "https://shop.example/?name=ada%2520lovelace",
        "https://shop.example/?name=ADA%2BLOVELACE",
        "https://shop.example/?n=Lovelace%2C+Ada",
        "https://shop.example/?e=ada.lovelace%40example.com",
        "https://shop.example/?e=ada.lovelace%2540example.com",
        "https://shop.example/?e=ADA.LOVELACE%2540EXAMPLE.COM",
        "mailto%3Aada.lovelace%40example.com",
        "tel%3A%2B1-415-555-0132",
        "phone=%2B1+415+555+0132",
        '{"buyer": "Ada\\u0020Lovelace"}',  # a JSON document kept in a string
        '{"to":"ada.lovelace\\u0040example.com","url":"https:\\/\\/shop.example\\/"}',
        "<p>Dear Ada&nbsp;Lovelace,</p>",  # a stored e-mail body
        "ada.lovelace&#64;example.com",
        "ada.lovelace&#x40;example.com",
        "https://shop.example/?to=ada.lovelace%26%2364%3Bexample.com",
        "%2B1&#32;415&#32;555&#32;0132",
    ],
)
def test_the_findings_forms_are_recognised(text: str) -> None:
    doc = {"page": {"url": text}, "sku": "TENT-2P"}
    assert scrubber_for(ADA).scrub(doc) == {"page": {"url": REDACTED}, "sku": "TENT-2P"}


@pytest.mark.parametrize(
    "text",
    [
        "Ada+compiler+manual",  # a first name alone is still not searched in free text
        "https://shop.example/?q=lovelace+bridge",
        "https://shop.example/?q=Adalovelace",
        "YWRhLmxvdmVsYWNlQGV4YW1wbGUuY29t",  # base64: documented as not matched
        "ada.lovelace%252540example.com",  # encoded three times: documented as not matched
        "ada.lovelace&amp;amp;#64;example.com",  # three layers (HTML escaped 3 times): not matched
        "\\ud800Ada Lovelac\\u0065x",  # a lone surrogate; "Lovelacex" is another word
    ],
)
def test_what_is_not_the_subject_in_any_form_stays(text: str) -> None:
    doc = {"url": text}
    assert scrubber_for(ADA).scrub(doc) is doc


ZOE = Subject(emails=("zoe.muller@bücher.de",), phones=(), first_name="Zoë", last_name="Müller")


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"note": "gift for Zoë Müller"}),  # ensure_ascii: "Zo\\u00eb M\\u00fcller"
        json.dumps({"customer": {"email": "zoe.muller@bücher.de"}}),
        json.dumps(json.dumps({"name": "Zoë Müller"})),  # stringified twice
        "<p>Dear Zo&euml; M&uuml;ller</p>",
        "Zo&#235; M&#xfc;ller",
        "Zo%5Cu00eb+M%5Cu00fcller",
    ],
)
def test_escaped_accents_are_recognised(text: str) -> None:
    """Accented names and internationalised emails inside stringified JSON or HTML: the forms
    in which a non-ASCII value travels once an encoder escapes it."""
    doc = {"raw": text, "sku": "MUG-1"}
    scrubber = scrubber_for(ZOE)
    assert scrubber.residue(doc) != []  # verification would find it
    assert scrubber.scrub(doc) == {"raw": REDACTED, "sku": "MUG-1"}


def test_decoded_forms_cover_each_documented_encoding() -> None:
    value = "Ada Lovelace <ada@example.com>"
    for name, encode in URL_ENCODINGS.items():
        encoded = encode(value)
        forms = [encoded, *decoded_forms(encoded)]
        assert any(value.casefold() == f.casefold() for f in forms), name
    assert decoded_forms("plain text") == []
    assert unquote("%2540") == "%40"  # one level of decoding alone would not do
