"""Normalising identifiers (SPEC §2): E.164 phones, and text that is not a phone refused."""

from __future__ import annotations

import pytest

from veil.errors import ValidationFailed
from veil.profiles.identifiers import normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("text", "region", "e164"),
    [
        ("+1 415 555 0132", "US", "+14155550132"),
        ("(415) 555-0132", "US", "+14155550132"),
        ("415.555.0132", "US", "+14155550132"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "US", "+442079460958"),
        ("+1 415 555 0132 ext. 12", "US", "+14155550132"),
        ("＋１ ４１５ ５５５ ０１３２", "US", "+14155550132"),  # fullwidth digits
    ],
)
def test_phones_in_common_formats_become_e164(text: str, region: str, e164: str) -> None:
    assert normalize_phone(text, region=region) == e164


@pytest.mark.parametrize(
    "text",
    [
        "call me maybe",
        "+14155550143xx",
        "Marchbanks +14155550143",
        "1-800-FLOWERS",
        "+1 415",
        "4" * 70,
    ],
)
def test_text_that_is_not_a_phone_number_is_refused(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalize_phone(text, region="US")
    assert text not in refused.value.message  # the input is never echoed back


def test_emails_are_trimmed_and_lower_cased() -> None:
    assert normalize_email("  Ada.Lovelace@Example.COM ") == "ada.lovelace@example.com"
    assert normalize_email("   ") is None
    with pytest.raises(ValidationFailed):
        normalize_email("ada@@example.com")
