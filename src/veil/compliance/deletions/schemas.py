"""Deletion API shapes: the confirmation body and the "Deleted" table row (SPEC §5.5)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from veil.compliance.deletions.service import is_overdue, unseal_contact
from veil.compliance.profile_request import ProfileRequestRead
from veil.kit.crypto import Keyring
from veil.kit.time import rfc3339
from veil.models import DeletionRequest


class DeletionConfirm(BaseModel):
    """`{"confirm": true}`; anything else (missing, false, "yes") is not a confirmation."""

    model_config = ConfigDict(extra="ignore")

    confirm: Any = Field(
        default=None,
        description="Must be JSON true: deleting a profile cannot be undone.",
        json_schema_extra={"type": "boolean"},
    )

    suppress: bool | None = Field(
        default=None,
        strict=True,
        description="Also keep this person out: data carrying their identifiers is dropped "
        "from now on (SPEC §9). Default: the workspace setting suppress_on_delete.",
    )

    @property
    def confirmed(self) -> bool:
        return self.confirm is True


class DeletionRead(ProfileRequestRead):
    """One deletion request: the permanent record. name/email/phone are opened from their
    sealed copies (the profile itself no longer holds them)."""

    source: str
    status: str = Field(description="pending, processing, completed or failed (retried)")
    completed_at: str | None
    due_at: str = Field(description="one calendar month after the request (GDPR Art. 12(3))")
    overdue: bool = Field(description="not completed by due_at")
    summary: dict[str, Any] = Field(
        description="events_scrubbed, recipients_redacted, consents_deleted, "
        "identifiers_deleted, exports_destroyed, verified (and residue: the tables where the "
        "final search still found the person, when not verified) — empty until completed"
    )

    @classmethod
    def build(cls, request: DeletionRequest, keyring: Keyring) -> DeletionRead:
        contact = unseal_contact(keyring, request)
        return cls(
            **cls.shared_fields(request, contact),
            source=request.source,
            status=request.status,
            completed_at=rfc3339(request.completed_at),
            due_at=rfc3339(request.due_at) or "",
            overdue=is_overdue(request),
            summary=request.summary or {},
        )


class DeletionPage(BaseModel):
    data: list[DeletionRead]
    next_cursor: str | None
