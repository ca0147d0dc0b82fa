"""Scrubbing personal data out of JSON payloads: pure functions over one subject's identifiers.

`Subject` lists what the erasure searches for; `SubjectMatcher` decides whether a string or a
number contains any of it (email in any case or URL-encoded, phone in any common formatting,
full name in either order, other identifiers); `Scrubber` applies the rules of
veil.compliance.erasure_rules to a JSON value and also finds what is left (verification).
Nothing here touches the database, so the rules are tested property-based on their own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson
import phonenumbers

from veil.compliance.erasure_rules import REDACTED, PiiKeys

JSON = Any
MIN_PHONE_DIGITS = 6  # shorter national numbers would match prices and quantities
MIN_TOKEN_LENGTH = 5  # shorter ids/addresses would match ordinary words

# Characters people put between the digits of a phone number.
_PHONE_SEPARATORS = r"\s().\-/_\u2010-\u2015\u2212"
_DIGIT_RUN = re.compile(rf"\d(?:[{_PHONE_SEPARATORS}]*\d)*")
_HAS_DIGIT = re.compile(r"\d")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")
# One erasure sees the same short strings (titles, currencies, statuses, keys) over and over:
# its matcher remembers up to this many answers for strings up to this long.
_MEMO_ENTRIES = 20_000
_MEMO_LENGTH = 128


def fold(text: str) -> str:
    """Case, width (fullwidth letters) and accents do not matter: `ADA` and `Adá` fold to `ada`."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold()


def digit_runs(text: str) -> Iterator[str]:
    """Every run of digits joined by phone separators, as plain ASCII digits."""
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if run.isascii():
            yield _NOT_ASCII_DIGIT.sub("", run)
            continue
        yield "".join(
            ch if ch.isascii() else str(unicodedata.decimal(ch, 0)) for ch in run if ch.isdecimal()
        )


def phone_variants(e164: str) -> list[str]:
    """The ways a number is commonly written: E.164, international, national, tel: URI."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return [e164]
    formats = (
        phonenumbers.PhoneNumberFormat.E164,
        phonenumbers.PhoneNumberFormat.INTERNATIONAL,
        phonenumbers.PhoneNumberFormat.NATIONAL,
        phonenumbers.PhoneNumberFormat.RFC3966,
    )
    return list(dict.fromkeys(phonenumbers.format_number(number, f) for f in formats))


def national_digits(e164: str) -> str | None:
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        digits = "".join(ch for ch in e164 if ch.isdigit())
        return digits or None
    return phonenumbers.national_significant_number(number) or None


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
                needles.add(folded)
                needles.add(fold(quote(folded, safe="")))  # ada%40example.com in URLs

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

        patterns: list[str] = []
        first, last = subject.first_name, subject.last_name
        if first and first.strip() and last and last.strip():
            f, la = _phrase(first), _phrase(last)
            patterns += [rf"{f}\s+{la}", rf"{la}\s*,\s*{f}", rf"{la}\s+{f}"]
        else:
            # Only a multi-word single field is specific enough to search in free text.
            only = (first or last or "").strip()
            if len(only.split()) > 1:
                patterns.append(_phrase(only))
        for token in (*subject.identifiers, *subject.addresses):
            if token and len(token.strip()) >= MIN_TOKEN_LENGTH:
                patterns.append(_phrase(token))
        self._pattern = (
            re.compile("|".join(_bounded(p) for p in dict.fromkeys(patterns))) if patterns else None
        )
        self._memo: dict[str, bool] = {}

    @property
    def is_empty(self) -> bool:
        return not (self._needles or self._phone_digits or self._pattern)

    def in_text(self, text: str) -> bool:
        known = self._memo.get(text)
        if known is not None:
            return known
        found = self._search(text)
        if len(text) <= _MEMO_LENGTH and len(self._memo) < _MEMO_ENTRIES:
            self._memo[text] = found
        return found

    def _search(self, text: str) -> bool:
        folded = fold(text)
        if any(needle in folded for needle in self._needles):
            return True
        if self._phone_digits and self._contains_phone_digits(folded):
            return True
        return bool(self._pattern and self._pattern.search(folded))

    def in_number(self, value: int | float) -> bool:
        if not self._phone_digits or isinstance(value, bool):
            return False
        if isinstance(value, float) and value != value:  # NaN
            return False
        return self._contains_phone_digits(str(value))

    def _contains_phone_digits(self, text: str) -> bool:
        # A run of at least _min_digits digits needs at least that many characters.
        if len(text) < self._min_digits or not _HAS_DIGIT.search(text):
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

    def scrub(self, value: JSON) -> JSON:
        """A scrubbed copy; the very same object when nothing in it was personal."""
        if isinstance(value, dict):
            return self._scrub_object(value)
        if isinstance(value, list):
            items = [self.scrub(item) for item in value]
            if all(new is old for new, old in zip(items, value, strict=True)):
                return value
            return items
        if isinstance(value, str):
            return self.redacted if self.matcher.in_text(value) else value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self.redacted if self.matcher.in_number(value) else value
        return value

    def _scrub_object(self, obj: dict[str, Any]) -> dict[str, Any]:
        personal_context = any(self.keys.matches(k) for k in obj)
        out: dict[str, Any] = {}
        changed = False
        for key, item in obj.items():
            if self.key_is_personal(key, personal_context=personal_context):
                changed = True
                continue
            new = self.scrub(item)
            changed = changed or new is not item
            out[key] = new
        return out if changed else obj

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

    def scrub_properties(self, properties: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """(scrubbed properties, whether anything changed)."""
        source = properties or {}
        scrubbed = self.scrub(source)
        return scrubbed, scrubbed is not source

    def text_is_personal(self, text: str | None) -> bool:
        return bool(text) and self.matcher.in_text(text or "")

    def residue(self, value: JSON, path: str = "$") -> list[str]:
        """Paths of whatever personal data is still in `value` (empty when clean).

        Visits every key and every leaf with the matcher `scrub` uses (strings for every
        identifier, numbers for phone digits). It does not search the serialised document as
        one text: there a number next to a key (order number 10001 beside a zip of 10001)
        reads like an identifier that `scrub` rightly leaves alone, and the profile could
        never verify.
        """
        return list(self._walk_residue(value, path))

    def _walk_residue(self, value: JSON, path: str) -> Iterable[str]:
        if isinstance(value, dict):
            context = any(self.keys.matches(k) for k in value)
            for key, item in value.items():
                if self.key_is_personal(key, personal_context=context):
                    yield f"{path}.<key>"
                else:
                    yield from self._walk_residue(item, f"{path}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                yield from self._walk_residue(item, f"{path}[{index}]")
        elif isinstance(value, str):
            if value != self.redacted and self.matcher.in_text(value):
                yield path
        elif isinstance(value, int | float) and self.matcher.in_number(value):
            yield path
