"""HTTP: what the next retention sweep would remove (SPEC §9). Admins only."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, SessionDep
from veil.compliance.retention import service

router = APIRouter(
    prefix="/api/v1/compliance/retention", tags=["compliance"], responses=ADMIN_RESPONSES
)


class RetentionPreview(BaseModel):
    events: int = Field(description="events older than retention_events")
    profiles: int = Field(description="profiles inactive for retention_inactive_profiles")


@router.get(
    "/preview",
    summary="What the next retention sweep would remove",
)
def retention_preview(session: SessionDep, principal: AdminOnly) -> RetentionPreview:
    counts = service.preview(session, workspace_id=principal.workspace_id)
    return RetentionPreview(events=counts.events, profiles=counts.profiles)
