"""A workspace: one store / tenant. Everything else belongs to exactly one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from veil.models.base import Base, IdType, TimestampMixin


class Workspace(TimestampMixin, Base):
    __tablename__ = "workspaces"

    id: Mapped[str] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    default_phone_region: Mapped[str] = mapped_column(String(2), default="US")
    # Extra property keys that count as personal data in event payloads (on top of defaults).
    pii_keys: Mapped[list[Any]] = mapped_column(default=list)
    # Sealed with the keyring; write-only through the API.
    shopify_webhook_secret_sealed: Mapped[str | None] = mapped_column(String(400), default=None)
    # Privacy requests (SPEC §8): the regulation a request falls under when it names none,
    # the deadline in days under `other`, and the HMAC key of signed callbacks (sealed).
    default_regulation: Mapped[str] = mapped_column(String(16), default="gdpr")
    other_regulation_days: Mapped[int] = mapped_column(default=30)
    callback_signing_secret_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    # SPEC §9: whether a deletion also suppresses the person when the request does not say.
    suppress_on_delete: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Retention durations ("400d"), null = keep (veil.compliance.retention).
    retention_events: Mapped[str | None] = mapped_column(String(32), default=None)
    retention_inactive_profiles: Mapped[str | None] = mapped_column(String(32), default=None)
