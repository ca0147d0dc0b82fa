"""Normalising incoming identifiers: emails trimmed and lower-cased, phones to E.164."""

from __future__ import annotations

import re

import phonenumbers

from veil.errors import ValidationFailed

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Digits and the usual formatting, optionally an extension. phonenumbers alone would pull a
# number out of any text ("call Ada +1 415…", "+14155550143xx") and store it silently.
_PHONE_TEXT = re.compile(r"^[+＋]?[\d\s().\-/]+(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?$", re.IGNORECASE)


def _no_nul(value: str, field: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail on insert.
    if "\x00" in value:
        raise ValidationFailed(f"{field} contains a NUL character.")
    return value


def normalize_email(value: str | None) -> str | None:
    if value is None:
        return None
    email = _no_nul(value, "email").strip().lower()
    if not email:
        return None
    if len(email) > 320 or not _EMAIL.match(email):
        raise ValidationFailed("email is not a valid email address.")
    return email


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
