"""Export and Delete from the profile page, and Settings → Compliance (Downloaded / Deleted).

Every rule lives in the compliance services (one open export per profile, who may ask, what
erasure keeps); these views only call them with the signed-in admin as the principal and turn
their answers into pages, toasts and downloads.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from veil.auth.deps import SessionDep
from veil.compliance.deletions import service as deletions
from veil.compliance.deletions.repository import DeletionRepository
from veil.compliance.deletions.schemas import DeletionRead
from veil.compliance.exports import service as exports
from veil.errors import AlreadyRequested, ExportExpired, ExportNotReady, VeilError
from veil.kit.pagination import paginate
from veil.models import DeletionRequest
from veil.profiles import service as profiles
from veil.web.deps import AdminAction, AdminPage, runtime_of
from veil.web.flash import Toast, set_flash
from veil.web.profiles import display_name
from veil.web.routing import WebRoute
from veil.web.templating import format_duration, render

router = APIRouter(route_class=WebRoute)

DOWNLOADED_URL = "/settings/compliance/downloaded"
DELETED_URL = "/settings/compliance/deleted"
ROWS_PER_PAGE = 50
UI_SOURCE = "ui"
FRAGMENT_HEADER = "x-veil-fragment"


def _redirect(request: Request, to: str, toast: Toast) -> Response:
    response = RedirectResponse(to, status_code=303)
    set_flash(request, response, runtime_of(request), toast)
    return response


# -- the ⋯ menu on the profile page -------------------------------------------------------------


@router.post("/profiles/{profile_id}/export", name="export_profile")
def export_profile(
    request: Request, session: SessionDep, me: AdminAction, profile_id: str
) -> Response:
    back = f"/profiles/{profile_id}"
    try:
        exports.request_export(
            session,
            runtime=runtime_of(request),
            workspace_id=me.workspace_id,
            profile_id=profile_id,
            requested_by=me.principal.label,
            actor=me.principal.actor,
            source=UI_SOURCE,
        )
    except AlreadyRequested as exc:
        session.rollback()
        toast = Toast("error", exc.message, DOWNLOADED_URL, "Open Downloaded")
        return _redirect(request, back, toast)
    except VeilError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _redirect(request, back, Toast("error", exc.message))
    return _redirect(
        request,
        back,
        Toast(
            "success",
            "Export requested. The file will be ready to download in "
            "Settings → Compliance → Downloaded.",
            DOWNLOADED_URL,
            "Open Downloaded",
        ),
    )


@router.get("/profiles/{profile_id}/delete", name="confirm_delete_profile")
def confirm_delete(
    request: Request, session: SessionDep, me: AdminPage, profile_id: str
) -> Response:
    """The confirmation as a page, for browsers without JavaScript (the dialog's fallback)."""
    profile = profiles.get_active_profile(
        session, workspace_id=me.workspace_id, profile_id=profile_id
    )
    return render(
        request,
        "profiles/confirm_delete.html",
        {"nav": "profiles", "profile": profile, "name": display_name(profile)},
    )


@router.post("/profiles/{profile_id}/delete", name="delete_profile")
def delete_profile(
    request: Request,
    session: SessionDep,
    me: AdminAction,
    profile_id: str,
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    back = f"/profiles/{profile_id}"
    if confirm != "yes":
        return _redirect(
            request, back, Toast("error", "Confirm the deletion in the warning to go on.")
        )
    try:
        deletions.request_deletion(
            session,
            runtime=runtime_of(request),
            workspace_id=me.workspace_id,
            profile_id=profile_id,
            requested_by=me.principal.label,
            actor=me.principal.actor,
            source=UI_SOURCE,
        )
    except VeilError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _redirect(request, back, Toast("error", exc.message))
    return _redirect(
        request,
        "/profiles",
        Toast(
            "success",
            "Deletion requested. The profile no longer matches new activity; follow the "
            "erasure in Settings → Compliance → Deleted.",
            DELETED_URL,
            "Open Deleted",
        ),
    )


# -- Settings → Compliance -------------------------------------------------------------------


def _tab(request: Request, template: str, context: dict[str, Any]) -> Response:
    if request.headers.get(FRAGMENT_HEADER):
        # The polling script wants the table alone (and must not eat a pending toast).
        return render(request, template.replace(".html", "_table.html"), context, fragment=True)
    return render(request, template, {"nav": "compliance", **context})


@router.get("/settings/compliance", name="compliance")
def compliance_home(me: AdminPage) -> Response:
    return RedirectResponse(DOWNLOADED_URL, status_code=303)


@router.get(DOWNLOADED_URL, name="compliance_downloaded")
def downloaded(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = exports.list_exports(
        session, workspace_id=me.workspace_id, limit=ROWS_PER_PAGE, cursor=cursor
    )
    return _tab(
        request,
        "settings/downloaded.html",
        {
            "tab": "downloaded",
            "export_ttl": format_duration(runtime_of(request).settings.export_ttl),
            "rows": page.data,
            "pending": any(row.status == "pending" for row in page.data),
            "next_cursor": page.next_cursor,
            "is_first_page": cursor is None,
        },
    )


@router.post("/settings/compliance/exports/{export_id}/download", name="download_export")
def download_export(
    request: Request, session: SessionDep, me: AdminAction, export_id: str
) -> Response:
    try:
        prepared = exports.download(
            session,
            runtime=runtime_of(request),
            workspace_id=me.workspace_id,
            export_id=export_id,
            actor=me.principal.actor,
        )
    except (ExportExpired, ExportNotReady) as exc:
        # Keep what the service did on the way (a file destroyed at expiry, an unreadable
        # file queued to be rebuilt), then tell the admin.
        session.commit()
        return _redirect(request, DOWNLOADED_URL, Toast("error", exc.message))
    return StreamingResponse(
        prepared.chunks,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{prepared.filename}"',
            "Content-Length": str(prepared.size),
            "Cache-Control": "no-store",
        },
    )


@router.post("/settings/compliance/exports/{export_id}/retry", name="retry_export")
def retry_export(
    request: Request, session: SessionDep, me: AdminAction, export_id: str
) -> Response:
    try:
        exports.retry_export(
            session,
            runtime=runtime_of(request),
            workspace_id=me.workspace_id,
            export_id=export_id,
            actor=me.principal.actor,
        )
    except VeilError as exc:
        if exc.status == 404:
            raise
        session.rollback()
        return _redirect(request, DOWNLOADED_URL, Toast("error", exc.message))
    return _redirect(
        request, DOWNLOADED_URL, Toast("success", "Export queued again. It is pending now.")
    )


@router.get(DELETED_URL, name="compliance_deleted")
def deleted(
    request: Request,
    session: SessionDep,
    me: AdminPage,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    requests, next_cursor = paginate(
        session,
        DeletionRepository(session, me.workspace_id).statement(),
        keys=[DeletionRequest.requested_at, DeletionRequest.id],
        descending=True,
        limit=ROWS_PER_PAGE,
        cursor=cursor,
        key_of=lambda r: [r.requested_at, r.id],
    )
    keyring = runtime_of(request).seal_keyring
    rows = [DeletionRead.build(r, keyring) for r in requests]
    return _tab(
        request,
        "settings/deleted.html",
        {
            "tab": "deleted",
            "rows": rows,
            "pending": any(row.status in ("pending", "processing") for row in rows),
            "next_cursor": next_cursor,
            "is_first_page": cursor is None,
        },
    )
