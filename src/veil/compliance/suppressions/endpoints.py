"""HTTP: the suppression list and lifting an entry (SPEC §9). Admins only."""

from __future__ import annotations

from fastapi import APIRouter, Response

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, SessionDep
from veil.compliance.suppressions import service
from veil.compliance.suppressions.schemas import SuppressionPage, SuppressionRead
from veil.errors import NotFound, responses
from veil.listing import PageQuery

router = APIRouter(
    prefix="/api/v1/compliance/suppressions", tags=["compliance"], responses=ADMIN_RESPONSES
)


@router.get(
    "",
    summary="Suppressed people: keyed hashes only, with their drop counters",
)
def list_suppressions(
    session: SessionDep, principal: AdminOnly, page: PageQuery
) -> SuppressionPage:
    rows, next_cursor = service.page_suppressions(
        session, workspace_id=principal.workspace_id, page=page
    )
    return SuppressionPage(data=[SuppressionRead.build(r) for r in rows], next_cursor=next_cursor)


@router.delete(
    "/{suppression_id}",
    status_code=204,
    response_class=Response,
    summary="Lift a suppression: later data about the person is collected again (audited)",
    responses=responses(NotFound("Suppression not found.")),
)
def lift_suppression(suppression_id: str, session: SessionDep, principal: AdminOnly) -> Response:
    service.lift_suppression(
        session,
        workspace_id=principal.workspace_id,
        suppression_id=suppression_id,
        actor=principal.actor,
    )
    return Response(status_code=204)
