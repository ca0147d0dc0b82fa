"""Password hashing with argon2id.

Verifying costs tens of milliseconds of CPU on purpose: callers run it outside any database
transaction (veil.web.sessions.check_password), so a flood of wrong passwords never holds a
lock that writers wait for. `hasher` is the seam tests replace with a slower one.
"""

from __future__ import annotations

from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, hash: str, password: str) -> bool: ...


hasher: Hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal which emails exist.
_DUMMY = hasher.hash("veil-dummy-password")


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
