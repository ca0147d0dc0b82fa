"""Tracking URLs of recipient records: an open pixel and signed click redirects.

A click URL carries the recipient's token, the destination and an HMAC of both, so the
redirect endpoint only ever sends people to URLs Veil itself put in a message.
"""

from __future__ import annotations

from urllib.parse import urlencode

from veil.kit.crypto import Keyring


def _message(token: str, url: str) -> str:
    return f"click|{token}|{url}"


def open_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/t/o/{token}"


def click_signature(keyring: Keyring, token: str, url: str) -> str:
    return keyring.mac(_message(token, url))


def click_url(base_url: str, keyring: Keyring, token: str, url: str) -> str:
    query = urlencode({"url": url, "sig": click_signature(keyring, token, url)})
    return f"{base_url.rstrip('/')}/t/c/{token}?{query}"


def verify_click(keyring: Keyring, token: str, url: str, sig: str) -> bool:
    """Constant-time check of a click signature (any configured key, for rotation)."""
    return keyring.verify_mac(_message(token, url), sig)
