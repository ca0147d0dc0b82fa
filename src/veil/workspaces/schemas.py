"""Workspace settings and API key shapes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from veil.kit.time import rfc3339
from veil.models import ApiKey, Workspace


class WorkspaceRead(BaseModel):
    id: str
    name: str
    default_phone_region: str
    pii_keys: list[str]
    # The secret itself is write-only: only whether one is set is ever returned.
    shopify_webhook_secret_set: bool
    suppress_on_delete: bool = Field(
        description="Whether a deletion also suppresses the person unless it says otherwise."
    )
    retention_events: str | None = Field(
        description="Events older than this are deleted by the sweep (null: kept)."
    )
    retention_inactive_profiles: str | None = Field(
        description="Profiles without an event or an update for this long are erased (null: kept)."
    )
    write_key: str | None = Field(
        description="Write key for the Segment-compatible ingestion API (HTTP Basic user name)."
    )
    default_regulation: str = Field(description="privacy requests that name none (§8)")
    other_regulation_days: int = Field(description="deadline in days under `other` (§8.5)")
    callback_signing_secret: str | None = Field(
        description="HMAC-SHA256 key of the Veil-Signature on privacy-request callbacks"
    )
    created_at: str
    updated_at: str

    @classmethod
    def build(
        cls, workspace: Workspace, *, write_key: str | None, callback_secret: str | None = None
    ) -> WorkspaceRead:
        return cls(
            id=workspace.id,
            name=workspace.name,
            default_phone_region=workspace.default_phone_region,
            pii_keys=[str(k) for k in workspace.pii_keys or []],
            shopify_webhook_secret_set=workspace.shopify_webhook_secret_sealed is not None,
            suppress_on_delete=workspace.suppress_on_delete,
            retention_events=workspace.retention_events,
            retention_inactive_profiles=workspace.retention_inactive_profiles,
            write_key=write_key,
            default_regulation=workspace.default_regulation,
            other_regulation_days=workspace.other_regulation_days,
            callback_signing_secret=callback_secret,
            created_at=rfc3339(workspace.created_at) or "",
            updated_at=rfc3339(workspace.updated_at) or "",
        )


class WorkspaceSettingsUpdate(BaseModel):
    """Only the fields given change. An empty shopify_webhook_secret removes the secret."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    default_phone_region: str | None = Field(default=None, min_length=2, max_length=2)
    pii_keys: list[str] | None = Field(default=None, max_length=200)
    shopify_webhook_secret: str | None = Field(default=None, max_length=200)
    default_regulation: Literal["gdpr", "uk_gdpr", "ccpa", "lgpd", "other"] | None = None
    other_regulation_days: int | None = Field(default=None, ge=1, le=365)
    suppress_on_delete: bool | None = Field(default=None, strict=True)
    # null is meaningful here (keep forever): only the fields sent change (`retention()`).
    retention_events: str | None = Field(default=None, max_length=32)
    retention_inactive_profiles: str | None = Field(default=None, max_length=32)

    def retention(self) -> dict[str, str | None]:
        """The retention settings this request sets, null included."""
        return {
            name: getattr(self, name)
            for name in ("retention_events", "retention_inactive_profiles")
            if name in self.model_fields_set
        }


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["admin", "member"]
    name: str = Field(default="", max_length=200)


class ApiKeyRead(BaseModel):
    id: str
    name: str
    role: str
    # The token's first characters, enough to recognise it: "veil_sk_Ab12…".
    masked: str
    active: bool
    created_at: str
    last_used_at: str | None
    revoked_at: str | None

    @classmethod
    def build(cls, key: ApiKey) -> ApiKeyRead:
        return cls(
            id=key.id,
            name=key.name,
            role=key.role,
            masked=f"{key.prefix}…",
            active=key.revoked_at is None,
            created_at=rfc3339(key.created_at) or "",
            last_used_at=rfc3339(key.last_used_at),
            revoked_at=rfc3339(key.revoked_at),
        )


class ApiKeyCreated(ApiKeyRead):
    token: str = Field(description="The API key itself. Shown once: it is stored only hashed.")


class ApiKeyPage(BaseModel):
    data: list[ApiKeyRead]
    next_cursor: str | None
