"""HTTP: /api/v1/events (single and batch) and /api/v1/profiles/{id}/events."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from veil.auth.deps import CurrentPrincipal, RuntimeDep, SessionDep
from veil.compliance.suppressions import screening
from veil.errors import ProfileDeleted, responses
from veil.events import service
from veil.events.schemas import (
    BatchAccepted,
    EventAccepted,
    EventBatch,
    EventCreate,
    EventPage,
    EventRead,
)
from veil.guards import json_body, request_body_openapi
from veil.listing import PageQuery

router = APIRouter(prefix="/api/v1", tags=["events"])


@router.post(
    "/events",
    status_code=202,
    openapi_extra=request_body_openapi(EventCreate),
    responses=responses(screening.SubjectSuppressed, ProfileDeleted),
)
def create_event(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    # After the principal: an unauthenticated request is refused before its body is read.
    body: Annotated[EventCreate, json_body(EventCreate)],
) -> EventAccepted:
    item = body.to_input()
    screening.reject_if_suppressed(
        session, runtime, workspace_id=principal.workspace_id, subject=item.profile, source="api"
    )
    event = service.record_event(session, workspace_id=principal.workspace_id, item=item)
    session.flush()
    return EventAccepted(id=event.id, profile_id=event.profile_id)


@router.post(
    "/events/batch",
    status_code=202,
    openapi_extra=request_body_openapi(EventBatch),
)
def create_events(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    # After the principal: an unauthenticated request is refused before its body is read.
    body: Annotated[EventBatch, json_body(EventBatch)],
) -> BatchAccepted:
    items = [item.to_input() for item in body.events]
    accepted = service.record_batch(
        session,
        workspace_id=principal.workspace_id,
        items=items,
        keep=screening.without_suppressed(
            session,
            runtime,
            workspace_id=principal.workspace_id,
            subject=lambda item: item.profile,
            source="api",
        ),
    )
    return BatchAccepted(accepted=accepted, suppressed=len(items) - accepted)


@router.get("/profiles/{profile_id}/events")
def list_profile_events(
    profile_id: str,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageQuery,
    type: Annotated[str | None, Query(max_length=200, description="Only this type.")] = None,
) -> EventPage:
    rows, next_cursor = service.profile_events(
        session,
        workspace_id=principal.workspace_id,
        profile_id=profile_id,
        type=type,
        page=page,
    )
    return EventPage(data=[EventRead.build(e) for e in rows], next_cursor=next_cursor)
