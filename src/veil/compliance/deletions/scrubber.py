"""Scrubbing personal data out of JSON payloads: pure functions over one subject's identifiers.

`Subject` lists what the erasure searches for; `SubjectMatcher` decides whether a string or a
number contains any of it (email in any case, phone in any common formatting, full name in
either order, other identifiers — each also percent-encoded once or twice and with `+` or
`%20` for spaces, as in URLs, query strings and form bodies); `Scrubber` applies the rules of
veil.compliance.erasure_rules to a JSON value and also finds what is left (verification).
Nothing here touches the database, so the rules are tested property-based on their own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import orjson

from veil.compliance.deletions.forms import (
    HAS_DIGIT,
    decoded_forms,
    digit_runs,
    fold,
    national_digits,
    phone_variants,
)
from veil.compliance.erasure_rules import REDACTED, PiiKeys

JSON = Any
MIN_PHONE_DIGITS = 6  # shorter national numbers would match prices and quantities
MIN_TOKEN_LENGTH = 5  # shorter ids/addresses would match ordinary words

# One erasure sees the same short strings (titles, currencies, statuses, keys) over and over:
# its matcher remembers up to this many answers for strings up to this long.
_MEMO_ENTRIES = 20_000
_MEMO_LENGTH = 128


@dataclass(frozen=True)
class Subject:
    """Every identifier of one data subject that the erasure searches for."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()  # E.164
    first_name: str | None = None
    last_name: str | None = None
    identifiers: tuple[str, ...] = ()  # external ids, anonymous ids
    addresses: tuple[str, ...] = ()  # street lines and postal codes from the profile

    @property
    def full_name(self) -> str | None:
        parts = [p.strip() for p in (self.first_name, self.last_name) if p and p.strip()]
        return " ".join(parts) or None

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "emails": list(self.emails),
                "phones": list(self.phones),
                "first_name": self.first_name,
                "last_name": self.last_name,
                "identifiers": list(self.identifiers),
                "addresses": list(self.addresses),
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> Subject:
        data = orjson.loads(text)
        return cls(
            emails=tuple(data.get("emails") or ()),
            phones=tuple(data.get("phones") or ()),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            identifiers=tuple(data.get("identifiers") or ()),
            addresses=tuple(data.get("addresses") or ()),
        )


def _phrase(text: str) -> str:
    """A folded phrase as a regex: any run of whitespace between its words."""
    return r"\s+".join(re.escape(word) for word in fold(text).split())


def _anchor(text: str) -> str:
    """The longest folded word of a phrase: a literal part of every match of `_phrase`."""
    return max(fold(text).split(), key=len, default="")  # "": no anchor, always search


def _bounded(pattern: str) -> str:
    return rf"(?<!\w){pattern}(?!\w)"


class SubjectMatcher:
    """Answers "does this value contain any identifier of the subject?"."""

    def __init__(self, subject: Subject) -> None:
        self.subject = subject
        needles: set[str] = set()
        for email in subject.emails:
            folded = fold(email.strip())
            if folded:
                needles.add(folded)  # ada%40example.com: found in its decoded form

        digits: set[str] = set()
        for phone in subject.phones:
            nsn = national_digits(phone)
            if nsn and len(nsn) >= MIN_PHONE_DIGITS:
                digits.add(nsn)
            full = "".join(ch for ch in phone if ch.isdigit())
            if len(full) >= MIN_PHONE_DIGITS:
                digits.add(full)
            needles.update(fold(v) for v in phone_variants(phone) if len(v) >= MIN_PHONE_DIGITS)
        self._needles = sorted(needles)
        self._phone_digits = sorted(digits)
        self._min_digits = min((len(d) for d in digits), default=0)
        # An integer below this (in absolute value) prints fewer digits than any phone number.
        self._int_floor = 10 ** (self._min_digits - 1) if digits else 0

        patterns: list[str] = []
        # One word of each phrase group that every match of it contains (the longest).
        anchors: list[str] = []
        first, last = subject.first_name, subject.last_name
        if first and first.strip() and last and last.strip():
            f, la = _phrase(first), _phrase(last)
            patterns += [rf"{f}\s+{la}", rf"{la}\s*,\s*{f}", rf"{la}\s+{f}"]
            anchors.append(_anchor(f"{first} {last}"))
        else:
            # Only a multi-word single field is specific enough to search in free text.
            only = (first or last or "").strip()
            if len(only.split()) > 1:
                patterns.append(_phrase(only))
                anchors.append(_anchor(only))
        for token in (*subject.identifiers, *subject.addresses):
            if token and len(token.strip()) >= MIN_TOKEN_LENGTH:
                patterns.append(_phrase(token))
                anchors.append(_anchor(token))
        self._phrases = list(dict.fromkeys(patterns))
        # Every match of a phrase contains its anchor, so a text without any anchor needs no
        # search, and the patterns are compiled only when a text first holds one: most small
        # subjects never need them (their names sit under PII keys, which are not searched).
        self.anchors = tuple(dict.fromkeys(anchors))
        self._memo: dict[str, bool] = {}

    @functools.cached_property
    def _digits_pattern(self) -> re.Pattern[str] | None:
        """Any of the digit strings, found in one C-level search (compiled on first use)."""
        digits = self._phone_digits
        return re.compile("|".join(re.escape(d) for d in digits)) if digits else None

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """The phrases, each between word boundaries."""
        return re.compile("|".join(_bounded(p) for p in self._phrases)) if self._phrases else None

    @functools.cached_property
    def loose_pattern(self) -> re.Pattern[str] | None:
        """The same phrases without the word boundaries: matches wherever `_pattern` matches
        inside any string of a serialised document (the prefilter's search), and only where
        one of the anchors occurs."""
        return re.compile("|".join(self._phrases)) if self._phrases else None

    def holds_anchor(self, folded: str) -> bool:
        """Whether a folded text holds an anchor: without one, neither pattern can match."""
        return any(anchor in folded for anchor in self.anchors)

    @property
    def needles(self) -> tuple[str, ...]:
        """The folded literal forms searched for as substrings (emails, phone formats)."""
        return tuple(self._needles)

    @property
    def phone_digits(self) -> tuple[str, ...]:
        """The digit strings a run of digits must contain to be the phone number."""
        return tuple(self._phone_digits)

    @property
    def int_floor(self) -> int:
        """Integers strictly between -int_floor and int_floor hold no phone number."""
        return self._int_floor

    @property
    def is_empty(self) -> bool:
        return not (self._needles or self._phone_digits or self._phrases)

    def in_text(self, text: str) -> bool:
        known = self._memo.get(text)
        if known is not None:
            return known
        found = self._search(text)
        if len(text) <= _MEMO_LENGTH and len(self._memo) < _MEMO_ENTRIES:
            self._memo[text] = found
        return found

    def _search(self, text: str) -> bool:
        return any(self._search_form(form) for form in (text, *decoded_forms(text)))

    def _search_form(self, text: str) -> bool:
        folded = fold(text)
        if any(needle in folded for needle in self._needles):
            return True
        if self._phone_digits and self._contains_phone_digits(folded):
            return True
        if not self._phrases or not self.holds_anchor(folded):
            return False
        pattern = self._pattern
        return bool(pattern and pattern.search(folded))

    def in_number(self, value: int | float) -> bool:
        if not self._phone_digits or isinstance(value, bool):
            return False
        if type(value) is int:
            # Its text is one run of ASCII digits (after a sign): search it directly.
            if -self._int_floor < value < self._int_floor:
                return False  # fewer digits than the shortest phone digits
            return self._digits_pattern is not None and bool(
                self._digits_pattern.search(str(value))
            )
        if isinstance(value, float) and value != value:  # NaN
            return False
        return self._contains_phone_digits(str(value))

    def _contains_phone_digits(self, text: str) -> bool:
        # A run of at least _min_digits digits needs at least that many characters.
        if len(text) < self._min_digits or not HAS_DIGIT.search(text):
            return False
        for run in digit_runs(text):
            if len(run) >= self._min_digits and any(d in run for d in self._phone_digits):
                return True
        return False


@dataclass
class Scrubber:
    """The erasure rules for JSON values: PII keys removed, personal values replaced."""

    keys: PiiKeys
    matcher: SubjectMatcher
    redacted: str = REDACTED
    _personal_keys: dict[tuple[str, bool], bool] = field(
        default_factory=dict, repr=False, compare=False
    )
    # The personal keys of an object, by its keys in order (line items share one shape).
    _shapes: dict[tuple[str, ...], frozenset[str]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def scrub(self, value: JSON, *, leaves: bool = True) -> JSON:
        """A scrubbed copy; the very same object when nothing in it was personal.

        `leaves=False` only removes personal keys and leaves strings and numbers unsearched:
        the same result whenever no leaf holds an identifier (the prefilter's `KEYS` verdict).
        """
        if isinstance(value, dict):
            return self._scrub_object(value, leaves)
        if isinstance(value, list):
            items = [self.scrub(item, leaves=leaves) for item in value]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            return items
        if not leaves:
            return value
        if isinstance(value, str):
            return self.redacted if self.matcher.in_text(value) else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.redacted if self.matcher.in_number(value) else value
        return value

    def _scrub_object(self, obj: dict[str, Any], leaves: bool) -> dict[str, Any]:
        personal = self.personal_keys_of(obj)
        # The copy is only made once something changes (most nested objects, line items say,
        # come back as they are): with a personal key from the start, else at the first value
        # that changes, from the keys before it (none of them personal, none changed).
        out: dict[str, Any] | None = {} if personal else None
        matcher, redacted = self.matcher, self.redacted
        in_text, in_number = matcher.in_text, matcher.in_number
        # Integers strictly between -floor and floor print too few digits to hold a phone
        # number (in_number would say so; asked inline, it is not called).
        floor = matcher.int_floor
        for key, item in obj.items():
            if key in personal:
                continue
            # The leaves JSON decodes to, inline (what `scrub` does for them); the rest recurses.
            kind = type(item)
            if kind is str:
                new = redacted if leaves and in_text(item) else item
            elif kind is int:
                new = redacted if leaves and not -floor < item < floor and in_number(item) else item
            elif kind is float:
                new = redacted if leaves and in_number(item) else item
            elif item is None or kind is bool:
                new = item
            else:
                new = self.scrub(item, leaves=leaves)
            if out is None:
                if new is item:
                    continue
                out = {}
                for before, value in obj.items():
                    if before is key:
                        break
                    out[before] = value
            out[key] = new
        return obj if out is None else out

    def personal_keys_of(self, obj: dict[str, Any]) -> frozenset[str]:
        """The keys of `obj` whose properties go (`key_is_personal` in the object's context)."""
        shape = tuple(obj)
        known = self._shapes.get(shape)
        if known is None:
            context = any(self.keys.matches(k) for k in shape)
            known = frozenset(k for k in shape if self.key_is_personal(k, personal_context=context))
            if len(self._shapes) < _MEMO_ENTRIES:
                self._shapes[shape] = known
        return known

    def key_is_personal(self, key: str, *, personal_context: bool) -> bool:
        memo = (key, personal_context)
        known = self._personal_keys.get(memo)
        if known is None:
            known = self._key_is_personal(key, personal_context=personal_context)
            if len(self._personal_keys) < _MEMO_ENTRIES:
                self._personal_keys[memo] = known
        return known

    def _key_is_personal(self, key: str, *, personal_context: bool) -> bool:
        if self.keys.matches(key):
            return True
        if personal_context and self.keys.is_contextual_name(key):
            return True
        return self.matcher.in_text(key)

    def scrub_properties(
        self, properties: dict[str, Any] | None, *, leaves: bool = True
    ) -> tuple[dict[str, Any], bool]:
        """(scrubbed properties, whether anything changed)."""
        source = properties or {}
        scrubbed = self.scrub(source, leaves=leaves)
        return scrubbed, scrubbed is not source

    def text_is_personal(self, text: str | None) -> bool:
        return bool(text) and self.matcher.in_text(text or "")

    def residue(self, value: JSON, path: str = "$", *, leaves: bool = True) -> list[str]:
        """Paths of whatever personal data is still in `value` (empty when clean).

        Visits every key and every leaf with the matcher `scrub` uses (strings for every
        identifier, numbers for phone digits). It does not search the serialised document as
        one text: there a number next to a key (order number 10001 beside a zip of 10001)
        reads like an identifier that `scrub` rightly leaves alone, and the profile could
        never verify. `leaves=False` looks at the keys only (see `scrub`).
        """
        return list(self._walk_residue(value, path, leaves))

    def _walk_residue(self, value: JSON, path: str, leaves: bool) -> Iterable[str]:
        if isinstance(value, dict):
            personal = self.personal_keys_of(value)
            for key, item in value.items():
                if key in personal:
                    yield f"{path}.<key>"
                else:
                    yield from self._walk_residue(item, f"{path}.{key}", leaves)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._walk_residue(item, f"{path}[{index}]", leaves)
        elif not leaves:
            return
        elif isinstance(value, str):
            if value != self.redacted and self.matcher.in_text(value):
                yield path
        elif isinstance(value, int | float) and self.matcher.in_number(value):
            yield path


# -- the prefilter: which stored events the scrubber could change at all ---------------------


class Verdict(IntEnum):
    CLEAN = 0  # nothing in the document is personal: `scrub` returns it unchanged
    KEYS = 1  # personal keys may be there, but no string or number holds an identifier
    FULL = 2  # anything may be personal (or the text could not be read safely): walk it all


# Between the strings of a JSON text: numbers, literals and these, which separate them.
# The prefilter remembers its verdict on up to this many texts up to this long (~4 MB).
_MEMO_TEXTS = 4_096
_MEMO_TEXT_LENGTH = 1_024
_SYNTAX_TO_SPACE = str.maketrans({ch: " " for ch in ":,[]{}"})
# Every ASCII character that can stand between the digits of a phone number (the ASCII part
# of forms._PHONE_SEPARATORS, all of \s), and more: control characters and the space.
_DIGIT_GAPS = bytes(range(0x21)) + b"().-/_"


class Prefilter:
    """A conservative verdict on one event's stored JSON text, before it is decoded.

    Sound for the text of any JSON object: CLEAN only if `Scrubber.scrub` would return the
    decoded object unchanged (and `residue` would find nothing), KEYS only if scrubbing it
    with `leaves=False` gives the same result as the full scrub. It reads the text only when
    it is plain ASCII without a backslash escape — then every key and string value appears in
    it literally, whichever serialiser wrote it (stdlib json with or without `ensure_ascii`,
    orjson, PostgreSQL's jsonb output) — and says FULL otherwise. On such a text `fold` is
    `str.lower`, so each search of the matcher, applied to the whole lowered text, finds at
    least what it finds in any one string of it:
    - the email and phone needles as substrings;
    - the phone digits, with every character that may separate them deleted first;
    - the name / address phrases without their word boundaries (where an anchor word occurs);
    - numbers: an integer prints its own digits (the digit search covers it); a float token
      that might print other digits says FULL;
    - the URL-decoded forms of the text (`decoded_forms`), searched the same way: they hold
      the decoded forms of every string, which the matcher searches too (non-ASCII: FULL).
    A key is personal by `PiiKeys.matches` (checked on every string), by containing an
    identifier (the searches above cover keys too), or as a bare `name` next to a key that
    matches (covered by that key). Anything else found means at most a false alarm.
    """

    _MAX_CLEAN_STRINGS = 20_000

    def __init__(self, scrubber: Scrubber) -> None:
        matcher = scrubber.matcher
        self._pii_keys = scrubber.keys
        self._needles = matcher.needles
        self._digits = tuple(d.encode("ascii") for d in matcher.phone_digits if d.isascii())
        self._matcher = matcher
        self._keys_have_letters = all(any(ch.isalpha() for ch in k) for k in self._pii_keys.keys)
        self._clean_strings: set[str] = set()  # no PII key
        self._verdicts: dict[str, Verdict] = {}

    def verdict(self, text: str | None) -> Verdict:
        if text is None:  # no properties: scrubbed as {}, which is clean
            return Verdict.CLEAN
        # Views, opens and clicks repeat the same payload: one answer per text.
        known = self._verdicts.get(text)
        if known is None:
            known = self._verdict(text)
            if len(text) <= _MEMO_TEXT_LENGTH and len(self._verdicts) < _MEMO_TEXTS:
                self._verdicts[text] = known
        return known

    def _verdict(self, text: str) -> Verdict:
        if not text.isascii() or "\\" in text or not text.startswith("{"):
            return Verdict.FULL
        # The text itself first: documents that hold an identifier (every order) are FULL
        # before their decoded forms are made or their strings split out.
        if self._holds_identifier(text):
            return Verdict.FULL
        # Decoded forms of the whole text hold the decoded forms of each of its strings
        # (decoding is local, and a `"` is never part of an escape): searched the same way.
        for form in decoded_forms(text):
            if not form.isascii() or self._holds_identifier(form):
                return Verdict.FULL
        # Without backslashes no string holds a quote: the odd parts are exactly the strings
        # (keys and values), the even ones the JSON around them (numbers, literals, syntax).
        parts = text.split('"')
        if len(parts) % 2 == 0:  # pragma: no cover - not JSON; decoding it will say so
            return Verdict.FULL
        if self._digits:
            syntax = "".join(parts[0::2])
            floats = "." in syntax or "E" in syntax
            if not floats and "e" in syntax:  # other than in true and false
                floats = "e" in syntax.replace("true", "").replace("false", "")
            if floats and _has_risky_number(syntax):
                return Verdict.FULL
        # Every key is one of the strings; a value that reads like a PII key (`"mobile"`) is
        # a false alarm, answered by the keys-only walk.
        strings = set(parts[1::2])
        strings.difference_update(self._clean_strings)
        for string in strings:
            if self._keys_have_letters and string.lower() == string.upper():
                pass  # no letter (ASCII): "12.50", "#1001" cannot spell a PII key
            elif self._pii_keys.matches(string):
                return Verdict.KEYS
            if len(self._clean_strings) < self._MAX_CLEAN_STRINGS:
                self._clean_strings.add(string)
        return Verdict.CLEAN

    def _holds_identifier(self, text: str) -> bool:
        """Whether an ASCII text may contain an identifier (every search of the matcher)."""
        lowered = text.lower()
        if any(needle in lowered for needle in self._needles):
            return True
        if self._digits:
            squeezed = text.encode("ascii").translate(None, _DIGIT_GAPS)
            if any(digits in squeezed for digits in self._digits):
                return True
        matcher = self._matcher
        if not matcher.holds_anchor(lowered):
            return False
        pattern = matcher.loose_pattern
        return bool(pattern is not None and pattern.search(lowered))


def _has_risky_number(syntax: str) -> bool:
    """A number token whose float value might print other digits than the text holds: with an
    exponent (`4.4e12` prints `4400000000000.0`), or a fraction of six or more characters
    (excess precision rounds: `4479460012344.9999999999` prints `4479460012345.0`). Shorter
    fractions (at most five digits) round-trip digit for digit, so they hold no phone number.
    """
    for token in syntax.translate(_SYNTAX_TO_SPACE).split():
        if "e" in token or "E" in token:
            if token not in ("true", "false"):
                return True
        elif "." in token and len(token) >= MIN_PHONE_DIGITS:
            return True
    return False
