"""The scrubber's fast paths (a copy of an object only once something in it changes, small
integers answered inline, the phone digits found by one regex) give exactly what the plain
definition of the rules gives: compared here with that definition, written out naively, over
arbitrary JSON with the subject's identifiers planted in keys, strings and numbers."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.compliance.test_scrubber import ADA
from veil.compliance.deletions.scrubber import Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import PiiKeys

NO_PHONE = Subject(emails=("ada.lovelace@example.com",), first_name="Ada", last_name="Lovelace")


def reference_in_number(matcher: SubjectMatcher, value: int | float) -> bool:
    """in_number as it was defined: the number's text searched for the phone digits."""
    digits = matcher.phone_digits
    if not digits or isinstance(value, bool):
        return False
    if isinstance(value, float) and value != value:
        return False
    text = str(value)
    if type(value) is int:
        return any(d in text for d in digits)
    return matcher._contains_phone_digits(text)


def reference_scrub(scrubber: Scrubber, value: Any, leaves: bool) -> Any:
    """Scrubber.scrub written plainly: personal keys dropped, every leaf asked, a new object
    wherever anything below changed and the very same one otherwise."""
    matcher = scrubber.matcher
    if isinstance(value, dict):
        personal = scrubber.personal_keys_of(value)
        out = {}
        changed = bool(personal)
        for key, item in value.items():
            if key in personal:
                continue
            new = reference_scrub(scrubber, item, leaves)
            changed = changed or new is not item
            out[key] = new
        return out if changed else value
    if isinstance(value, list):
        items = [reference_scrub(scrubber, item, leaves) for item in value]
        changed = any(new is not old for new, old in zip(items, value, strict=True))
        return items if changed else value
    if not leaves:
        return value
    if isinstance(value, str):
        return scrubber.redacted if matcher.in_text(value) else value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return scrubber.redacted if reference_in_number(matcher, value) else value
    return value


PHONE_INTS = [14155550132, 4155550132, -4155550132, 914155550132, 41555501, 99999, 100000]
KEYS = [
    "email",
    "phone",
    "name",
    "first_name",
    "sku",
    "id",
    "note",
    "zip",
    "ada.lovelace@example.com",
]
TEXTS = ["ada.lovelace@example.com", "+1 415-555-0132", "Ada Lovelace", "EUR", "#1001", ""]

leaves = (
    st.none()
    | st.booleans()
    | st.sampled_from(PHONE_INTS)
    | st.integers()
    | st.integers(min_value=-(10**7), max_value=10**7)
    | st.floats(allow_nan=True)
    | st.sampled_from(TEXTS)
    | st.text(max_size=12)
)
documents = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


def _same(new: Any, old: Any, source: Any) -> bool:
    """Equal values, and the source object back exactly where the reference gives it back."""
    return repr(new) == repr(old) and ((new is source) == (old is source))


@settings(max_examples=400, deadline=None)
@given(document=documents, leaves_too=st.booleans(), phone=st.booleans())
def test_scrub_equals_the_plain_definition(document: Any, leaves_too: bool, phone: bool) -> None:
    subject = ADA if phone else NO_PHONE
    fast = Scrubber(PiiKeys.for_workspace(None), SubjectMatcher(subject))
    plain = Scrubber(PiiKeys.for_workspace(None), SubjectMatcher(subject))
    new = fast.scrub(document, leaves=leaves_too)
    old = reference_scrub(plain, document, leaves_too)
    assert _same(new, old, document)


@settings(max_examples=400, deadline=None)
@given(value=st.integers() | st.sampled_from(PHONE_INTS) | st.floats(allow_nan=True))
def test_in_number_equals_the_plain_definition(value: int | float) -> None:
    for subject in (ADA, NO_PHONE):
        matcher = SubjectMatcher(subject)
        assert matcher.in_number(value) == reference_in_number(matcher, value)


def test_integers_around_the_inline_floor() -> None:
    matcher = SubjectMatcher(ADA)
    floor = matcher.int_floor
    assert floor == 10 ** (min(len(d) for d in matcher.phone_digits) - 1)
    for value in (floor - 1, floor, floor + 1, -floor + 1, -floor, 4155550132, -4155550132):
        assert matcher.in_number(value) == reference_in_number(matcher, value)


# Texts made of the subject's name and address words (in any case, with any whitespace or
# punctuation between them), other words, and the anchors' neighbours: where the search must
# and must not find the phrases.
WITH_TOKENS = Subject(
    emails=("ada.lovelace@example.com",),
    first_name="Ada Augusta",
    last_name="King-Noel",
    identifiers=("cust_98765",),
    addresses=("12 Marylebone Road", "NW1 5LR"),
)
_WORDS = st.sampled_from(
    [
        "ada",
        "Ada",
        "ADA",
        "augusta",
        "king-noel",
        "King-Noel",
        "king",
        "noel",
        "12",
        "marylebone",
        "Marylebone",
        "road",
        "nw1",
        "5lr",
        "cust_98765",
        "cust",
        "98765",
        "lovelace",
        "x",
        "é",
        "ß",
        "İ",
    ]
)
_GAPS = st.sampled_from([" ", "  ", "\t", "\n", ",", ", ", "-", "_", "", "\u00a0", "%20", "+"])
phrases_text = st.lists(st.tuples(_WORDS, _GAPS), max_size=10).map(
    lambda parts: "".join(word + gap for word, gap in parts)
)


@settings(max_examples=600, deadline=None)
@given(text=phrases_text, subject=st.sampled_from([WITH_TOKENS, ADA, NO_PHONE]))
@example(text="Ada Augusta  King-Noel", subject=WITH_TOKENS)
@example(text="KING-NOEL,\tada augusta", subject=WITH_TOKENS)
@example(text="at 12\nMarylebone Road,", subject=WITH_TOKENS)
@example(text="nw1%205lr", subject=WITH_TOKENS)
@example(text="xcust_98765", subject=WITH_TOKENS)
@example(text="Ada Lovelace", subject=ADA)
def test_in_text_with_the_anchor_check_equals_the_plain_search(text: str, subject: Subject) -> None:
    """`in_text` skips the phrase search (and compiles no pattern) when the folded text holds
    no anchor word: the same answers as searching every text."""
    fast = SubjectMatcher(subject)
    plain = SubjectMatcher(subject)
    plain.holds_anchor = lambda _folded: True  # type: ignore[method-assign]
    assert fast.in_text(text) == plain.in_text(text)


def test_the_examples_above_hold_the_phrases() -> None:
    """The property above compares both ways on texts that do hold a phrase, too."""
    matcher = SubjectMatcher(WITH_TOKENS)
    assert matcher.in_text("Ada Augusta  King-Noel")
    assert matcher.in_text("KING-NOEL,\tada augusta")
    assert matcher.in_text("at 12\nMarylebone Road,")
    assert matcher.in_text("nw1%205lr")
    assert not matcher.in_text("xcust_98765")
    assert SubjectMatcher(ADA).in_text("Ada Lovelace")
