"""Restriction on the profile page and Settings → Compliance → Suppressions (SPEC §9).

The rules live in veil.compliance.restrictions and veil.compliance.suppressions; these views
call them as the signed-in admin and turn their answers into pages and toasts.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from fastapi import APIRouter, Form, Response

from veil.compliance.restrictions import service as restrictions
from veil.compliance.suppressions import service as suppressions
from veil.compliance.suppressions.schemas import SuppressionRead
from veil.kit.pagination import PageParams
from veil.profiles import service as profiles
from veil.web.actions import as_signed_in, run_action
from veil.web.compliance import ComplianceTab
from veil.web.deps import AdminFormContext, AdminPageContext, CursorQuery
from veil.web.flash import Toast
from veil.web.profiles import NamedProfilePage, display_name
from veil.web.routing import WebRoute
from veil.web.templating import render

router = APIRouter(route_class=WebRoute)

SUPPRESSIONS_URL = "/settings/compliance/suppressions"
ROWS_PER_PAGE = 50


class RestrictPage(NamedProfilePage):
    template: ClassVar[str] = "profiles/restrict.html"


class SuppressionsTab(ComplianceTab, tab="suppressions"):
    pending: bool = False
    rows: list[SuppressionRead]


# -- restriction (⋯ → Restrict / Lift restriction) --------------------------------------------


@router.get("/profiles/{profile_id}/restrict", name="confirm_restrict_profile")
def confirm_restrict(web: AdminPageContext, profile_id: str) -> Response:
    profile = profiles.get_active_profile(
        web.session, workspace_id=web.me.workspace_id, profile_id=profile_id
    )
    return render(web.request, RestrictPage(profile=profile, name=display_name(profile)))


@router.post("/profiles/{profile_id}/restrict", name="restrict_profile")
def restrict_profile(
    web: AdminFormContext, profile_id: str, reason: Annotated[str, Form(max_length=2000)] = ""
) -> Response:
    return run_action(
        web,
        as_signed_in(web, restrictions.restrict_profile, profile_id=profile_id, reason=reason),
        back=f"/profiles/{profile_id}/restrict",
        then=f"/profiles/{profile_id}",
        success=Toast(
            "success", "Processing restricted. Campaigns skip this person until you lift it."
        ),
    )


@router.post("/profiles/{profile_id}/unrestrict", name="unrestrict_profile")
def unrestrict_profile(web: AdminFormContext, profile_id: str) -> Response:
    return run_action(
        web,
        as_signed_in(web, restrictions.unrestrict_profile, profile_id=profile_id),
        back=f"/profiles/{profile_id}",
        success=Toast("success", "Restriction lifted."),
    )


# -- Settings → Compliance → Suppressions ----------------------------------------------------


@router.get(SUPPRESSIONS_URL, name="compliance_suppressions")
def suppression_list(web: AdminPageContext, cursor: CursorQuery = None) -> Response:
    rows, next_cursor = suppressions.page_suppressions(
        web.session,
        workspace_id=web.me.workspace_id,
        page=PageParams(limit=ROWS_PER_PAGE, cursor=cursor),
    )
    return render(
        web.request,
        SuppressionsTab(
            rows=[SuppressionRead.build(r) for r in rows],
            next_cursor=next_cursor,
            is_first_page=cursor is None,
        ),
    )


@router.post(f"{SUPPRESSIONS_URL}/{{suppression_id}}/lift", name="lift_suppression")
def lift_suppression(web: AdminFormContext, suppression_id: str) -> Response:
    return run_action(
        web,
        as_signed_in(web, suppressions.lift_suppression, suppression_id=suppression_id),
        back=SUPPRESSIONS_URL,
        success=Toast("success", "Suppression lifted. Data about this person is collected again."),
    )
