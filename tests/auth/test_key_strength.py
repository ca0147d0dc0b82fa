"""Every secret Veil issues carries at least 32 random bytes (docs/security.md), write keys too
(issue 16: they had 24)."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle
from veil.auth.service import API_KEY_PREFIX, WRITE_KEY_PREFIX


def _random_bytes(token: str, prefix: str) -> int:
    assert token.startswith(prefix)
    body = token[len(prefix) :]
    return len(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_write_keys_and_api_keys_carry_at_least_32_random_bytes(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    assert _random_bytes(ws.write_key, WRITE_KEY_PREFIX) >= 32
    assert _random_bytes(ws.admin_key, API_KEY_PREFIX) >= 32
    created = client.post("/api/v1/workspace/keys", json={"role": "member"}, headers=ws.admin)
    assert created.status_code == 201, created.text
    assert _random_bytes(created.json()["token"], API_KEY_PREFIX) >= 32
