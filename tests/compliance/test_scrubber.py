"""The scrubber on its own: PII keys at any depth, identifiers in any format, nothing else touched.

Property-based (hypothesis): arbitrary nested JSON with the subject's identifiers planted in
arbitrary places and formats comes out with none of them left, and everything that was not
personal comes out exactly as it went in.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, quote_plus

import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.fixtures.factories import shopify_order
from veil.compliance.deletions.scrubber import Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import REDACTED, PiiKeys, normalize_key

ADA = Subject(
    emails=("ada.lovelace@example.com",),
    phones=("+14155550132",),
    first_name="Ada",
    last_name="Lovelace",
    identifiers=("shopify:7001",),
    addresses=("12 Analytical Engine Lane", "EC1A 1BB"),
)


def scrubber_for(subject: Subject, extra_keys: list[str] | None = None) -> Scrubber:
    return Scrubber(PiiKeys.for_workspace(extra_keys), SubjectMatcher(subject))


# -- examples: one rule each ------------------------------------------------------------------


@pytest.mark.parametrize(
    "key", ["first_name", "firstName", "FirstName", "first-name", "FIRST_NAME", "First Name"]
)
def test_key_spellings_are_one_key(key: str) -> None:
    assert normalize_key(key) == "firstname"
    assert scrubber_for(ADA).scrub({key: "Someone", "sku": "A"}) == {"sku": "A"}


@pytest.mark.parametrize(
    "key",
    [
        "email",
        "customer_email",
        "E-Mail",
        "phone",
        "billingPhone",
        "mobile_number",
        "last_name",
        "surname",
        "full_name",
        "address1",
        "address_line_2",
        "shipping_address",
        "zip",
        "zipCode",
        "postal_code",
        "ip",
        "browser_ip",
        "ipAddress",
        "latitude",
        "longitude",
        "birthday",
        "date_of_birth",
        "customer",
        "customerId",
    ],
)
def test_default_pii_keys_are_removed_at_any_depth(key: str) -> None:
    doc = {"a": [{"b": {key: {"deep": 1}, "sku": "S"}}], key: "x"}
    assert scrubber_for(Subject()).scrub(doc) == {"a": [{"b": {"sku": "S"}}]}


@pytest.mark.parametrize(
    "key", ["email_opt_in", "phone_verified", "product_name", "zipper", "shipping", "tip"]
)
def test_keys_that_merely_mention_a_pii_word_stay(key: str) -> None:
    doc = {key: True}
    assert scrubber_for(Subject()).scrub(doc) is doc


def test_workspace_pii_keys_count_in_any_spelling() -> None:
    scrubber = scrubber_for(Subject(), ["loyalty_card"])
    doc = {"loyaltyCard": "LC-1", "meta": {"Loyalty-Card": "LC-2"}, "sku": "S"}
    assert scrubber.scrub(doc) == {"meta": {}, "sku": "S"}


def test_a_bare_name_goes_next_to_personal_keys_and_stays_on_a_product() -> None:
    doc = {
        "recipient": {"name": "Someone Else", "email": "else@example.org", "city": "Paris"},
        "product": {"name": "Brass gear", "sku": "SKU-1"},
    }
    assert scrubber_for(ADA).scrub(doc) == {
        "recipient": {"city": "Paris"},
        "product": {"name": "Brass gear", "sku": "SKU-1"},
    }


@pytest.mark.parametrize(
    "text",
    [
        "mail ADA.Lovelace@Example.COM please",
        "https://shop.example.com/?e=ada.lovelace%40example.com",
        "call +14155550132",
        "call +1 415-555-0132",
        "call (415) 555-0132 ext 4",
        "call 415.555.0132",
        "call 415 555 0132",
        "tel:+1-415-555-0132",
        "call 001 415 555 0132",
        "signed: ada   LOVELACE",
        "Lovelace, Ada",
        "from Lovelace Ada with love",
        "ship to 12 analytical engine lane",
        "postcode ec1a 1bb",
        "user shopify:7001",
    ],
)
def test_strings_containing_an_identifier_are_replaced_whole(text: str) -> None:
    doc = {"note": text, "tags": ["vip", text]}
    assert scrubber_for(ADA).scrub(doc) == {"note": REDACTED, "tags": ["vip", REDACTED]}


@pytest.mark.parametrize(
    "text",
    [
        "Ada compiler manual",  # first name alone is not searched in free text
        "Lovelace Bridge tour",
        "Adalovelace Street",  # not the name as words
        "order 4155 qty 2",
        "price 55.01",
    ],
)
def test_strings_without_the_whole_identifier_stay(text: str) -> None:
    doc = {"note": text}
    assert scrubber_for(ADA).scrub(doc) is doc


def test_numbers_holding_the_phone_are_replaced_and_others_stay() -> None:
    doc = {"contact": 4155550132, "also": 14155550132, "qty": 2, "price": 59.95, "ok": True}
    assert scrubber_for(ADA).scrub(doc) == {
        "contact": REDACTED,
        "also": REDACTED,
        "qty": 2,
        "price": 59.95,
        "ok": True,
    }


def test_a_key_containing_an_identifier_loses_its_property() -> None:
    assert scrubber_for(ADA).scrub({"ada.lovelace@example.com": 3, "n": 1}) == {"n": 1}


def test_shopify_order_keeps_its_commercial_data() -> None:
    order = shopify_order(
        email="ada.lovelace@example.com", phone="(415) 555-0132", first="Ada", last="Lovelace"
    )
    scrubbed = scrubber_for(ADA).scrub(order)
    assert scrubbed == {
        "order_id": 1001,
        "currency": "EUR",
        "total_price": "129.90",
        "note": REDACTED,
        "line_items": order["line_items"],
    }
    assert scrubber_for(ADA).residue(scrubbed) == []
    assert scrubber_for(ADA).residue(order) != []


def test_a_numeric_postal_code_does_not_make_order_numbers_personal() -> None:
    # The subject lives at zip 10001; order number 10001 is not their postal code. Scrubbing
    # leaves numbers alone (only phone digits are personal in a number), and verification
    # must agree with it, or such a profile could never be verified.
    subject = Subject(emails=("ada@example.com",), addresses=("10001",))
    order = {"order_number": 10001, "zip": "10001", "note": "deliver to 10001 NY"}
    scrubbed = scrubber_for(subject).scrub(order)
    assert scrubbed == {"order_number": 10001, "note": REDACTED}
    assert scrubber_for(subject).residue(scrubbed) == []


def test_scrubbing_is_idempotent_and_returns_the_same_object_when_clean() -> None:
    scrubber = scrubber_for(ADA)
    order = shopify_order(
        email="ada.lovelace@example.com", phone="+14155550132", first="Ada", last="Lovelace"
    )
    once = scrubber.scrub(order)
    assert scrubber.scrub(once) is once


# -- property-based -----------------------------------------------------------------------------

FIRST_NAMES = ["Ada", "Grace", "José", "Zoë", "Mary Ann", "Siobhán", "Li", "Jean-Luc"]
LAST_NAMES = ["Lovelace", "Hopper", "O'Brien", "Müller", "van der Berg", "Nakamura", "Ng"]
REGIONS = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "AU", "IT", "NL"]
SEPARATORS = [" ", "-", ".", "", "  ", "/", "_", "\u00a0"]
PII_KEY_WORDS = [
    ["email"],
    ["email", "address"],
    ["phone"],
    ["phone", "number"],
    ["first", "name"],
    ["last", "name"],
    ["full", "name"],
    ["address", "1"],
    ["address", "line", "2"],
    ["shipping", "address"],
    ["zip"],
    ["zip", "code"],
    ["postal", "code"],
    ["ip"],
    ["browser", "ip"],
    ["latitude"],
    ["longitude"],
    ["birthday"],
    ["date", "of", "birth"],
    ["customer", "email"],
]


def style_key(words: list[str], style: int) -> str:
    if style == 0:
        return "_".join(words)
    if style == 1:
        return words[0] + "".join(w.capitalize() for w in words[1:])
    if style == 2:
        return "".join(w.capitalize() for w in words)
    if style == 3:
        return "-".join(words)
    if style == 4:
        return "_".join(words).upper()
    return " ".join(w.capitalize() for w in words)


@st.composite
def subjects(draw: st.DrawFn) -> Subject:
    region = draw(st.sampled_from(REGIONS))
    base = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    nsn = phonenumbers.national_significant_number(base)
    # Vary the last digits so every example is a different, still well-formed number.
    tail = draw(st.text(alphabet="0123456789", min_size=3, max_size=3))
    number = phonenumbers.parse(f"+{base.country_code}{nsn[:-3]}{tail}", None)
    local = draw(st.from_regex(r"[a-z][a-z0-9._]{1,12}[a-z0-9]", fullmatch=True))
    domain = draw(st.sampled_from(["example.com", "mail.example.org", "shop.test"]))
    return Subject(
        emails=(f"{local}@{domain}",),
        phones=(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),),
        first_name=draw(st.sampled_from(FIRST_NAMES)),
        last_name=draw(st.sampled_from(LAST_NAMES)),
    )


@st.composite
def email_forms(draw: st.DrawFn, email: str) -> str:
    cased = "".join(c.upper() if draw(st.booleans()) else c for c in email)
    return draw(st.sampled_from([cased, quote(cased, safe=""), f"mailto:{cased}"]))


def json_escaped(value: str) -> str:
    """As a JSON encoder writes it inside a string when it escapes everything but letters and
    digits (`ensure_ascii` does that to accents; some escape more)."""
    return "".join(c if c.isascii() and c.isalnum() else f"\\u{ord(c):04x}" for c in value)


def html_referenced(value: str, *, hex: bool = False) -> str:
    """With HTML character references for all but letters and digits (`&#64;`, `&#x40;`)."""
    return "".join(
        c if c.isascii() and c.isalnum() else (f"&#x{ord(c):x};" if hex else f"&#{ord(c)};")
        for c in value
    )


# SPEC §5.3: as is, in any letter case, percent-encoded once or twice, `+` or `%20` for spaces;
# and (docs/erasure.md) JSON string escapes and HTML character references, also URL-encoded.
URL_ENCODINGS = {
    "as is": lambda v: v,
    "plus for spaces": lambda v: v.replace(" ", "+"),
    "%20 for spaces": lambda v: v.replace(" ", "%20"),
    "encoded once": lambda v: quote(v, safe=""),
    "form-encoded once": lambda v: quote_plus(v, safe=""),
    "encoded twice": lambda v: quote(quote(v, safe=""), safe=""),
    "form-encoded, then encoded": lambda v: quote(quote_plus(v, safe=""), safe=""),
    "encoded twice, lower-case": lambda v: quote(quote(v, safe=""), safe="").lower(),
    "encoded once, upper-case": lambda v: quote(v, safe="").upper(),
    "JSON-escaped": json_escaped,
    "HTML references": html_referenced,
    "JSON-escaped, then encoded": lambda v: quote(json_escaped(v), safe=""),
    "HTML hex references, then form-encoded": lambda v: quote_plus(html_referenced(v, hex=True)),
}


@st.composite
def url_encoded_forms(draw: st.DrawFn, value: str) -> str:
    """`value` as it travels in URLs, query strings and form bodies, in a random letter case."""
    cased = draw(st.sampled_from([value, value.lower(), value.upper(), value.title()]))
    return URL_ENCODINGS[draw(st.sampled_from(sorted(URL_ENCODINGS)))](cased)


@st.composite
def in_a_url(draw: st.DrawFn, encoded: str) -> str:
    """An encoded value where it sits in stored payloads: a query string, a path, a form body."""
    param = draw(st.sampled_from(["email", "q", "name", "ref", "e"]))
    return draw(
        st.sampled_from(
            [
                f"https://shop.example/p/tent?{param}={encoded}&utm_source=mail",
                f"https://shop.example/account/{encoded}/orders",
                f"/search?{param}={encoded}",
                f"a=1&{param}={encoded}&b=2",
                f"redirect=https%3A%2F%2Fshop.example%2F%3F{param}%3D{encoded}",
                encoded,
            ]
        )
    )


@st.composite
def phone_forms(draw: st.DrawFn, e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    nsn = phonenumbers.national_significant_number(number)
    formats = [
        phonenumbers.format_number(number, f)
        for f in (
            phonenumbers.PhoneNumberFormat.E164,
            phonenumbers.PhoneNumberFormat.INTERNATIONAL,
            phonenumbers.PhoneNumberFormat.NATIONAL,
            phonenumbers.PhoneNumberFormat.RFC3966,
        )
    ]
    # Digits grouped arbitrarily with arbitrary separators, with or without a country prefix.
    groups: list[str] = []
    rest = nsn
    while rest:
        size = draw(st.integers(1, 4))
        groups.append(rest[:size])
        rest = rest[size:]
    sep = draw(st.sampled_from(SEPARATORS))
    body = sep.join(groups)
    if draw(st.booleans()):
        body = f"({groups[0]}) " + sep.join(groups[1:]) if len(groups) > 1 else body
    prefix = draw(st.sampled_from(["", f"+{number.country_code} ", f"00{number.country_code} "]))
    formats.append(prefix + body)
    return draw(st.sampled_from(formats))


@st.composite
def name_forms(draw: st.DrawFn, first: str, last: str) -> str:
    def case(text: str) -> str:
        return draw(st.sampled_from([text, text.upper(), text.lower(), text.title()]))

    space = draw(st.sampled_from([" ", "  ", "\n", "\t"]))
    return draw(
        st.sampled_from([f"{case(first)}{space}{case(last)}", f"{case(last)},{space}{case(first)}"])
    )


# Free text around planted identifiers: letters, digits, punctuation, some non-ASCII.
filler = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs"]), max_size=12
)
BOUNDARY = st.sampled_from([" ", ": ", " (", ") ", ", ", "\n", " - "])


@st.composite
def planted_string(draw: st.DrawFn, subject: Subject) -> str:
    kind = draw(st.sampled_from(["email", "phone", "name"]))
    if kind == "email":
        ident = draw(email_forms(subject.emails[0]))
    elif kind == "phone":
        ident = draw(phone_forms(subject.phones[0]))
    else:
        ident = draw(name_forms(subject.first_name or "", subject.last_name or ""))
    return draw(filler) + draw(BOUNDARY) + ident + draw(BOUNDARY) + draw(filler)


def is_personal_oracle(text: str, subject: Subject) -> bool:
    """An independent, simpler statement of "contains the subject"."""
    lowered = text.casefold()
    email = subject.emails[0].casefold()
    if email in lowered or quote(email, safe="").casefold() in lowered:
        return True
    nsn = phonenumbers.national_significant_number(phonenumbers.parse(subject.phones[0], None))
    if nsn in re.sub(r"\D", "", text):
        return True
    first, last = (re.escape((n or "").casefold()) for n in (subject.first_name, subject.last_name))
    first, last = first.replace(r"\ ", r"\s+"), last.replace(r"\ ", r"\s+")
    return bool(re.search(rf"(?<!\w)({first}\s+{last}|{last},\s*{first})(?!\w)", lowered))


plain_keys = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "Pc", "Pd"]),
    min_size=1,
    max_size=10,
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


def json_docs(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)
        ),
        max_leaves=20,
    )


def walk(value: Any) -> list[tuple[str, Any]]:
    """Every (kind, item): keys as ("key", k), leaves as ("leaf", v)."""
    out: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append(("key", k))
            out.extend(walk(v))
    elif isinstance(value, list):
        for v in value:
            out.extend(walk(v))
    else:
        out.append(("leaf", value))
    return out


def non_personal(doc: Any, subject: Subject, keys: PiiKeys) -> bool:
    for kind, item in walk(doc):
        if kind == "key" and (keys.matches(item) or normalize_key(item) == "name"):
            return False
        text = item if isinstance(item, str) else str(item)
        if isinstance(item, bool) or item is None:
            continue
        if is_personal_oracle(text, subject):
            return False
    return True


@st.composite
def infected(draw: st.DrawFn) -> tuple[Subject, Any, Any, list[str]]:
    """(subject, clean document, the same document with personal data planted, PII keys used)."""
    subject = draw(subjects())
    clean = draw(json_docs(plain_keys))
    assume(non_personal(clean, subject, PiiKeys()))
    planted_keys: list[str] = []

    def plant(value: Any, depth: int) -> Any:
        if isinstance(value, dict):
            out = {k: plant(v, depth + 1) for k, v in value.items()}
            for index in range(draw(st.integers(0, 2))):
                if draw(st.booleans()):
                    key = style_key(draw(st.sampled_from(PII_KEY_WORDS)), draw(st.integers(0, 5)))
                    planted_keys.append(key)
                    out[key] = draw(st.one_of(json_docs(plain_keys), planted_string(subject)))
                else:
                    out[f"planted_{depth}_{index}"] = draw(planted_string(subject))
            return out
        if isinstance(value, list):
            extra = draw(st.lists(planted_string(subject), max_size=2))
            return [plant(v, depth + 1) for v in value] + extra
        return value

    dirty = plant({"root": clean}, 0)
    return subject, {"root": clean}, dirty, planted_keys


def contains(result: Any, clean: Any) -> None:
    """Everything of `clean` is in `result`, unchanged (planted extras may be around it)."""
    if isinstance(clean, dict):
        assert isinstance(result, dict)
        for key, value in clean.items():
            assert key in result
            contains(result[key], value)
    elif isinstance(clean, list):
        assert isinstance(result, list) and len(result) >= len(clean)
        for got, want in zip(result, clean, strict=False):
            contains(got, want)
    else:
        assert type(result) is type(clean) and result == clean


SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@SETTINGS
@given(infected())
def test_no_planted_identifier_survives_and_clean_data_is_untouched(
    case: tuple[Subject, Any, Any, list[str]],
) -> None:
    subject, clean, dirty, planted_keys = case
    scrubber = scrubber_for(subject)
    result = scrubber.scrub(dirty)

    for kind, item in walk(result):
        if kind == "key":
            assert item not in planted_keys
        if isinstance(item, str):
            assert not is_personal_oracle(item, subject), item
        elif isinstance(item, int | float) and not isinstance(item, bool):
            assert not is_personal_oracle(str(item), subject), item
    contains(result, clean)
    assert scrubber.residue(result) == []
    assert scrubber.scrub(result) is result  # idempotent


@SETTINGS
@given(subjects(), json_docs(plain_keys))
def test_documents_without_personal_data_come_back_identical(subject: Subject, doc: Any) -> None:
    assume(non_personal(doc, subject, PiiKeys()))
    scrubber = scrubber_for(subject)
    assert scrubber.scrub(doc) is doc
    assert scrubber.residue(doc) == []


@SETTINGS
@given(subjects(), st.data())
def test_every_phone_format_is_recognised(subject: Subject, data: st.DataObject) -> None:
    text = data.draw(phone_forms(subject.phones[0]))
    assert SubjectMatcher(subject).in_text(f"reach me at {text} today")


@SETTINGS
@given(subjects(), st.data())
def test_every_name_and_email_form_is_recognised(subject: Subject, data: st.DataObject) -> None:
    matcher = SubjectMatcher(subject)
    assert matcher.in_text("x " + data.draw(email_forms(subject.emails[0])) + " y")
    name = data.draw(name_forms(subject.first_name or "", subject.last_name or ""))
    assert matcher.in_text("Dear " + name + ", thanks")
