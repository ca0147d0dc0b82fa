"""The workspace's suppression key: 32 random bytes, stored sealed by the secret keyring.

Digests are HMAC-SHA256 under this key, not under a key derived from VEIL_SECRET_KEY, so a
secret rotation (`veil keys rotate-secret`) changes how the key is sealed, never the key
itself: every digest stays valid. `reseal_keys` seals each key again under the newest secret
(the rotate command runs it, and so does every sweep), so the retired secret can later be
dropped without losing the suppression list.
"""

from __future__ import annotations

import base64
import logging
import os

from sqlalchemy.orm import Session

from veil import db
from veil.compliance.suppressions.repository import SuppressionRepository, all_sealed_keys
from veil.kit.crypto import DecryptionError
from veil.kit.time import utcnow
from veil.models import SuppressionKey
from veil.runtime import Runtime

log = logging.getLogger(__name__)

KEY_BYTES = 32


def _aad(workspace_id: str) -> str:
    return f"suppression-key:{workspace_id}"


def _open(runtime: Runtime, workspace_id: str, sealed: str) -> bytes:
    key = base64.b64decode(runtime.seal_keyring.unseal(sealed, aad=_aad(workspace_id)))
    # A workspace's key never changes once made: the opened key is remembered for good.
    runtime.suppression_keys[workspace_id] = key
    return key


def existing_key(session: Session, runtime: Runtime, workspace_id: str) -> bytes | None:
    """The workspace's key, or None when it never suppressed anybody (nothing to look up)."""
    key = runtime.suppression_keys.get(workspace_id)
    if key is not None:
        return key
    sealed = SuppressionRepository(session, workspace_id).sealed_key()
    return None if sealed is None else _open(runtime, workspace_id, sealed)


def key_for_writing(session: Session, runtime: Runtime, workspace_id: str) -> bytes:
    """The workspace's key, made on first use (a concurrent first use wins or is read back)."""
    key = existing_key(session, runtime, workspace_id)
    if key is not None:
        return key
    keyring = runtime.seal_keyring
    fresh = base64.b64encode(os.urandom(KEY_BYTES)).decode()
    # A concurrent first use may store its key first: then that one is read back below.
    db.add_if_unique(
        session,
        SuppressionKey(
            workspace_id=workspace_id,
            key_sealed=keyring.seal(fresh, aad=_aad(workspace_id)),
            created_at=utcnow(),
        ),
    )
    sealed = SuppressionRepository(session, workspace_id).sealed_key()
    if sealed is None:  # pragma: no cover - the row was just written or read
        raise RuntimeError("the suppression key could not be stored")
    return _open(runtime, workspace_id, sealed)


def reseal_keys(runtime: Runtime) -> int:
    """Seal every key not sealed under the current secret again; how many were re-sealed."""
    keyring = runtime.seal_keyring
    resealed = 0
    with db.session_scope(runtime.sessionmaker) as session:
        rows = all_sealed_keys(session)
        for row in rows:
            if keyring.sealed_with_current(row.key_sealed):
                continue
            try:
                plain = keyring.unseal(row.key_sealed, aad=_aad(row.workspace_id))
            except DecryptionError:
                log.error(
                    "suppression key does not open under any configured secret",
                    extra={"fields": {"workspace_id": row.workspace_id}},
                )
                continue
            row.key_sealed = keyring.seal(plain, aad=_aad(row.workspace_id))
            resealed += 1
    return resealed
