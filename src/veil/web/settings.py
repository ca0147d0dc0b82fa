"""Settings → Workspace: general settings, PII keys, Shopify secret, write key and API keys."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

import phonenumbers
from fastapi import APIRouter, Form, Response
from fastapi.responses import RedirectResponse

from veil.auth import service as keys
from veil.auth.service import IssuedKey
from veil.compliance.retention import service as retention
from veil.compliance.retention.service import RetentionCounts
from veil.errors import VeilError
from veil.kit.pagination import PageParams
from veil.models import ApiKey, Workspace, WriteKey
from veil.web.actions import as_signed_in, run_action
from veil.web.deps import AdminFormContext, AdminPage, AdminPageContext, WebContext, runtime_of
from veil.web.flash import Toast, redirect_with_toast
from veil.web.routing import WebRoute
from veil.web.templating import Page, render
from veil.workspaces import service as workspaces

router = APIRouter(route_class=WebRoute)

WORKSPACE_URL = "/settings/workspace"
MAX_KEYS_SHOWN = 200
_SPLIT_KEYS = re.compile(r"[\n,]+")


def _regions() -> list[tuple[str, str]]:
    codes = sorted(phonenumbers.SUPPORTED_REGIONS - {"001"})
    return [(code, f"{code} (+{phonenumbers.country_code_for_region(code)})") for code in codes]


class WorkspacePage(Page):
    template: ClassVar[str] = "settings/workspace.html"
    nav: ClassVar[str] = "workspace"
    workspace: Workspace
    regions: list[tuple[str, str]]
    time_zones: list[str]
    pii_keys_text: str
    shopify_secret_set: bool
    shopify_webhook_url: str
    write_key: WriteKey | None
    api_keys: list[ApiKey]
    retention_preview: RetentionCounts
    # Shown on the response to the admin's own POST only, never stored in clear.
    revealed_write_key: str | None = None
    new_key: IssuedKey | None = None


def _workspace_page(
    web: WebContext, *, revealed_write_key: str | None = None, new_key: IssuedKey | None = None
) -> Response:
    session, workspace_id = web.session, web.me.workspace_id
    runtime = runtime_of(web.request)
    workspace = workspaces.get_workspace(session, workspace_id)
    write_key = keys.active_write_key(session, workspace_id=workspace_id)
    page = WorkspacePage(
        workspace=workspace,
        regions=_regions(),
        time_zones=sorted(workspaces.time_zone_names()),
        pii_keys_text="\n".join(str(k) for k in workspace.pii_keys or []),
        shopify_secret_set=workspace.shopify_webhook_secret_sealed is not None,
        shopify_webhook_url=(
            f"{runtime.settings.base_url.rstrip('/')}/integrations/shopify/{workspace.id}/webhooks"
        ),
        write_key=write_key,
        api_keys=workspaces.list_api_keys(
            session, workspace_id=workspace_id, page=PageParams(limit=MAX_KEYS_SHOWN)
        )[0],
        retention_preview=retention.preview(session, workspace_id=workspace_id),
        revealed_write_key=revealed_write_key,
        new_key=new_key,
    )
    return render(web.request, page)


@router.get("/settings", name="settings")
def settings_home(me: AdminPage) -> Response:
    return RedirectResponse(WORKSPACE_URL, status_code=303)


@router.get(WORKSPACE_URL, name="settings_workspace")
def workspace_settings(web: AdminPageContext) -> Response:
    return _workspace_page(web)


def _save(web: WebContext, success: str, **changes: Any) -> Response:
    """Change workspace settings through the (audited) service; its refusal becomes a toast."""
    keyring = runtime_of(web.request).seal_keyring
    return run_action(
        web,
        as_signed_in(web, workspaces.update_settings, keyring=keyring, **changes),
        back=WORKSPACE_URL,
        success=Toast("success", success),
    )


@router.post(f"{WORKSPACE_URL}/general")
def save_general(
    web: AdminFormContext,
    name: Annotated[str, Form(max_length=300)] = "",
    default_phone_region: Annotated[str, Form(max_length=8)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    return _save(
        web,
        "Workspace settings saved.",
        name=name,
        default_phone_region=default_phone_region,
        timezone=timezone or None,  # a form without the field leaves the zone as it is
    )


@router.post(f"{WORKSPACE_URL}/pii-keys")
def save_pii_keys(
    web: AdminFormContext, pii_keys: Annotated[str, Form(max_length=20000)] = ""
) -> Response:
    values = [v.strip() for v in _SPLIT_KEYS.split(pii_keys) if v.strip()]
    success = "PII keys saved. Future erasures remove these properties too."
    return _save(web, success, pii_keys=values)


@router.post(f"{WORKSPACE_URL}/retention")
def save_retention(
    web: AdminFormContext,
    retention_events: Annotated[str, Form(max_length=64)] = "",
    retention_inactive_profiles: Annotated[str, Form(max_length=64)] = "",
    suppress_on_delete: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    return _save(
        web,
        "Retention saved. The next sweep applies it.",
        retention={
            "retention_events": retention_events.strip() or None,
            "retention_inactive_profiles": retention_inactive_profiles.strip() or None,
        },
        suppress_on_delete=suppress_on_delete == "yes",
    )


@router.post(f"{WORKSPACE_URL}/shopify-secret")
def save_shopify_secret(
    web: AdminFormContext,
    secret: Annotated[str, Form(max_length=1000)] = "",
    remove: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if remove:
        success, secret = "Shopify webhook secret removed.", ""
    elif secret.strip():
        success = "Shopify webhook secret saved."
    else:
        toast = Toast("error", "Paste the webhook signing secret from Shopify.")
        return redirect_with_toast(web.request, WORKSPACE_URL, toast)
    return _save(web, success, shopify_webhook_secret=secret)


@router.post(f"{WORKSPACE_URL}/write-key/reveal")
def reveal_write_key(web: AdminFormContext) -> Response:
    revealed = workspaces.write_key_of(
        web.session, workspace_id=web.me.workspace_id, keyring=runtime_of(web.request).seal_keyring
    )
    return _workspace_page(web, revealed_write_key=revealed)


@router.post(f"{WORKSPACE_URL}/keys")
def create_api_key(
    web: AdminFormContext,
    name: Annotated[str, Form(max_length=200)] = "",
    role: Annotated[str, Form(max_length=16)] = "member",
) -> Response:
    try:
        issued = workspaces.issue_api_key(
            web.session,
            workspace_id=web.me.workspace_id,
            actor=web.me.principal.actor,
            role=role,
            name=name.strip(),
        )
    except VeilError as exc:
        web.session.rollback()
        return redirect_with_toast(web.request, WORKSPACE_URL, Toast("error", exc.message))
    # The token is shown on this response only: it is never stored in clear or redirected.
    return _workspace_page(web, new_key=issued)


@router.post(f"{WORKSPACE_URL}/keys/{{key_id}}/revoke")
def revoke_api_key(web: AdminFormContext, key_id: str) -> Response:
    key = workspaces.revoke_api_key(
        web.session, workspace_id=web.me.workspace_id, actor=web.me.principal.actor, key_id=key_id
    )
    toast = Toast("success", f"API key “{key.name}” revoked.")
    return redirect_with_toast(web.request, WORKSPACE_URL, toast)
