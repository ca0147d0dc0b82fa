"""HTTP: /api/v1/workspace — settings and API keys (admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, RuntimeDep, SessionDep
from veil.listing import PageQuery
from veil.workspaces import callback_secret, service
from veil.workspaces.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRead,
    WorkspaceRead,
    WorkspaceSettingsUpdate,
)

router = APIRouter(prefix="/api/v1/workspace", tags=["workspace"], responses=ADMIN_RESPONSES)


def _read(session: SessionDep, runtime: RuntimeDep, workspace_id: str) -> WorkspaceRead:
    workspace = service.get_workspace(session, workspace_id)
    write_key = service.write_key_of(
        session, workspace_id=workspace_id, keyring=runtime.seal_keyring
    )
    secret = callback_secret.reveal(workspace, runtime.seal_keyring)
    return WorkspaceRead.build(workspace, write_key=write_key, callback_secret=secret)


@router.get("")
def get_workspace(session: SessionDep, runtime: RuntimeDep, principal: AdminOnly) -> WorkspaceRead:
    return _read(session, runtime, principal.workspace_id)


@router.patch("/settings")
def update_settings(
    body: WorkspaceSettingsUpdate, session: SessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> WorkspaceRead:
    service.update_settings(
        session,
        workspace_id=principal.workspace_id,
        actor=principal.actor,
        keyring=runtime.seal_keyring,
        name=body.name,
        default_phone_region=body.default_phone_region,
        timezone=body.timezone,
        pii_keys=body.pii_keys,
        shopify_webhook_secret=body.shopify_webhook_secret,
        suppress_on_delete=body.suppress_on_delete,
        retention=body.retention(),
        default_regulation=body.default_regulation,
        other_regulation_days=body.other_regulation_days,
    )
    return _read(session, runtime, principal.workspace_id)


@router.post(
    "/callback-secret/rotate",
    summary="Replace the callback signing secret (privacy-request callbacks, SPEC §8.6)",
)
def rotate_callback_secret(
    session: SessionDep, runtime: RuntimeDep, principal: AdminOnly
) -> WorkspaceRead:
    service.rotate_callback_secret(
        session,
        workspace_id=principal.workspace_id,
        actor=principal.actor,
        keyring=runtime.seal_keyring,
    )
    return _read(session, runtime, principal.workspace_id)


@router.post("/keys", status_code=201)
def create_key(body: ApiKeyCreate, session: SessionDep, principal: AdminOnly) -> ApiKeyCreated:
    issued = service.issue_api_key(
        session,
        workspace_id=principal.workspace_id,
        actor=principal.actor,
        role=body.role,
        name=body.name.strip(),
    )
    return ApiKeyCreated(**ApiKeyRead.build(issued.key).model_dump(), token=issued.token)


@router.get("/keys")
def list_keys(session: SessionDep, principal: AdminOnly, page: PageQuery) -> ApiKeyPage:
    rows, next_cursor = service.list_api_keys(
        session, workspace_id=principal.workspace_id, page=page
    )
    return ApiKeyPage(data=[ApiKeyRead.build(k) for k in rows], next_cursor=next_cursor)


@router.delete("/keys/{key_id}")
def revoke_key(key_id: str, session: SessionDep, principal: AdminOnly) -> ApiKeyRead:
    key = service.revoke_api_key(
        session, workspace_id=principal.workspace_id, actor=principal.actor, key_id=key_id
    )
    return ApiKeyRead.build(key)
