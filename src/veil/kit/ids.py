"""Opaque, unguessable, roughly time-ordered ids: `<prefix>_<26 chars>`.

48 bits of milliseconds then 80 random bits, Crockford base32: sortable by creation
(good for B-trees and stable pagination) and not guessable (80 bits of randomness).
"""

from __future__ import annotations

import base64
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


# The stdlib's base32 (in C) with Crockford's letters: 20 bytes are exactly 32 characters, so
# the last `length` of them are the low 5 * length bits, most significant first.
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _ALPHABET.encode())


def _b32(value: int, length: int) -> str:
    """`value` (below 2 ** (5 * length), length ≤ 32) in `length` base32 digits."""
    return base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)[-length:].decode()


def new_id(prefix: str) -> str:
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(80)
    return f"{prefix}_{_b32((millis << 80) | rand, 26)}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
