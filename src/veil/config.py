"""Configuration: one Settings object read from VEIL_* environment variables and `.env`."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from veil.kit.entropy import MIN_SECRET_BITS, is_weak_secret
from veil.kit.time import parse_duration
from veil.ops.files import create_private_dir

SECRET_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
OLD_SECRETS_FILE = "old_secret_keys"


class WeakSecret(RuntimeError):
    """VEIL_ENV=prod with a default or guessable VEIL_SECRET_KEY: Veil refuses to start."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="VEIL_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "test", "prod"] = "dev"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    queue_url: str | None = None
    # A folder, or s3://bucket/prefix on any S3-compatible store (see storage_s3.py).
    export_store: str | None = None
    s3_endpoint_url: str | None = None
    # The standard AWS names (not VEIL_-prefixed), so boto3's usual configuration applies;
    # read here too so a `.env` file can hold them. Unset: boto3's credential chain.
    aws_access_key_id: str | None = Field(
        None, validation_alias=AliasChoices("AWS_ACCESS_KEY_ID", "aws_access_key_id")
    )
    aws_secret_access_key: str | None = Field(
        None, validation_alias=AliasChoices("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key")
    )
    aws_region: str | None = Field(None, validation_alias=AliasChoices("AWS_REGION", "aws_region"))
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
    # Where rate-limit counts are shared between web processes (redis://…); unset: the queue's
    # Redis when VEIL_QUEUE_URL is one, else each process counts alone.
    rate_limit_url: str | None = None
    compliance_rate_per_minute: int = 120
    # Erasure of a large profile works in batches of this many rows per transaction.
    erasure_batch_size: int = 2000
    # PostgreSQL: rewrite touched tables after erasures (see docs/erasure.md).
    pg_rewrite_after_erasure: bool = False
    # Privacy-request callbacks may call loopback/private addresses (development only).
    callback_allow_private: bool = False
    # GET /metrics requires `Authorization: Bearer <this>` when set.
    metrics_token: str | None = None
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
    def export_store_is_s3(self) -> bool:
        return bool(self.export_store and self.export_store.startswith("s3://"))

    @property
    def resolved_export_store(self) -> Path:
        """The export folder (the local store only)."""
        if self.export_store_is_s3:
            raise ValueError("the export store is an S3 bucket, not a folder")
        return Path(self.export_store) if self.export_store else self.data_dir / "exports"

    @property
    def resolved_queue_url(self) -> str:
        return self.queue_url or f"sqlite:///{(self.data_dir / 'queue.db').resolve()}"

    @property
    def resolved_rate_limit_url(self) -> str | None:
        if self.rate_limit_url:
            return self.rate_limit_url
        queue = self.resolved_queue_url
        return queue if queue.startswith(("redis://", "rediss://")) else None

    def secret_keys(self) -> list[str]:
        """The current secret first, then retired ones (for reading old ciphertexts)."""
        current = self.secret_key or _load_or_create_secret(self.data_dir, self.env)
        if self.env == "prod" and is_weak_secret(current):
            raise WeakSecret(
                "VEIL_SECRET_KEY is a default or too guessable (under "
                f"{MIN_SECRET_BITS} bits of estimated entropy); set a random value, e.g. "
                "`openssl rand -base64 48`"
            )
        old = [k.strip() for k in self.old_secret_keys.split(",") if k.strip()]
        retired = self.data_dir / OLD_SECRETS_FILE
        if retired.exists():
            old += [k.strip() for k in retired.read_text().splitlines() if k.strip()]
        return [current, *dict.fromkeys(k for k in old if k != current)]


def _load_or_create_secret(data_dir: Path, env: str) -> str:
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    create_private_dir(data_dir)
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
