"""Configuration: one Settings object read from VEIL_* environment variables and `.env`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from veil.kit.time import parse_duration

_INSECURE_SECRETS = {"", "changeme", "change-me", "secret", "dev", "veil"}
SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
OLD_SECRETS_FILE = "old_secret_keys"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VEIL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    queue_url: str | None = None
    export_store: Path | None = None
    secret_key: str | None = None
    # Retired secrets still accepted for decryption (comma separated), newest first; plus
    # those `veil keys rotate-secret` moved into <data dir>/old_secret_keys.
    old_secret_keys: str = ""
    export_ttl: timedelta = timedelta(days=7)
    sweep_interval: timedelta = timedelta(seconds=60)
    job_lease: timedelta = timedelta(minutes=5)
    # How long delivery ids (Segment messageId, Shopify webhook id, open counters) are kept
    # for de-duplication; the sweep prunes older ones.
    dedup_retention: timedelta = timedelta(days=7)
    job_max_attempts: int = 5
    max_body_bytes: int = 5 * 1024 * 1024
    log_level: str = "INFO"
    log_file: Path | None = None
    base_url: str = "http://127.0.0.1:8000"
    # Rate limits (requests per minute per client / per workspace).
    login_rate_per_minute: int = 10
    compliance_rate_per_minute: int = 120
    # Erasure of a large profile works in batches of this many rows per transaction.
    erasure_batch_size: int = 2000
    # PostgreSQL: rewrite touched tables after erasures (see docs/erasure.md).
    pg_rewrite_after_erasure: bool = False
    # Force cookies `Secure` even when the request itself arrived over HTTP (behind TLS proxies).
    cookie_secure: bool | None = None

    @field_validator("export_ttl", "sweep_interval", "job_lease", "dedup_retention", mode="before")
    @classmethod
    def _duration(cls, value: object) -> timedelta:
        if isinstance(value, str | int | float | timedelta):
            return parse_duration(value)
        raise ValueError("not a duration")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'veil.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def resolved_export_store(self) -> Path:
        return self.export_store or (self.data_dir / "exports")

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    def secret_keys(self) -> list[str]:
        """The current secret first, then retired ones (for reading old ciphertexts)."""
        current = self.secret_key or _load_or_create_secret(self.data_dir, self.env)
        weak = current.strip().lower() in _INSECURE_SECRETS or len(current) < 16
        if weak and self.env == "prod":
            raise RuntimeError("VEIL_SECRET_KEY is missing or a default; set a long random value")
        old = [k.strip() for k in self.old_secret_keys.split(",") if k.strip()]
        retired = self.data_dir / OLD_SECRETS_FILE
        if retired.exists():
            old += [k.strip() for k in retired.read_text().splitlines() if k.strip()]
        return [current, *dict.fromkeys(k for k in old if k != current)]


def _load_or_create_secret(data_dir: Path, env: str) -> str:
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = new_secret()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
    return value


def new_secret() -> str:
    return secrets.token_urlsafe(48)


@lru_cache
def get_settings() -> Settings:
    return Settings()
