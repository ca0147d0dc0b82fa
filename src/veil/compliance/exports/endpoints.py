"""HTTP: export requests (SPEC §4) — parse, call the service, shape the answer. Admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, RuntimeDep, SessionDep, WriteSessionDep
from veil.auth.limits import ComplianceAdmin
from veil.compliance.api_requests import for_profile
from veil.compliance.exports import service
from veil.compliance.exports.download import stream_export
from veil.compliance.exports.schemas import ExportPage, ExportRead
from veil.compliance.privacy_requests import profile_actions
from veil.errors import (
    AlreadyRequested,
    Conflict,
    ExportExpired,
    ExportNotReady,
    NotAContact,
    NotFound,
    ProfileDeleted,
    RateLimited,
    responses,
)
from veil.listing import PageQuery

router = APIRouter(tags=["compliance"], responses=ADMIN_RESPONSES)


@router.post(
    "/api/v1/profiles/{profile_id}/export",
    status_code=202,
    summary="Request an export of everything stored about one contact",
    responses=responses(NotFound, AlreadyRequested, ProfileDeleted, NotAContact, RateLimited),
)
def request_export(
    profile_id: str, session: SessionDep, runtime: RuntimeDep, principal: ComplianceAdmin
) -> ExportRead:
    export = for_profile(profile_actions.export_profile, session, runtime, principal, profile_id)
    return service.read_export(session, workspace_id=principal.workspace_id, export=export)


@router.get(
    "/api/v1/compliance/exports",
    summary='The "Downloaded" table: export requests, newest first',
)
def list_exports(
    session: SessionDep,
    principal: AdminOnly,
    page: PageQuery,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
) -> ExportPage:
    return service.list_exports(
        session,
        workspace_id=principal.workspace_id,
        page=page,
        profile_id=profile_id,
    )


@router.get(
    "/api/v1/compliance/exports/{export_id}",
    summary="One export request",
    responses=responses(NotFound),
)
def get_export(export_id: str, session: SessionDep, principal: AdminOnly) -> ExportRead:
    return service.get_export(session, workspace_id=principal.workspace_id, export_id=export_id)


@router.get(
    "/api/v1/compliance/exports/{export_id}/download",
    response_class=StreamingResponse,
    summary="Download the export file (decrypted, streamed)",
    responses={
        200: {"content": {"application/json": {}}, "description": "the export document"},
        **responses(NotFound, ExportNotReady, ExportExpired),
    },
)
def download_export(
    export_id: str, session: WriteSessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> StreamingResponse:
    return stream_export(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        export_id=export_id,
        actor=principal.actor,
    )


@router.post(
    "/api/v1/compliance/exports/{export_id}/retry",
    status_code=202,
    summary="Retry a failed export request",
    responses=responses(NotFound, Conflict, AlreadyRequested, RateLimited),
)
def retry_export(
    export_id: str, session: SessionDep, runtime: RuntimeDep, principal: ComplianceAdmin
) -> ExportRead:
    export = service.retry_export(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        export_id=export_id,
        actor=principal.actor,
    )
    return service.read_export(session, workspace_id=principal.workspace_id, export=export)
