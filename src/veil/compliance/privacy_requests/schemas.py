"""Privacy-request API shapes (SPEC §8): create, bulk, extend, and the request as read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from veil.compliance.privacy_requests import deadlines, free_text
from veil.compliance.privacy_requests.identities import unseal_identities
from veil.kit.crypto import DecryptionError, Keyring
from veil.kit.time import rfc3339
from veil.models import PrivacyCallback, PrivacyRequest
from veil.models.privacy_callback import DeliveryStatus
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
    Regulation,
)

CallbackUrl = Annotated[str, Field(min_length=1, max_length=2048)]


def _body_config(*, example: dict[str, Any]) -> ConfigDict:
    """A request body's config: unknown fields refused, `example` shown in the OpenAPI document."""
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email", "phone", "external_id", "profile_id"]
    value: str = Field(min_length=1, max_length=320)


class PrivacyRequestCreate(BaseModel):
    model_config = _body_config(
        example={
            "type": "erasure",
            "identities": [{"type": "email", "value": "ada@example.com"}],
            "regulation": "gdpr",
            "reference": "TICKET-1234",
            "callback_urls": ["https://privacy.example.com/veil-callback"],
        }
    )

    type: PrivacyRequestType
    identities: list[IdentityIn] = Field(min_length=1, max_length=10)
    regulation: Regulation | None = Field(
        default=None, description="default: the workspace setting default_regulation"
    )
    received_at: datetime | None = Field(
        default=None, description="RFC 3339 with an offset; not in the future; default now"
    )
    reference: str | None = Field(default=None, max_length=200)
    callback_urls: list[CallbackUrl] = Field(default_factory=list, max_length=3)
    suppress: bool | None = Field(default=None, description="erasure only")


class BulkSubject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: list[IdentityIn] = Field(min_length=1, max_length=10)
    reference: str | None = Field(default=None, max_length=200)


class PrivacyRequestBulkCreate(BaseModel):
    model_config = _body_config(
        example={
            "type": "access",
            "regulation": "ccpa",
            "subjects": [
                {"identities": [{"type": "email", "value": "ada@example.com"}]},
                {
                    "identities": [{"type": "phone", "value": "+14155550143"}],
                    "reference": "case-2",
                },
            ],
        }
    )

    type: PrivacyRequestType
    regulation: Regulation | None = None
    suppress: bool | None = None
    callback_urls: list[CallbackUrl] = Field(default_factory=list, max_length=3)
    subjects: list[BulkSubject] = Field(min_length=1, max_length=5000)


class PrivacyRequestBulkCreated(BaseModel):
    requests: list[str] = Field(description="the new requests' ids, in the order of subjects")


class ExtendBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class RequestFilters(BaseModel):
    """The list's filters (`?status=&type=&source=&overdue=`), for the API and the UI alike;
    each one narrows the SQL, and none set lists every request."""

    model_config = ConfigDict(frozen=True)  # one default instance is shared

    status: PrivacyRequestStatus | None = None
    type: PrivacyRequestType | None = None
    source: PrivacyRequestSource | None = None
    overdue: bool | None = None


class IdentityRead(BaseModel):
    type: str
    value: str


class CallbackState(BaseModel):
    url: str
    status: DeliveryStatus = Field(description="pending, delivered or failed")
    attempts: int
    last_status_code: int | None
    last_attempt_at: str | None


class PrivacyRequestRead(BaseModel):
    id: str
    type: PrivacyRequestType
    status: PrivacyRequestStatus
    regulation: Regulation
    source: PrivacyRequestSource
    identities: list[IdentityRead] = Field(description="as normalised; admins only")
    reference: str | None
    received_at: str
    due_at: str
    extended: bool
    extension_reason: str | None
    overdue: bool
    completed_at: str | None
    cancelled_at: str | None
    requested_by: str
    suppress: bool
    profile_ids: list[str]
    export_ids: list[str]
    deletion_ids: list[str]
    verified: bool | None = Field(description="erasure: true only when every deletion verified")
    callbacks: list[CallbackState]
    created_at: str

    @classmethod
    def build(
        cls,
        request: PrivacyRequest,
        *,
        keyring: Keyring,
        deliveries: Sequence[PrivacyCallback],
        now: datetime,
    ) -> PrivacyRequestRead:
        try:
            identities = [
                IdentityRead(type=i.type, value=i.value)
                for i in unseal_identities(
                    keyring,
                    request.identities_sealed,
                    workspace_id=request.workspace_id,
                    request_id=request.id,
                )
            ]
        except DecryptionError:
            identities = []  # sealed under a secret no longer configured
        return cls(
            id=request.id,
            type=request.type,
            status=request.status,
            regulation=request.regulation,
            source=request.source,
            identities=identities,
            reference=free_text.reference_of(keyring, request),
            received_at=rfc3339(request.received_at) or "",
            due_at=rfc3339(request.due_at) or "",
            extended=request.extended,
            extension_reason=free_text.extension_reason_of(keyring, request),
            overdue=deadlines.is_overdue(request.status, request.due_at, now=now),
            completed_at=rfc3339(request.completed_at),
            cancelled_at=rfc3339(request.cancelled_at),
            requested_by=request.requested_by,
            suppress=request.suppress,
            profile_ids=[str(i) for i in request.profile_ids],
            export_ids=[str(i) for i in request.export_ids],
            deletion_ids=[str(i) for i in request.deletion_ids],
            verified=request.verified,
            callbacks=callback_states(request, deliveries),
            created_at=rfc3339(request.created_at) or "",
        )


def callback_states(
    request: PrivacyRequest, deliveries: Sequence[PrivacyCallback]
) -> list[CallbackState]:
    """Per URL: pending while a delivery is, failed when one gave up, else delivered."""
    states: list[CallbackState] = []
    for url in request.callback_urls:
        mine = [d for d in deliveries if d.url == url and d.request_id == request.id]
        if any(d.status == DeliveryStatus.PENDING for d in mine) or not mine:
            status = DeliveryStatus.PENDING
        elif any(d.status == DeliveryStatus.FAILED for d in mine):
            status = DeliveryStatus.FAILED
        else:
            status = DeliveryStatus.DELIVERED
        # A delivery is tried only once the earlier ones to its URL settled: by seq, the
        # last one tried is the latest attempt.
        tried = sorted((d for d in mine if d.last_attempt_at is not None), key=lambda d: d.seq)
        last = tried[-1] if tried else None
        states.append(
            CallbackState(
                url=str(url),
                status=status,
                attempts=sum(d.attempts for d in mine),
                last_status_code=last.last_status_code if last else None,
                last_attempt_at=rfc3339(last.last_attempt_at) if last else None,
            )
        )
    return states


class PrivacyRequestPage(BaseModel):
    data: list[PrivacyRequestRead]
    next_cursor: str | None
