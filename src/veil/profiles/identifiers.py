"""Normalising incoming identifiers: emails validated and put in one canonical form, phones
to E.164.

Emails (SPEC §2: trimmed and lower-cased), checked by `email-validator` for syntax and IDNA,
without any DNS lookup. The canonical stored form is the whole address lower-cased with its
domain in Unicode (IDNA-decoded, NFC): `ADA@xn--bcher-kva.de` and `ada@Bücher.de` are both
stored as `ada@bücher.de`, one identity. `email_forms` gives every form of an address that a
search (erasure) must look for: the canonical one and the ASCII (Punycode) domain's.
Addresses at reserved names that cannot receive mail (`.invalid`, `.local`, `.localhost`,
`.onion`, `.arpa`) are refused; `.test` is allowed for test and staging setups.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import (
    SPECIAL_USE_DOMAIN_NAMES,
    EmailNotValidError,
    ValidatedEmail,
    validate_email,
)

from veil.errors import ValidationFailed

MAX_EMAIL = 320
_ADDRESS_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# The everyday address, lower-cased: ASCII letters, digits and `._+-` in dot-separated runs
# before the @; after it, hostname labels (letters, digits, inner hyphens) and a top-level
# domain of letters. email-validator accepts every such address of legal lengths outside the
# reserved names and gives it back unchanged (its domain lower-cased), so `normalize_email`
# answers it without the library (~25 µs a call, most of batch ingestion's identity work);
# anything else, a `--` in the domain (Punycode) included, still goes through the library.
# tests/profiles/test_email_fast_path.py proves the answers equal.
_PLAIN_EMAIL = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}",
    re.ASCII,
)
_RESERVED_DOMAINS = frozenset(SPECIAL_USE_DOMAIN_NAMES) - {"test"}  # test_environment=True
# Digits and the usual formatting, optionally an extension. phonenumbers alone would pull a
# number out of any text ("call Ada +1 415…", "+14155550143xx") and store it silently.
_PHONE_TEXT = re.compile(r"^[+＋]?[\d\s().\-/]+(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?$", re.IGNORECASE)


def _no_nul(value: str, field: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail on insert.
    if "\x00" in value:
        raise ValidationFailed(f"{field} contains a NUL character.")
    return value


def _validated(text: str) -> ValidatedEmail:
    return validate_email(
        text,
        check_deliverability=False,  # no DNS: normalising must not depend on the network
        allow_smtputf8=True,
        test_environment=True,
    )


def _plain_email(text: str) -> str | None:
    """`text` lower-cased when it is an everyday address (`_PLAIN_EMAIL`), else None."""
    if not text.isascii() or len(text) > 254:
        return None
    lowered = text.lower()
    if _PLAIN_EMAIL.fullmatch(lowered) is None:
        return None
    local, _, domain = lowered.partition("@")
    if len(local) > 64 or len(domain) > 253 or "--" in domain:
        return None
    if _RESERVED_DOMAINS.isdisjoint(_suffixes(domain)):
        return lowered
    return None


def _suffixes(domain: str) -> list[str]:
    """`a.b.c` → `["a.b.c", "b.c", "c"]`: the names a reserved name could be (it matches the
    whole domain or a dot-separated end of it, as email-validator checks)."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def normalize_email(value: str | None) -> str | None:
    """The canonical form of an address (see the module docstring), None for blank."""
    if value is None:
        return None
    text = _no_nul(value, "email").strip()
    if not text:
        return None
    if len(text) > MAX_EMAIL:
        raise ValidationFailed("email is not a valid email address.")
    plain = _plain_email(text)
    if plain is not None:
        return plain
    try:
        checked = _validated(text)
    except EmailNotValidError:
        # The library's reason may quote the address: the message names the field only.
        raise ValidationFailed("email is not a valid email address.") from None
    return f"{checked.local_part}@{checked.domain}".lower()


def email_forms(value: str) -> tuple[str, ...]:
    """Every form of this address a search must match: the canonical one and the one with
    an ASCII (Punycode) domain. Never raises: text that merely looks like an address (stored
    before the checks were this strict, e.g. `a@b..com`) is searched for as it is, trimmed and
    lower-cased, so an erasure never skips it; anything else has no forms."""
    text = value.strip().lower()
    try:
        checked = _validated(text)
    except EmailNotValidError:
        return (text,) if _ADDRESS_SHAPE.match(text) else ()
    local = checked.local_part.lower()
    forms = (f"{local}@{checked.domain}".lower(), f"{local}@{checked.ascii_domain}".lower())
    return tuple(dict.fromkeys((*forms, text)))


def normalize_phone(value: str | None, *, region: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if len(text) > 64 or not _PHONE_TEXT.match(text):
        raise ValidationFailed("phone may hold only digits, spaces and + ( ) - . / characters.")
    try:
        number = phonenumbers.parse(text, region.upper() or None)
    except phonenumbers.NumberParseException:
        raise ValidationFailed("phone is not a parseable phone number.") from None
    if not phonenumbers.is_possible_number(number):
        raise ValidationFailed("phone is not a possible phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_external_id(value: str | int | None) -> str | None:
    if value is None:
        return None
    text = _no_nul(str(value), "external_id").strip()
    if not text:
        return None
    if len(text) > 255:
        raise ValidationFailed("external_id is longer than 255 characters.")
    return text
