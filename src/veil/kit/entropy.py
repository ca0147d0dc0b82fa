"""How guessable a secret is: a conservative entropy estimate in bits (not its length).

Three estimates, the lowest wins: the characters' Shannon entropy times the length (repeats
and small alphabets score low), the alphabet's size to the power of the length, and the size
of the secret compressed (patterns such as "abcabcabc…" or keyboard runs compress away).
"""

from __future__ import annotations

import math
import string
import zlib
from collections import Counter

# Defaults seen in examples and docs: refused whatever their estimated entropy.
KNOWN_DEFAULTS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "veil", "password", "test", "example"}
)
MIN_SECRET_BITS = 128

_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, string.punctuation)


def estimated_entropy_bits(secret: str) -> float:
    if not secret:
        return 0.0
    counts = Counter(secret)
    length = len(secret)
    shannon = -sum(n / length * math.log2(n / length) for n in counts.values()) * length
    alphabet = sum(len(c) for c in _CLASSES if any(ch in c for ch in secret))
    alphabet += sum(1 for ch in counts if not any(ch in c for c in _CLASSES))
    by_alphabet = length * math.log2(max(alphabet, 2))
    # zlib's header and block overhead (~11 bytes) carries no information about the secret.
    compressed = max(len(zlib.compress(secret.encode(), 9)) - 11, 1) * 8
    return min(shannon, by_alphabet, float(compressed))


def is_weak_secret(secret: str) -> bool:
    if secret.strip().lower() in KNOWN_DEFAULTS:
        return True
    return estimated_entropy_bits(secret) < MIN_SECRET_BITS
