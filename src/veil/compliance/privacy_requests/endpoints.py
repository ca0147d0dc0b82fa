"""HTTP: /api/v1/privacy-requests (SPEC §8) — parse, call the service, shape the answer. Admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.orm import Session

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, RuntimeDep, SessionDep
from veil.auth.limits import ComplianceAdmin
from veil.compliance.privacy_requests import service
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository
from veil.compliance.privacy_requests.schemas import (
    ExtendBody,
    PrivacyRequestBulkCreate,
    PrivacyRequestBulkCreated,
    PrivacyRequestCreate,
    PrivacyRequestPage,
    PrivacyRequestRead,
    RequestFilters,
)
from veil.errors import (
    AlreadyExtended,
    IdempotencyConflict,
    NotCancellable,
    NotExtendable,
    NotFound,
    RateLimited,
    ValidationFailed,
    responses,
)
from veil.kit.time import utcnow
from veil.listing import PageQuery
from veil.models import PrivacyRequest
from veil.models.privacy_request import (
    PrivacyRequestSource,
)
from veil.runtime import Runtime

router = APIRouter(
    prefix="/api/v1/privacy-requests", tags=["privacy requests"], responses=ADMIN_RESPONSES
)

_NOT_FOUND = NotFound("Privacy request not found.")


def read_requests(
    session: Session, runtime: Runtime, requests: list[PrivacyRequest]
) -> list[PrivacyRequestRead]:
    """The API shape of some requests of one workspace, with their deliveries in one query."""
    if not requests:
        return []
    repo = PrivacyRequestRepository(session, requests[0].workspace_id)
    deliveries = repo.deliveries([r.id for r in requests])
    now = utcnow()
    return [
        PrivacyRequestRead.build(r, keyring=runtime.seal_keyring, deliveries=deliveries, now=now)
        for r in requests
    ]


def read_request(session: Session, runtime: Runtime, request: PrivacyRequest) -> PrivacyRequestRead:
    return read_requests(session, runtime, [request])[0]


@router.post(
    "",
    status_code=202,
    summary="Receive a data-subject request, naming the person by identities",
    responses={
        200: {"description": "the same Idempotency-Key and body again: the first request"},
        **responses(IdempotencyConflict, ValidationFailed, RateLimited),
    },
)
def create_privacy_request(
    body: PrivacyRequestCreate,
    response: Response,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ComplianceAdmin,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> PrivacyRequestRead:
    request, created = service.create_request(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        new=service.NewRequest(
            type=body.type,
            identities=[(i.type, i.value) for i in body.identities],
            regulation=body.regulation,
            received_at=body.received_at,
            reference=body.reference,
            callback_urls=list(body.callback_urls),
            suppress=body.suppress,
        ),
        source=PrivacyRequestSource.API,
        requested_by=principal.label,
        actor=principal.actor,
        idempotency_key=idempotency_key,
        fingerprint=service.body_hash(body.model_dump(mode="json", exclude_unset=True)),
    )
    if not created:
        response.status_code = 200
    return read_request(session, runtime, request)


@router.post(
    "/bulk",
    status_code=202,
    summary="Receive up to 5,000 requests at once (all or nothing)",
    responses=responses(
        ValidationFailed("subjects[12]: email is not a valid email address."),
        RateLimited,
    ),
)
def create_bulk(
    body: PrivacyRequestBulkCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ComplianceAdmin,
) -> PrivacyRequestBulkCreated:
    ids = service.create_bulk(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        type=body.type,
        regulation=body.regulation,
        suppress=body.suppress,
        callback_urls=list(body.callback_urls),
        subjects=[
            service.BulkSubject(
                identities=[(i.type, i.value) for i in s.identities], reference=s.reference
            )
            for s in body.subjects
        ],
        requested_by=principal.label,
        actor=principal.actor,
    )
    return PrivacyRequestBulkCreated(requests=ids)


@router.get(
    "",
    summary="Privacy requests, newest first",
)
def list_privacy_requests(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: AdminOnly,
    page: PageQuery,
    filters: Annotated[RequestFilters, Query()],
) -> PrivacyRequestPage:
    rows, next_cursor = service.page_requests(
        session, workspace_id=principal.workspace_id, filters=filters, page=page
    )
    return PrivacyRequestPage(data=read_requests(session, runtime, rows), next_cursor=next_cursor)


@router.get(
    "/{request_id}",
    summary="One privacy request",
    responses=responses(_NOT_FOUND),
)
def get_privacy_request(
    request_id: str, session: SessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> PrivacyRequestRead:
    request = service.get_request(
        session, workspace_id=principal.workspace_id, request_id=request_id
    )
    return read_request(session, runtime, request)


@router.post(
    "/{request_id}/extend",
    summary="Extend the deadline once, as the regulation allows",
    responses=responses(
        _NOT_FOUND,
        AlreadyExtended,
        NotExtendable,
        ValidationFailed("reason is required (1 to 500 characters)."),
    ),
)
def extend_privacy_request(
    request_id: str,
    body: ExtendBody,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: AdminOnly,
) -> PrivacyRequestRead:
    request = service.extend_request(
        session,
        workspace_id=principal.workspace_id,
        request_id=request_id,
        reason=body.reason,
        actor=principal.actor,
        keyring=runtime.seal_keyring,
    )
    return read_request(session, runtime, request)


@router.post(
    "/{request_id}/cancel",
    summary="Cancel a request no step of which has started",
    responses=responses(_NOT_FOUND, NotCancellable),
)
def cancel_privacy_request(
    request_id: str, session: SessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> PrivacyRequestRead:
    request = service.cancel_request(
        session, workspace_id=principal.workspace_id, request_id=request_id, actor=principal.actor
    )
    return read_request(session, runtime, request)
