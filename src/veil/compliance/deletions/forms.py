"""The forms an identifier travels in: case and accent folding, phone digit runs and formats,
URL encoding (percent-encoded once or twice, `+` for spaces), JSON string escapes written as
text (`\u00eb`) and HTML character references (`&#64;`, `&uuml;`). Pure text functions shared
by the scrubber's matcher and the prefilter."""

from __future__ import annotations

import html
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
    """The other ways `text` reads once an encoding is undone, up to two layers deep:
    - URL encoding: percent-decoded once or twice (`%40`, `%2540`), with `+` read as a space or
      not (`Ada+Lovelace`, `ada%2520lovelace`);
    - JSON string escapes kept as text, as in a JSON document stored inside a string (PHP's and
      Python's encoders write `Zo\\u00eb` for `Zoë` by default): `\\uXXXX` (surrogate pairs
      joined), `\\"`, `\\/`, `\\\\` and the control escapes;
    - HTML character references, as in a stored e-mail body or a scraped page: `&#64;`, `&#x40;`,
      `&uuml;`, `&amp;` (a named one with its semicolon; then the text is read as a browser
      would, `html.unescape`).
    So `Zo%5Cu00eb` and `&#37;40` read as well, the two layers in either order.

    Every decoding is local — each escape stands for itself — so the forms of a JSON text
    hold the forms of every string in it (the prefilter relies on that). Empty when there
    is nothing to decode.
    """
    if "%" not in text and "+" not in text and "\\" not in text and not _has_reference(text):
        return []
    forms: list[str] = []
    level = [text]
    for _depth in range(2):
        deeper: list[str] = []
        for form in level:
            for decoded in _decodings(form):
                if decoded != text and decoded not in forms:
                    forms.append(decoded)
                    deeper.append(decoded)
        level = deeper
    return forms


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_JSON_SHORT = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _decodings(form: str) -> Iterator[str]:
    yield unquote(form)
    yield unquote_plus(form)
    if "\\" in form:
        yield json_unescaped(form)
    if _has_reference(form):
        yield html.unescape(form)


# An HTML character reference: numeric, or named and closed by its semicolon (`&amp;`), so the
# `&` between query parameters (`?a=1&utm_source=mail`) costs no decoding.
_REFERENCE = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]{1,31};)")


def _has_reference(text: str) -> bool:
    return "&" in text and _REFERENCE.search(text) is not None


def json_unescaped(text: str) -> str:
    """`text` with the escapes of a JSON string undone (what `json.loads` would read between
    quotes); an escape that is not one is left as it is, and a lone surrogate reads as U+FFFD."""
    decoded = _JSON_ESCAPE.sub(
        lambda m: chr(int(m.group(1), 16)) if m.group(1) else _JSON_SHORT[m.group(2)], text
    )
    if _SURROGATE.search(decoded):  # a character beyond U+FFFF, written as two escapes
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return decoded


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
