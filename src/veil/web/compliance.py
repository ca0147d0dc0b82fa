"""Export and Delete from the profile page, and Settings → Compliance (Downloaded / Deleted).

Every rule lives in the compliance services (one open export per profile, who may ask, what
erasure keeps); these views only call them with the signed-in admin as the principal and turn
their answers into pages, toasts and downloads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, ClassVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from veil.compliance.deletions import service as deletions
from veil.compliance.deletions.schemas import DeletionRead
from veil.compliance.exports import service as exports
from veil.compliance.exports.download import stream_export
from veil.compliance.exports.schemas import ExportRead
from veil.compliance.privacy_requests import profile_actions
from veil.compliance.suppressions import service as suppressions
from veil.errors import AlreadyRequested, ExportExpired, ExportNotReady, VeilError
from veil.kit.pagination import PageParams
from veil.profiles import service as profiles
from veil.web import queries
from veil.web.actions import as_signed_in, run_action
from veil.web.deps import (
    AdminFormContext,
    AdminPage,
    AdminPageContext,
    ComplianceFormContext,
    CursorQuery,
    WebContext,
    runtime_of,
)
from veil.web.flash import Toast, redirect_with_toast
from veil.web.profiles import NamedProfilePage, display_name
from veil.web.routing import WebRoute
from veil.web.templating import ListPage, format_duration, render

router = APIRouter(route_class=WebRoute)

DOWNLOADED_URL = "/settings/compliance/downloaded"
DELETED_URL = "/settings/compliance/deleted"
ROWS_PER_PAGE = 50
UI_SOURCE = "ui"
FRAGMENT_HEADER = "x-veil-fragment"


class ConfirmDeletePage(NamedProfilePage):
    template: ClassVar[str] = "profiles/confirm_delete.html"
    suppress_on_delete: bool


class ComplianceTab(ListPage):
    """Settings → Compliance: one tab's table of requests, newest first. The polling script
    fetches the table alone (the fragment) while a request is pending.

    A tab is named once, `class XTab(ComplianceTab, tab="x")`: its page is settings/x.html
    and its table settings/x_table.html."""

    fragment_template: ClassVar[str | None] = "settings/compliance_fragment.html"
    nav: ClassVar[str] = "compliance"
    class_variables: ClassVar[tuple[str, ...]] = ("tab", "table")
    tab: ClassVar[str]
    table: ClassVar[str]
    pending: bool

    def __init_subclass__(cls, *, tab: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.tab = tab
        cls.template = f"settings/{tab}.html"
        cls.table = f"settings/{tab}_table.html"
        cls.partials = (cls.table,)


class DownloadedTab(ComplianceTab, tab="downloaded"):
    export_ttl: str
    rows: list[ExportRead]
    # Profiles of these rows that were erased: their files went with the erasure, not by age.
    erased_profiles: frozenset[str]


class DeletedTab(ComplianceTab, tab="deleted"):
    rows: list[DeletionRead]


# -- the ⋯ menu on the profile page -------------------------------------------------------------


def _as_admin(web: WebContext, call: Callable[..., object], **options: Any) -> Callable[[], object]:
    """A compliance service call in this workspace, by the signed-in admin."""
    return as_signed_in(web, call, runtime=runtime_of(web.request), **options)


def _for_profile(
    web: WebContext, call: Callable[..., object], profile_id: str, **options: Any
) -> Callable[[], object]:
    """A request (export or deletion) about one profile, made from the UI."""
    return _as_admin(
        web,
        call,
        profile_id=profile_id,
        requested_by=web.me.principal.label,
        source=UI_SOURCE,
        **options,
    )


def _export_error(exc: VeilError) -> Toast:
    if isinstance(exc, AlreadyRequested):
        return Toast("error", exc.message, DOWNLOADED_URL, "Open Downloaded")
    return Toast("error", exc.message)


@router.post("/profiles/{profile_id}/export", name="export_profile")
def export_profile(web: ComplianceFormContext, profile_id: str) -> Response:
    return run_action(
        web,
        _for_profile(web, profile_actions.export_profile, profile_id),
        back=f"/profiles/{profile_id}",
        success=Toast(
            "success",
            "Export requested. The file will be ready to download in "
            "Settings → Compliance → Downloaded.",
            DOWNLOADED_URL,
            "Open Downloaded",
        ),
        on_error=_export_error,
    )


@router.get("/profiles/{profile_id}/delete", name="confirm_delete_profile")
def confirm_delete(web: AdminPageContext, profile_id: str) -> Response:
    """The confirmation as a page, for browsers without JavaScript (the dialog's fallback)."""
    profile = profiles.get_active_profile(
        web.session, workspace_id=web.me.workspace_id, profile_id=profile_id
    )
    return render(
        web.request,
        ConfirmDeletePage(
            profile=profile,
            name=display_name(profile),
            suppress_on_delete=suppressions.suppresses_by_default(web.session, web.me.workspace_id),
        ),
    )


@router.post("/profiles/{profile_id}/delete", name="delete_profile")
def delete_profile(
    web: ComplianceFormContext,
    profile_id: str,
    confirm: Annotated[str, Form(max_length=10)] = "",
    suppress: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    back = f"/profiles/{profile_id}"
    if confirm != "yes":
        toast = Toast("error", "Confirm the deletion in the warning to go on.")
        return redirect_with_toast(web.request, back, toast)
    return run_action(
        web,
        _for_profile(
            web,
            profile_actions.delete_profile,
            profile_id,
            suppress=suppress == "yes",  # the warning's checkbox, ticked by the setting
        ),
        back=back,
        then="/profiles",  # the deleted profile's own page is a tombstone now
        success=Toast(
            "success",
            "Deletion requested. The profile no longer matches new activity; follow the "
            "erasure in Settings → Compliance → Deleted.",
            DELETED_URL,
            "Open Deleted",
        ),
    )


# -- Settings → Compliance -------------------------------------------------------------------


def _tab(request: Request, page: ComplianceTab) -> Response:
    # The polling script wants the table alone (and must not eat a pending toast).
    return render(request, page, fragment=bool(request.headers.get(FRAGMENT_HEADER)))


@router.get("/settings/compliance", name="compliance")
def compliance_home(me: AdminPage) -> Response:
    # SPEC §8.8: Compliance opens on the Requests tab.
    return RedirectResponse("/settings/compliance/requests", status_code=303)


@router.get(DOWNLOADED_URL, name="compliance_downloaded")
def downloaded(web: AdminPageContext, cursor: CursorQuery = None) -> Response:
    workspace_id = web.me.workspace_id
    page = exports.list_exports(
        web.session, workspace_id=workspace_id, page=PageParams(limit=ROWS_PER_PAGE, cursor=cursor)
    )
    tab = DownloadedTab(
        export_ttl=format_duration(runtime_of(web.request).settings.export_ttl),
        rows=page.data,
        erased_profiles=queries.erased_profile_ids(
            web.session, workspace_id=workspace_id, ids={row.profile_id for row in page.data}
        ),
        pending=any(row.status == "pending" for row in page.data),
        next_cursor=page.next_cursor,
        is_first_page=cursor is None,
    )
    return _tab(web.request, tab)


@router.post("/settings/compliance/exports/{export_id}/download", name="download_export")
def download_export(web: AdminFormContext, export_id: str) -> Response:
    try:
        return stream_export(
            web.session,
            runtime=runtime_of(web.request),
            workspace_id=web.me.workspace_id,
            export_id=export_id,
            actor=web.me.principal.actor,
        )
    except (ExportExpired, ExportNotReady) as exc:
        return redirect_with_toast(web.request, DOWNLOADED_URL, Toast("error", exc.message))


@router.post("/settings/compliance/exports/{export_id}/retry", name="retry_export")
def retry_export(web: ComplianceFormContext, export_id: str) -> Response:
    return run_action(
        web,
        _as_admin(web, exports.retry_export, export_id=export_id),
        back=DOWNLOADED_URL,
        success=Toast("success", "Export queued again. It is pending now."),
    )


@router.get(DELETED_URL, name="compliance_deleted")
def deleted(web: AdminPageContext, cursor: CursorQuery = None) -> Response:
    # The API's "Deleted" table (the permanent record, contact details unsealed for admins).
    records, next_cursor = deletions.page_deletions(
        web.session,
        workspace_id=web.me.principal.workspace_id,
        page=PageParams(limit=ROWS_PER_PAGE, cursor=cursor),
    )
    keyring = runtime_of(web.request).seal_keyring
    rows = [DeletionRead.build(record, keyring) for record in records]
    tab = DeletedTab(
        rows=rows,
        pending=any(row.status in ("pending", "processing") for row in rows),
        next_cursor=next_cursor,
        is_first_page=cursor is None,
    )
    return _tab(web.request, tab)
