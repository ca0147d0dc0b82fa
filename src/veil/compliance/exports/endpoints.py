"""HTTP: export requests (SPEC §4) — parse, call the service, shape the answer. Admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from veil.auth.deps import AdminOnly, RuntimeDep, SessionDep, WriteSessionDep
from veil.auth.limits import ComplianceAdmin
from veil.compliance.exports import service
from veil.compliance.exports.schemas import ExportPage, ExportRead
from veil.compliance.privacy_requests import profile_actions
from veil.errors import ExportExpired, ExportNotReady

router = APIRouter(tags=["compliance"])

_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "forbidden (not an admin)"},
    404: {"description": "not_found"},
}


@router.post(
    "/api/v1/profiles/{profile_id}/export",
    response_model=ExportRead,
    status_code=202,
    summary="Request an export of everything stored about one contact",
    responses={
        **_ERRORS,
        409: {"description": "already_requested or profile_deleted"},
        422: {"description": "not_a_contact"},
        429: {"description": "rate_limited"},
    },
)
def request_export(
    profile_id: str, session: SessionDep, runtime: RuntimeDep, principal: ComplianceAdmin
) -> ExportRead:
    export = profile_actions.export_profile(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        profile_id=profile_id,
        requested_by=principal.label,
        actor=principal.actor,
        source="api",
    )
    return service.read_export(session, workspace_id=principal.workspace_id, export=export)


@router.get(
    "/api/v1/compliance/exports",
    response_model=ExportPage,
    summary='The "Downloaded" table: export requests, newest first',
    responses={403: _ERRORS[403]},
)
def list_exports(
    session: SessionDep,
    principal: AdminOnly,
    limit: int | None = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    profile_id: Annotated[str | None, Query(max_length=40)] = None,
) -> ExportPage:
    return service.list_exports(
        session,
        workspace_id=principal.workspace_id,
        limit=limit,
        cursor=cursor,
        profile_id=profile_id,
    )


@router.get(
    "/api/v1/compliance/exports/{export_id}",
    response_model=ExportRead,
    summary="One export request",
    responses=_ERRORS,
)
def get_export(export_id: str, session: SessionDep, principal: AdminOnly) -> ExportRead:
    return service.get_export(session, workspace_id=principal.workspace_id, export_id=export_id)


@router.get(
    "/api/v1/compliance/exports/{export_id}/download",
    response_class=StreamingResponse,
    summary="Download the export file (decrypted, streamed)",
    responses={
        **_ERRORS,
        200: {"content": {"application/json": {}}, "description": "the export document"},
        409: {"description": "export_not_ready"},
        410: {"description": "export_expired"},
    },
)
def download_export(
    export_id: str, session: WriteSessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> StreamingResponse:
    try:
        prepared = service.download(
            session,
            runtime=runtime,
            workspace_id=principal.workspace_id,
            export_id=export_id,
            actor=principal.actor,
        )
    except (ExportExpired, ExportNotReady):
        # Keep what the service did on the way to this answer (a file destroyed at its
        # expiry, an unreadable file queued for rebuilding), then answer the error.
        session.commit()
        raise
    # The session commits (status `downloaded`, audit entry) before the body is sent; the
    # file was authenticated in full already and its descriptor is open, so a sweep that
    # expires it in between cannot cut the stream short.
    return StreamingResponse(
        prepared.chunks,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{prepared.filename}"',
            "Content-Length": str(prepared.size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post(
    "/api/v1/compliance/exports/{export_id}/retry",
    response_model=ExportRead,
    status_code=202,
    summary="Retry a failed export request",
    responses={
        **_ERRORS,
        409: {"description": "conflict or already_requested"},
        429: {"description": "rate_limited"},
    },
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
