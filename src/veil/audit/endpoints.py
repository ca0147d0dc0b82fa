"""HTTP: GET /api/v1/audit — the workspace's audit log (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from veil.audit import service
from veil.audit.schemas import AuditEntryRead, AuditFilters, AuditPage
from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, SessionDep
from veil.listing import PageQuery

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ADMIN_RESPONSES)


@router.get("")
def list_audit_entries(
    session: SessionDep,
    principal: AdminOnly,
    page: PageQuery,
    filters: Annotated[AuditFilters, Query()],
) -> AuditPage:
    rows, next_cursor = service.list_entries(
        session, workspace_id=principal.workspace_id, filters=filters, page=page
    )
    return AuditPage(data=[AuditEntryRead.build(e) for e in rows], next_cursor=next_cursor)
