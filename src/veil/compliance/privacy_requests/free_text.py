"""A privacy request's free text, never in clear at rest (SPEC §5.3: no plaintext email,
phone or name in the database file).

The requester chooses the `reference` and the Idempotency-Key, an admin writes the extension's
reason: any of them may name the person. The reference and the reason are sealed like the
identities (AES-GCM under the secret keyring, bound to their workspace, request and field) and
opened for admins and for the callback body when it is sent. The Idempotency-Key is only ever
compared, so only its SHA-256 is kept. Rows written before this sealing keep their text in the
plain columns until the sweep seals it (`seal_plain_text`); reads take either.
"""

from __future__ import annotations

import hashlib
from typing import Literal
from weakref import WeakSet

import orjson
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from veil import db
from veil.kit.crypto import DecryptionError, Keyring
from veil.models import PrivacyCallback, PrivacyRequest
from veil.runtime import Runtime

Field = Literal["reference", "extension_reason"]
FIELDS: tuple[Field, ...] = ("reference", "extension_reason")

_DIGEST_PREFIX = "sha256:"
_BATCH = 500


def idempotency_digest(key: str) -> str:
    """What is stored for an Idempotency-Key (and looked up): its SHA-256, domain-separated.
    The migration `privacy_request_free_text` hashed the keys stored before with this."""
    return _DIGEST_PREFIX + hashlib.sha256(b"veil.idempotency-key\x00" + key.encode()).hexdigest()


def _aad(workspace_id: str, request_id: str, field: Field) -> str:
    return f"privacy-request:{workspace_id}:{request_id}:{field}"


def seal(
    keyring: Keyring, value: str | None, *, workspace_id: str, request_id: str, field: Field
) -> str | None:
    return keyring.seal_optional(value, aad=_aad(workspace_id, request_id, field))


def reference_of(keyring: Keyring, request: PrivacyRequest) -> str | None:
    return _open(keyring, request, "reference", request.reference_sealed, request.reference)


def extension_reason_of(keyring: Keyring, request: PrivacyRequest) -> str | None:
    return _open(
        keyring,
        request,
        "extension_reason",
        request.extension_reason_sealed,
        request.extension_reason,
    )


def _open(
    keyring: Keyring, request: PrivacyRequest, field: Field, sealed: str | None, plain: str | None
) -> str | None:
    if sealed is None:
        return plain  # written before the seal; the sweep seals it
    try:
        return keyring.unseal(sealed, aad=_aad(request.workspace_id, request.id, field))
    except DecryptionError:
        return None  # sealed under a secret no longer configured (as the identities)


def with_reference(body: str, reference: str | None) -> str:
    """The body as sent: the stored body with the request's reference (its place and key order
    kept; a body stored before sealing already holds it, and gets the same value)."""
    document = orjson.loads(body)
    document["reference"] = reference
    return orjson.dumps(document).decode()


# Runtimes whose sweep found nothing left to seal: new rows are sealed when written, so the
# search is not repeated for the life of the process.
_SEALED: WeakSet[Runtime] = WeakSet()


def seal_plain_text(runtime: Runtime) -> int:
    """Seal the references and reasons of rows written before sealing, and take the reference
    out of their stored callback bodies, a batch a sweep; how many rows were changed."""
    if runtime in _SEALED:
        return 0
    keyring = runtime.seal_keyring
    with db.session_scope(runtime.sessionmaker) as session:
        bodies = _bodies_with_reference(session)
        for delivery in bodies:
            delivery.body = with_reference(delivery.body, None)
        rows = _plain_rows(session)
        for request in rows:
            for field in FIELDS:
                plain = getattr(request, field)
                if plain is not None:
                    sealed = seal(
                        keyring,
                        plain,
                        workspace_id=request.workspace_id,
                        request_id=request.id,
                        field=field,
                    )
                    setattr(request, f"{field}_sealed", sealed)
                    setattr(request, field, None)
    if len(rows) < _BATCH and len(bodies) < _BATCH:
        _SEALED.add(runtime)
    return len(rows) + len(bodies)


def _plain_rows(session: Session) -> list[PrivacyRequest]:
    stmt = (
        select(PrivacyRequest)
        .where(
            or_(PrivacyRequest.reference.is_not(None), PrivacyRequest.extension_reason.is_not(None))
        )
        .limit(_BATCH)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def _bodies_with_reference(session: Session) -> list[PrivacyCallback]:
    # orjson writes no spaces: a body stored before sealing reads `"reference":"…"`.
    stmt = (
        select(PrivacyCallback)
        .where(PrivacyCallback.body.contains('"reference":"', autoescape=True))
        .limit(_BATCH)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))
