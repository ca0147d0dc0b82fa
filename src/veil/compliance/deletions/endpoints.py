"""HTTP: ask for a deletion, and the "Deleted" table (SPEC §5). Admins only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, RuntimeDep, SessionDep
from veil.auth.limits import ComplianceAdmin
from veil.compliance.api_requests import for_profile
from veil.compliance.deletions import service
from veil.compliance.deletions.schemas import DeletionConfirm, DeletionPage, DeletionRead
from veil.compliance.privacy_requests import profile_actions
from veil.errors import (
    ConfirmationRequired,
    NotFound,
    ProfileDeleted,
    RateLimited,
    responses,
)
from veil.listing import PageQuery

router = APIRouter(tags=["compliance"], responses=ADMIN_RESPONSES)


@router.post(
    "/api/v1/profiles/{profile_id}/delete",
    status_code=202,
    summary="Erase a profile's personal data (right to erasure)",
    responses=responses(NotFound, ProfileDeleted, ConfirmationRequired, RateLimited),
)
def delete_profile(
    profile_id: str,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: ComplianceAdmin,
    body: Annotated[DeletionConfirm | None, Body()] = None,
) -> DeletionRead:
    """Erase a profile's personal data (SPEC §5). Requires `{"confirm": true}`."""
    if body is None or not body.confirmed:
        raise ConfirmationRequired()
    request = for_profile(
        profile_actions.delete_profile,
        session,
        runtime,
        principal,
        profile_id,
        suppress=body.suppress,
    )
    return DeletionRead.build(request, runtime.seal_keyring)


@router.get(
    "/api/v1/compliance/deletions",
    summary='The "Deleted" table: every erasure, newest first',
)
def list_deletions(
    session: SessionDep, runtime: RuntimeDep, principal: AdminOnly, page: PageQuery
) -> DeletionPage:
    """The "Deleted" table, newest first: the permanent record of every erasure."""
    rows, next_cursor = service.page_deletions(
        session, workspace_id=principal.workspace_id, page=page
    )
    keyring = runtime.seal_keyring
    return DeletionPage(
        data=[DeletionRead.build(r, keyring) for r in rows], next_cursor=next_cursor
    )


@router.get(
    "/api/v1/compliance/deletions/{deletion_id}",
    summary="One deletion request",
    responses=responses(NotFound),
)
def get_deletion(
    deletion_id: str, session: SessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> DeletionRead:
    request = service.get_deletion(
        session, workspace_id=principal.workspace_id, deletion_id=deletion_id
    )
    return DeletionRead.build(request, runtime.seal_keyring)
