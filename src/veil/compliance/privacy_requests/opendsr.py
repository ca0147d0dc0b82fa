"""OpenDSR (SPEC §8.7): the published OpenDSR / OpenGDPR processor endpoints on top of privacy
requests — discovery, create, status, cancel — authenticated with an admin API key.

Mapping: `subject_request_type` `access` and `portability` → `access`, `erasure` → `erasure`;
identity types `email` → `email`, `controller_customer_id` → `external_id` (format `raw` only:
Veil matches identifiers, it cannot match a hash it never stored); `submitted_time` →
`received_at`; `subject_request_id` → `reference`, and it is the request's idempotency key, so
a controller re-sending a request gets the same one; statuses are Veil's (`pending`,
`in_progress`, `completed`, `cancelled`; a `failed` request, still owed and retryable, reads
`in_progress`). Deviations, documented in docs/privacy-requests.md: responses are not signed
with an X.509 certificate (callbacks carry Veil's HMAC `Veil-Signature` and §8.6 body), and
errors keep Veil's error shape.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, RuntimeDep, SessionDep
from veil.auth.limits import ComplianceAdmin
from veil.compliance.privacy_requests import service
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository
from veil.errors import (
    BadRequest,
    IdempotencyConflict,
    NotCancellable,
    NotFound,
    RateLimited,
    responses,
)
from veil.kit.time import rfc3339
from veil.models import PrivacyRequest
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
    Regulation,
)

router = APIRouter(prefix="/opendsr/v1", tags=["opendsr"], responses=ADMIN_RESPONSES)

API_VERSION = "1.0"
KEY_PREFIX = "opendsr:"
_TYPES = {
    "access": PrivacyRequestType.ACCESS,
    "portability": PrivacyRequestType.ACCESS,
    "erasure": PrivacyRequestType.ERASURE,
}
_IDENTITIES = {"email": "email", "controller_customer_id": "external_id"}


class OpenDsrIdentity(BaseModel):
    identity_type: Literal["email", "controller_customer_id"]
    identity_value: str = Field(min_length=1, max_length=320)
    identity_format: Literal["raw"]


class OpenDsrRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    subject_request_id: UUID
    subject_request_type: Literal["access", "portability", "erasure"]
    submitted_time: datetime
    subject_identities: list[OpenDsrIdentity] = Field(min_length=1, max_length=10)
    regulation: Literal["gdpr", "ccpa"]
    status_callback_urls: list[Annotated[str, Field(max_length=2048)]] = Field(
        default_factory=list, max_length=3
    )
    api_version: str | None = Field(default=None, max_length=20)
    extensions: dict[str, Any] | None = None


class OpenDsrCreated(BaseModel):
    controller_id: str
    expected_completion_time: str
    received_time: str
    encoded_request: str
    subject_request_id: str


class OpenDsrStatus(BaseModel):
    controller_id: str
    expected_completion_time: str
    subject_request_id: str
    request_status: str
    api_version: str
    results_count: int


class OpenDsrCancelled(BaseModel):
    controller_id: str
    subject_request_id: str
    received_time: str
    api_version: str


@router.get("/discovery", summary="What this OpenDSR processor supports")
def discovery(principal: AdminOnly) -> dict[str, Any]:
    return {
        "api_version": API_VERSION,
        "supported_identities": [
            {"identity_type": kind, "identity_format": "raw"} for kind in _IDENTITIES
        ],
        "supported_subject_request_types": list(_TYPES),
        "processor_certificate": None,
    }


async def raw_body(request: Request) -> bytes:
    """The body as sent (for `encoded_request`); Starlette caches it for the JSON parse too."""
    return await request.body()


@router.post(
    "/requests",
    status_code=201,
    summary="Receive an OpenDSR request (a privacy request with source opendsr)",
    responses=responses(BadRequest, IdempotencyConflict, RateLimited),
)
def create_opendsr_request(
    raw: Annotated[bytes, Depends(raw_body)],
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ComplianceAdmin,
    body: OpenDsrRequest,
) -> OpenDsrCreated:
    subject_request_id = str(body.subject_request_id)
    created, _new = service.create_request(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        new=service.NewRequest(
            type=_TYPES[body.subject_request_type],
            identities=[
                (_IDENTITIES[i.identity_type], i.identity_value) for i in body.subject_identities
            ],
            regulation=Regulation(body.regulation),
            received_at=body.submitted_time,
            reference=subject_request_id,
            callback_urls=list(body.status_callback_urls),
        ),
        source=PrivacyRequestSource.OPENDSR,
        requested_by=principal.label,
        actor=principal.actor,
        idempotency_key=KEY_PREFIX + subject_request_id,
        fingerprint=service.body_hash(body.model_dump(mode="json")),
    )
    return OpenDsrCreated(
        controller_id=principal.workspace_id,
        expected_completion_time=rfc3339(created.due_at) or "",
        received_time=rfc3339(created.created_at) or "",
        encoded_request=base64.b64encode(raw).decode(),
        subject_request_id=subject_request_id,
    )


def _find(session: SessionDep, workspace_id: str, subject_request_id: str) -> PrivacyRequest:
    found = PrivacyRequestRepository(session, workspace_id).by_idempotency_key(
        KEY_PREFIX + subject_request_id.lower()
    )
    if found is None:
        raise NotFound("OpenDSR request not found.")
    return found


def _status(request: PrivacyRequest) -> str:
    if request.status == PrivacyRequestStatus.FAILED:
        return str(PrivacyRequestStatus.IN_PROGRESS)
    return str(request.status)


@router.get(
    "/requests/{subject_request_id}",
    summary="The status of an OpenDSR request",
)
def opendsr_status(
    subject_request_id: str, session: SessionDep, principal: AdminOnly
) -> OpenDsrStatus:
    found = _find(session, principal.workspace_id, subject_request_id)
    return OpenDsrStatus(
        controller_id=principal.workspace_id,
        expected_completion_time=rfc3339(found.due_at) or "",
        subject_request_id=subject_request_id.lower(),
        request_status=_status(found),
        api_version=API_VERSION,
        results_count=len(found.profile_ids),
    )


@router.delete(
    "/requests/{subject_request_id}",
    status_code=202,
    summary="Cancel an OpenDSR request while it is pending",
    responses=responses(NotFound("OpenDSR request not found."), NotCancellable),
)
def cancel_opendsr_request(
    subject_request_id: str, session: SessionDep, principal: AdminOnly
) -> OpenDsrCancelled:
    found = _find(session, principal.workspace_id, subject_request_id)
    cancelled = service.cancel_request(
        session, workspace_id=principal.workspace_id, request_id=found.id, actor=principal.actor
    )
    return OpenDsrCancelled(
        controller_id=principal.workspace_id,
        subject_request_id=subject_request_id.lower(),
        received_time=rfc3339(cancelled.cancelled_at) or "",
        api_version=API_VERSION,
    )
