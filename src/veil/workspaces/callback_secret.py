"""The workspace's `callback_signing_secret` (SPEC §8.6): the HMAC key of signed callbacks.

Generated per workspace, stored sealed (AAD bound to the workspace), shown to admins by
`GET /api/v1/workspace` and replaced by the rotate endpoint. Callbacks are signed with the
secret current at delivery time, so after a rotation receivers verify with the new one.
"""

from __future__ import annotations

from veil.kit.crypto import Keyring
from veil.kit.ids import new_token
from veil.models import Workspace

PREFIX = "vcs_"


def _aad(workspace_id: str) -> str:
    return f"callback-secret:{workspace_id}"


def reveal(workspace: Workspace, keyring: Keyring) -> str | None:
    return keyring.unseal_optional(workspace.callback_signing_secret_sealed, aad=_aad(workspace.id))


def rotate(workspace: Workspace, keyring: Keyring) -> str:
    """A new random secret replaces the old one (the caller's transaction commits it)."""
    secret = PREFIX + new_token(32)
    workspace.callback_signing_secret_sealed = keyring.seal(secret, aad=_aad(workspace.id))
    return secret


def ensure(workspace: Workspace, keyring: Keyring) -> str:
    """The secret, created on first need (workspaces made before privacy requests have none)."""
    return reveal(workspace, keyring) or rotate(workspace, keyring)
