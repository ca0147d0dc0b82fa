"""HTTP: restrict and unrestrict a profile (SPEC §9). Admins only."""

from __future__ import annotations

from fastapi import APIRouter

from veil.auth.deps import AdminOnly, SessionDep
from veil.compliance.restrictions import service
from veil.compliance.restrictions.schemas import RestrictionCreate
from veil.models import Profile
from veil.profiles import service as profiles
from veil.profiles.schemas import ProfileRead

router = APIRouter(prefix="/api/v1/profiles", tags=["compliance"])

_ERRORS: dict[int | str, dict[str, str]] = {
    403: {"description": "forbidden (not an admin)"},
    404: {"description": "not_found"},
    409: {"description": "profile_deleted"},
}


def _read(session: SessionDep, profile: Profile) -> ProfileRead:
    return ProfileRead.build(profile, profiles.consents_of(session, profile=profile))


@router.post(
    "/{profile_id}/restrict",
    response_model=ProfileRead,
    summary="Restrict processing (GDPR art. 18): kept, exportable, never a campaign recipient",
    responses={**_ERRORS, 422: {"description": "validation_error: reason is required"}},
)
def restrict_profile(
    profile_id: str, body: RestrictionCreate, session: SessionDep, principal: AdminOnly
) -> ProfileRead:
    profile = service.restrict_profile(
        session,
        workspace_id=principal.workspace_id,
        profile_id=profile_id,
        reason=body.reason,
        actor=principal.actor,
    )
    return _read(session, profile)


@router.post(
    "/{profile_id}/unrestrict",
    response_model=ProfileRead,
    summary="Lift a restriction of processing",
    responses=_ERRORS,
)
def unrestrict_profile(profile_id: str, session: SessionDep, principal: AdminOnly) -> ProfileRead:
    profile = service.unrestrict_profile(
        session, workspace_id=principal.workspace_id, profile_id=profile_id, actor=principal.actor
    )
    return _read(session, profile)
