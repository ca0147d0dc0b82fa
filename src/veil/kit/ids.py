"""Opaque, unguessable, roughly time-ordered ids: `<prefix>_<26 chars>`.

48 bits of milliseconds then 80 random bits, Crockford base32: sortable by creation
(good for B-trees and stable pagination) and not guessable (80 bits of randomness).
"""

from __future__ import annotations

import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def _b32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    millis = int(time.time() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(80)
    return f"{prefix}_{_b32((millis << 80) | rand, 26)}"


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
