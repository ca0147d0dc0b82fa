"""API keys and write keys: issue (token shown once), resolve, revoke."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from veil.auth.principal import ROLES, Principal
from veil.db import SQLITE_BUSY_TIMEOUT_MS, WRITE_WAIT, is_read_only
from veil.errors import Unauthorized, ValidationFailed
from veil.kit.crypto import Keyring, hash_token
from veil.kit.ids import new_id, new_token
from veil.kit.time import utcnow
from veil.models import ApiKey, WriteKey
from veil.workspaces.repository import ApiKeyRepository, WriteKeyRepository

log = logging.getLogger("veil.auth")

API_KEY_PREFIX = "veil_sk_"
WRITE_KEY_PREFIX = "veil_wk_"


@dataclass
class IssuedKey:
    key: ApiKey
    token: str


def create_api_key(session: Session, *, workspace_id: str, role: str, name: str = "") -> IssuedKey:
    if role not in ROLES:
        raise ValidationFailed("role must be 'admin' or 'member'.")
    token = API_KEY_PREFIX + new_token(32)
    key = ApiKey(
        id=new_id("key"),
        workspace_id=workspace_id,
        role=role,
        name=name or f"{role} key",
        key_hash=hash_token(token),
        prefix=token[: len(API_KEY_PREFIX) + 4],
    )
    session.add(key)
    session.flush()
    return IssuedKey(key=key, token=token)


def list_api_keys(session: Session, *, workspace_id: str) -> list[ApiKey]:
    return list(
        session.scalars(ApiKeyRepository(session, workspace_id).api_keys().order_by(ApiKey.id))
    )


def revoke_api_key(session: Session, *, workspace_id: str, key_id: str) -> ApiKey:
    key = ApiKeyRepository(session, workspace_id).get_one(key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    return key


def principal_for_api_key(
    session: Session, token: str, *, writer: Session | None = None
) -> Principal:
    """The key's principal, read through `session`; its last use is recorded through `writer`
    when given (a write session the lookup was kept out of), else through `session`."""
    if not token.startswith(API_KEY_PREFIX):
        raise Unauthorized()
    key = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(token)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized()
    now = utcnow()
    # Touch at most once a minute: keeps reads from turning into writes on every request.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        if writer is not None:
            writer.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        elif is_read_only(session):
            _touch_elsewhere(session.get_bind().engine, key.id, now)
        else:
            key.last_used_at = now
    return Principal(
        workspace_id=key.workspace_id,
        role=key.role,
        actor=f"key:{key.id}",
        label=f"API key {key.name}",
    )


def _touch_elsewhere(engine: Engine, key_id: str, now: datetime) -> None:
    """Best effort from a read-only request: record the use in a short write of its own, and
    skip it (the next request records it) rather than make a read wait for a busy writer."""
    sqlite = engine.dialect.name == "sqlite"
    try:
        with engine.connect() as conn:
            conn.execution_options(**{WRITE_WAIT: 0.2})
            raw = conn.connection.driver_connection
            if sqlite and raw is not None:
                raw.execute("PRAGMA busy_timeout=200")
            try:
                with conn.begin():
                    conn.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
            finally:
                if sqlite and raw is not None:
                    raw.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    except OperationalError:
        log.info("api key use not recorded: database busy", extra={"api_key_id": key_id})


def create_write_key(
    session: Session, *, workspace_id: str, keyring: Keyring
) -> tuple[WriteKey, str]:
    token = WRITE_KEY_PREFIX + new_token(32)
    key = WriteKey(
        id=new_id("wk"),
        workspace_id=workspace_id,
        key_hash=hash_token(token),
        key_sealed=keyring.seal(token, aad=f"write-key:{workspace_id}"),
        prefix=token[: len(WRITE_KEY_PREFIX) + 4],
    )
    session.add(key)
    session.flush()
    return key, token


def workspace_for_write_key(session: Session, token: str) -> str:
    """The workspace id a write key ingests into; Unauthorized for unknown or revoked keys."""
    key = session.scalar(select(WriteKey).where(WriteKey.key_hash == hash_token(token)))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("Invalid write key.")
    return key.workspace_id


def reveal_write_key(key: WriteKey, keyring: Keyring) -> str:
    return keyring.unseal(key.key_sealed, aad=f"write-key:{key.workspace_id}")


def active_write_key(session: Session, *, workspace_id: str) -> WriteKey | None:
    return WriteKeyRepository(session, workspace_id).active()
