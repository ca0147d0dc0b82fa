"""Small security helpers of the UI: cookie flags, CSRF comparison, sealed values in URLs."""

from __future__ import annotations

import hmac

from fastapi import Request

from veil.kit.crypto import DecryptionError, Keyring
from veil.runtime import Runtime

_SEAL_PREFIX = "v1."


def cookie_is_secure(request: Request, runtime: Runtime) -> bool:
    """Secure cookies over HTTPS (behind a proxy too, via forwarded headers) or when forced."""
    return request.url.scheme == "https" or bool(runtime.settings.cookie_secure)


def tokens_match(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing value on either side never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def seal_compact(keyring: Keyring, text: str, *, aad: str) -> str:
    """A sealed value without base64 padding, safe as is in a cookie or a query string."""
    return keyring.seal(text, aad=aad).rstrip("=")


def unseal_compact(keyring: Keyring, value: str, *, aad: str) -> str | None:
    if not value.startswith(_SEAL_PREFIX) or len(value) > 4000:
        return None
    body = value[len(_SEAL_PREFIX) :]
    try:
        return keyring.unseal(_SEAL_PREFIX + body + "=" * (-len(body) % 4), aad=aad)
    except (DecryptionError, ValueError):
        return None
