"""The forms an identifier travels in: case and accent folding, phone digit runs and formats,
and URL encoding (percent-encoded once or twice, `+` for spaces). Pure text functions shared by
the scrubber's matcher and the prefilter."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from urllib.parse import unquote, unquote_plus

import phonenumbers

# Characters people put between the digits of a phone number.
_PHONE_SEPARATORS = r"\s().\-/_\u2010-\u2015\u2212"
_DIGIT_RUN = re.compile(rf"\d(?:[{_PHONE_SEPARATORS}]*\d)*")
HAS_DIGIT = re.compile(r"\d")
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


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


def decoded_forms(text: str) -> list[str]:
    """The other ways `text` reads once URL encoding is undone: percent-decoded once or twice
    (`%40`, `%2540`), with `+` read as a space or not (`Ada+Lovelace`, `ada%2520lovelace`).

    Decoding is local — each `%XY` and `+` stands for itself — so the forms of a JSON text
    hold the forms of every string in it (the prefilter relies on that). Empty when there
    is nothing to decode.
    """
    if "%" not in text and "+" not in text:
        return []
    forms: list[str] = []
    level = [text]
    for _depth in range(2):
        deeper: list[str] = []
        for form in level:
            for decoded in (unquote(form), unquote_plus(form)):
                if decoded != text and decoded not in forms:
                    forms.append(decoded)
                    deeper.append(decoded)
        level = deeper
    return forms


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
