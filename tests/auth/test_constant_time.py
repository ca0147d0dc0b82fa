"""Secrets presented by clients are never compared with `==`: CSRF tokens and link signatures
go through hmac.compare_digest, and API keys, write keys and session cookies are looked up by
their SHA-256 (the database holds no token), so timing says nothing about a secret's prefix."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fixtures.factories import WorkspaceHandle
from tests.web.conftest import Browser
from veil.kit.crypto import Keyring
from veil.models import ApiKey, WebSession, WriteKey
from veil.runtime import Runtime


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bytes | str, bytes | str]]:
    """Every call of hmac.compare_digest, recorded (the real function still decides)."""
    calls: list[tuple[bytes | str, bytes | str]] = []
    real: Callable[..., bool] = hmac.compare_digest

    def recording(a: bytes | str, b: bytes | str) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    return calls


def test_a_forged_csrf_token_is_compared_in_constant_time(
    admin: Browser, comparisons: list[tuple[bytes | str, bytes | str]]
) -> None:
    forged = "A" * 43
    response = admin.client.post(
        "/profiles/search", data={"q": "x", "csrf_token": forged}, follow_redirects=False
    )
    assert response.status_code == 403
    assert any(forged.encode() in (a, b) for a, b in comparisons)


def test_the_login_forms_token_is_compared_in_constant_time(
    client: TestClient, comparisons: list[tuple[bytes | str, bytes | str]]
) -> None:
    client.get("/login")
    response = client.post(
        "/login", data={"email": "a@b.co", "password": "x", "csrf_token": "forged-token"}
    )
    assert response.status_code == 403
    assert any(b"forged-token" in (a, b) for a, b in comparisons)


def test_link_signatures_are_compared_in_constant_time(
    comparisons: list[tuple[bytes | str, bytes | str]],
) -> None:
    keyring = Keyring(["first-secret-0123456789", "older-secret-0123456789"], "links")
    tag = keyring.mac("rcp_1|https://shop.example.com/")
    assert keyring.verify_mac("rcp_1|https://shop.example.com/", tag)
    assert not keyring.verify_mac("rcp_1|https://shop.example.com/", "forged")
    assert ("forged" in {b for _, b in comparisons}) and len(comparisons) >= 3


def test_keys_and_sessions_are_stored_and_looked_up_by_hash_only(
    runtime: Runtime, ws: WorkspaceHandle, admin: Browser
) -> None:
    cookie = admin.client.cookies["veil_session"]
    with runtime.sessionmaker() as session:
        stored = [
            *session.scalars(select(ApiKey.key_hash)),
            *session.scalars(select(WriteKey.key_hash)),
            *session.scalars(select(WebSession.token_hash)),
        ]
        raw_tokens = [ws.admin_key, ws.member_key, ws.write_key, cookie]
        digests = {hashlib.sha256(t.encode()).hexdigest() for t in raw_tokens}
        assert digests <= set(stored)
        everything = " ".join(str(v) for v in stored)
        assert not any(token in everything for token in raw_tokens)
