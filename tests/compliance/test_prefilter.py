"""The erasure's prefilter on stored JSON text: it may raise false alarms, never miss.

Property-based: arbitrary nested JSON (mostly ASCII, so the text is really read rather than
handed to the full walk) with the subject's identifiers planted as keys, strings, integers and
floats in any format, serialised the ways an event's properties can be stored (stdlib json
with and without `ensure_ascii`, compact or indented, orjson, PostgreSQL's jsonb spacing).
Whenever the prefilter says CLEAN, the scrubber must change nothing and verification must find
nothing; whenever it says KEYS, the keys-only walk must give exactly the full walk's answer.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import phonenumbers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.compliance.test_scrubber import (
    PII_KEY_WORDS,
    email_forms,
    in_a_url,
    name_forms,
    phone_forms,
    style_key,
    subjects,
    url_encoded_forms,
)
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, Subject, SubjectMatcher, Verdict
from veil.compliance.erasure_rules import REDACTED, PiiKeys

ASCII_FIRST = ["Ada", "Grace", "Mary Ann", "Li", "Jean-Luc", "Jo"]
ASCII_LAST = ["Lovelace", "Hopper", "O'Brien", "van der Berg", "Ng", "Smith"]


@st.composite
def ascii_subjects(draw: st.DrawFn) -> Subject:
    base = draw(subjects())
    first = draw(st.sampled_from([*ASCII_FIRST, None]))
    last = draw(st.sampled_from([*ASCII_LAST, None]))
    street = draw(st.sampled_from(["12 Analytical Engine Lane", "7 High St", "Flat 3"]))
    postcode = draw(st.sampled_from(["EC1A 1BB", "10001", "SW1A 2AA", "75008"]))
    ident = draw(st.sampled_from(["cust-p1234", "shopify:7001", "anon_9f8e7d6c", "ab"]))
    return Subject(
        emails=base.emails,
        phones=base.phones,
        first_name=first,
        last_name=last,
        identifiers=(ident,),
        addresses=(street, postcode),
    )


any_subject = st.one_of(ascii_subjects(), subjects())


def phone_digits(subject: Subject) -> str:
    number = phonenumbers.parse(subject.phones[0], None)
    return phonenumbers.national_significant_number(number)


@st.composite
def grouped_phones(draw: st.DrawFn, subject: Subject) -> str:
    """The phone's digits in arbitrary groups, each gap its own run of ASCII separators."""
    digits = draw(st.sampled_from([phone_digits(subject), subject.phones[0].lstrip("+")]))
    out = digits[0]
    for digit in digits[1:]:
        out += draw(st.sampled_from(["", "", "-", ".", " ", "/", "_", "(", ")", ") ", " - "]))
        out += digit
    return out


@st.composite
def encoded_identifiers(draw: st.DrawFn, subject: Subject) -> str:
    """An identifier URL-encoded (SPEC §5.3's forms), alone or inside a URL or query string."""
    values = [subject.emails[0], subject.phones[0]]
    if subject.first_name and subject.last_name:
        values += [
            f"{subject.first_name} {subject.last_name}",
            f"{subject.last_name}, {subject.first_name}",
        ]
    values += [a for a in subject.addresses if len(a) >= 5]
    return draw(in_a_url(draw(url_encoded_forms(draw(st.sampled_from(values))))))


@st.composite
def identifier_strings(draw: st.DrawFn, subject: Subject) -> str:
    kinds = ["email", "phone", "encoded"]
    if subject.first_name and subject.last_name:
        kinds.append("name")
    if subject.addresses:
        kinds.append("address")
    if subject.identifiers:
        kinds.append("ident")
    kind = draw(st.sampled_from(kinds))
    if kind == "email":
        ident = draw(email_forms(subject.emails[0]))
    elif kind == "phone":
        ident = draw(st.one_of(phone_forms(subject.phones[0]), grouped_phones(subject)))
    elif kind == "name":
        ident = draw(name_forms(subject.first_name or "", subject.last_name or ""))
    elif kind == "encoded":
        ident = draw(encoded_identifiers(subject))
    elif kind == "address":
        ident = draw(st.sampled_from(subject.addresses)).upper()
    else:
        ident = draw(st.sampled_from(subject.identifiers))
    around = st.text(alphabet="abc XYZ019:,.-/()_", max_size=6)
    return draw(around) + ident + draw(around)


@st.composite
def identifier_numbers(draw: st.DrawFn, subject: Subject) -> int | float:
    digits = draw(st.sampled_from([phone_digits(subject), subject.phones[0].lstrip("+")]))
    head = draw(st.sampled_from(["", "1", "9", "42"]))
    tail = draw(st.sampled_from(["", "0", "7", "55"]))
    whole = int(head + digits + tail)
    return draw(
        st.sampled_from(
            [
                whole,
                -whole,
                float(whole),  # prints as digits + ".0", or with an exponent when large
                whole / 10 ** len(tail) if tail else float(whole),
                float(f"{digits[:3]}.{digits[3:]}") * 10 ** (len(digits) - 3),
                float(f"{digits[:-2]}.{digits[-2:]}"),
            ]
        )
    )


ascii_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=16)
awkward_text = st.sampled_from(['say "hi"', "back\\slash", "line\nbreak", "tab\there", "café", "/"])
numbers = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=1e5, max_value=1e22),
    st.floats(min_value=-1e-3, max_value=1e-3),
)


def keys_for(subject: Subject) -> st.SearchStrategy[str]:
    pii = st.builds(style_key, st.sampled_from(PII_KEY_WORDS), st.integers(0, 5))
    plain = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ_- 019", min_size=0, max_size=10)
    return st.one_of(
        plain,
        pii,
        st.sampled_from(["name", "Name", "ipad", "shipping", "email_opt_in", "zipper"]),
        identifier_strings(subject),
    )


def docs_for(subject: Subject) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        numbers,
        ascii_text,
        awkward_text,
        identifier_strings(subject),
        identifier_numbers(subject),
    )
    return st.dictionaries(
        keys_for(subject),
        st.recursive(
            leaves,
            lambda children: st.one_of(
                st.lists(children, max_size=4),
                st.dictionaries(keys_for(subject), children, max_size=4),
            ),
            max_leaves=12,
        ),
        max_size=5,
    )


def serialisations(doc: Any) -> list[str]:
    return [
        json.dumps(doc),  # SQLAlchemy's default: \uXXXX escapes, ", " and ": "
        json.dumps(doc, ensure_ascii=False),  # raw UTF-8, PostgreSQL jsonb's spacing
        json.dumps(doc, separators=(",", ":")),
        json.dumps(doc, indent=2),
        orjson.dumps(doc).decode(),  # raw UTF-8, compact, its own float format
    ]


SETTINGS = settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def check(prefilter: Prefilter, scrubber: Scrubber, text: str) -> Verdict:
    verdict = prefilter.verdict(text)
    for doc in (json.loads(text), orjson.loads(text)):
        full = scrubber.scrub(doc)
        if verdict is Verdict.CLEAN:
            assert full is doc, text
            assert scrubber.residue(doc) == [], text
        elif verdict is Verdict.KEYS:
            assert scrubber.scrub(doc, leaves=False) == full, text
            assert scrubber.residue(doc, leaves=False) == scrubber.residue(doc), text
        # After scrubbing, whatever the verdict on the result, verification must agree.
        rewritten = json.dumps(full)
        again = prefilter.verdict(rewritten)
        if again is Verdict.CLEAN:
            assert scrubber.residue(json.loads(rewritten)) == []
    return verdict


@SETTINGS
@given(st.data())
def test_the_prefilter_never_clears_what_the_scrubber_would_change(data: st.DataObject) -> None:
    subject = data.draw(any_subject)
    extra = data.draw(st.lists(st.sampled_from(["loyaltyCard", "vat_id", "Nick"]), max_size=2))
    scrubber = Scrubber(PiiKeys.for_workspace(extra), SubjectMatcher(subject))
    prefilter = Prefilter(scrubber)  # shared by every document: its key memo must stay sound
    for doc in data.draw(st.lists(docs_for(subject), min_size=1, max_size=4)):
        for text in serialisations(doc):
            check(prefilter, scrubber, text)


plain_keys = st.text(alphabet="abcdefghklmnorstuvwyz", min_size=1, max_size=6)
plain_values = st.one_of(st.booleans(), st.integers(0, 9999), st.sampled_from(["ok", "tents", ""]))


@SETTINGS
@given(any_subject, st.data())
def test_a_single_planted_identifier_is_never_cleared(
    subject: Subject, data: st.DataObject
) -> None:
    """One identifier alone in an otherwise plain document: nothing else can raise the alarm."""
    plant = data.draw(
        st.one_of(identifier_strings(subject), identifier_numbers(subject), keys_for(subject))
    )
    doc: dict[str, Any] = data.draw(st.dictionaries(plain_keys, plain_values, max_size=4))
    where = data.draw(st.sampled_from(["value", "key", "nested", "list"]))
    if where == "value":
        doc[data.draw(plain_keys)] = plant
    elif where == "key" and isinstance(plant, str):
        doc[plant] = data.draw(plain_values)
    elif where == "nested":
        doc["outer"] = {"inner": [1, {data.draw(plain_keys): plant}]}
    else:
        doc["items"] = [data.draw(plain_values), plant]
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(subject))
    prefilter = Prefilter(scrubber)
    for text in serialisations(doc):
        check(prefilter, scrubber, text)


@SETTINGS
@given(any_subject, st.data())
def test_an_encoded_identifier_is_never_cleared(subject: Subject, data: st.DataObject) -> None:
    """Percent-encoded once or twice, `+`/`%20` for spaces, in a URL, at any depth: never CLEAN,
    and never KEYS where the leaves matter."""
    plant = data.draw(encoded_identifiers(subject))
    doc: dict[str, Any] = data.draw(st.dictionaries(plain_keys, plain_values, max_size=3))
    doc[data.draw(st.sampled_from(["url", "page", "q"]))] = data.draw(
        st.sampled_from([plant, {"context": {"page": [plant]}}, [1, plant]])
    )
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(subject))
    prefilter = Prefilter(scrubber)
    for text in serialisations(doc):
        verdict = check(prefilter, scrubber, text)
        assert scrubber.scrub(json.loads(text)) != json.loads(text), text
        assert verdict is Verdict.FULL, text


@SETTINGS
@given(ascii_subjects(), st.data())
def test_documents_of_plain_keys_and_values_are_read_not_walked(
    subject: Subject, data: st.DataObject
) -> None:
    """The fast path is really taken: plain ASCII documents come out CLEAN or KEYS."""
    doc = data.draw(st.dictionaries(plain_keys, plain_values, max_size=6))
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(subject))
    prefilter = Prefilter(scrubber)
    for text in serialisations(doc):
        verdict = check(prefilter, scrubber, text)
        assert verdict is not Verdict.FULL or scrubber.scrub(json.loads(text)) != doc, text


ADA = Subject(
    emails=("ada.lovelace@example.com",),
    phones=("+14155550132",),
    first_name="Ada",
    last_name="Lovelace",
    identifiers=("cust-7001",),
    addresses=("12 Analytical Engine Lane", "EC1A 1BB"),
)


def verdict_for(doc: Any, *, serialise: Any = json.dumps) -> Verdict:
    return Prefilter(Scrubber(PiiKeys(), SubjectMatcher(ADA))).verdict(serialise(doc))


def test_verdicts_on_typical_events() -> None:
    assert verdict_for({}) is Verdict.CLEAN
    assert verdict_for({"url": "https://shop.example/sale", "sku": "TENT-2P"}) is Verdict.CLEAN
    view = {"sku": "S", "name": "Tent", "price": 249.0, "context": {"ip": "198.51.100.7"}}
    assert verdict_for(view) is Verdict.KEYS
    assert verdict_for({"order": {"billingAddress": {"city": "London"}}}) is Verdict.KEYS
    assert verdict_for({"note": "call Ada Lovelace"}) is Verdict.FULL
    assert verdict_for({"note": "mail ADA.LOVELACE@EXAMPLE.COM"}) is Verdict.FULL
    assert verdict_for({"note": "ring (415) 555-0132"}) is Verdict.FULL
    assert verdict_for({"ref": 14155550132}) is Verdict.FULL
    assert verdict_for({"postcode_seen": "ec1a 1bb"}) is Verdict.FULL
    assert verdict_for({"url": "/?n=Ada+Lovelace"}) is Verdict.FULL
    assert verdict_for({"url": "/?n=ada%2520lovelace"}) is Verdict.FULL
    assert verdict_for({"url": "/?e=ADA.LOVELACE%2540EXAMPLE.COM"}) is Verdict.FULL
    assert verdict_for({"url": "/?n=Ada%C3%A9"}) is Verdict.FULL  # decodes to non-ASCII
    assert verdict_for({"url": "/?q=tents+2p%20sale", "at": "+00:00"}) is Verdict.CLEAN
    assert verdict_for(None, serialise=lambda _: None) is Verdict.CLEAN


def test_texts_it_cannot_read_safely_are_walked() -> None:
    assert verdict_for({"note": "caf\u00e9"}) is Verdict.FULL  # \u00e9 escape
    assert verdict_for({"note": "caf\u00e9"}, serialise=orjson.dumps) is Verdict.FULL
    assert verdict_for({"note": 'say "hi"'}) is Verdict.FULL
    assert verdict_for([1, 2]) is Verdict.FULL  # not an object
    # A float whose printed digits the text does not show, either way round.
    assert verdict_for({"x": 4.4e12}, serialise=lambda d: '{"x": 4.4e12}') is Verdict.FULL
    assert verdict_for({}, serialise=lambda _: '{"x": 4155550131.99999999}') is Verdict.FULL
    assert verdict_for({"total": 12.5, "qty": 3}) is Verdict.CLEAN


# -- the walk's own shortcuts ---------------------------------------------------------------


@SETTINGS
@given(any_subject, st.data())
def test_integers_are_judged_as_their_digit_runs(subject: Subject, data: st.DataObject) -> None:
    matcher = SubjectMatcher(subject)
    value = data.draw(st.one_of(st.integers(), identifier_numbers(subject).filter(_is_int)))
    assert matcher.in_number(value) == matcher._contains_phone_digits(str(value))


def _is_int(value: object) -> bool:
    return type(value) is int


def test_objects_of_one_shape_share_their_personal_keys() -> None:
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(ADA))
    items = [{"name": "Tent", "sku": "T1"}, {"name": "Mug", "sku": "M2"}]
    people = [{"name": "Ada", "email": "a@x"}, {"name": "Bob", "email": "b@x"}]
    assert scrubber.scrub(items) is items
    assert scrubber.scrub(people) == [{}, {}]
    assert scrubber.personal_keys_of(items[1]) == frozenset()
    assert scrubber.personal_keys_of(people[1]) == {"name", "email"}
    assert scrubber.residue(people) == ["$[0].<key>", "$[0].<key>", "$[1].<key>", "$[1].<key>"]


def test_strings_without_letters_spell_no_key_unless_the_workspace_has_such_a_key() -> None:
    doc = '{"ref": "12-34", "n": 5}'
    assert Prefilter(Scrubber(PiiKeys(), SubjectMatcher(ADA))).verdict(doc) is Verdict.CLEAN
    odd = Scrubber(PiiKeys.for_workspace(["12_34"]), SubjectMatcher(ADA))
    assert odd.scrub({"12-34": 1, "n": 5}) == {"n": 5}
    assert Prefilter(odd).verdict('{"12-34": 1, "n": 5}') is Verdict.KEYS


def test_a_repeated_text_gets_the_same_verdict() -> None:
    prefilter = Prefilter(Scrubber(PiiKeys(), SubjectMatcher(ADA)))
    texts = ['{"sku": "T1"}', '{"ip": "1.2.3.4"}', '{"note": "Ada Lovelace"}']
    first = [prefilter.verdict(t) for t in texts]
    assert first == [Verdict.CLEAN, Verdict.KEYS, Verdict.FULL]
    assert [prefilter.verdict(t) for t in texts] == first


def reference_scrub(scrubber: Scrubber, value: Any) -> Any:
    """The rules of `Scrubber.scrub` written plainly, without its memos and shortcuts."""
    keys, matcher = scrubber.keys, scrubber.matcher
    if isinstance(value, dict):
        context = any(keys.matches(k) for k in value)
        return {
            k: reference_scrub(scrubber, v)
            for k, v in value.items()
            if not (keys.matches(k) or (context and keys.is_contextual_name(k)))
            and not matcher.in_text(k)
        }
    if isinstance(value, list):
        return [reference_scrub(scrubber, v) for v in value]
    if isinstance(value, str):
        return REDACTED if matcher.in_text(value) else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED if matcher._contains_phone_digits(str(value)) else value
    return value


@SETTINGS
@given(any_subject, st.data())
def test_the_walk_applies_exactly_the_rules(subject: Subject, data: st.DataObject) -> None:
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(subject))
    for doc in data.draw(st.lists(docs_for(subject), min_size=1, max_size=3)):
        assert scrubber.scrub(doc) == reference_scrub(scrubber, doc)
