"""HTTP: restrict and unrestrict a profile (SPEC §9). Admins only."""

from __future__ import annotations

from fastapi import APIRouter

from veil.auth.deps import ADMIN_RESPONSES, AdminOnly, SessionDep
from veil.compliance.restrictions import service
from veil.compliance.restrictions.schemas import RestrictionCreate
from veil.errors import NotFound, ProfileDeleted, ValidationFailed, responses
from veil.models import Profile
from veil.profiles import service as profiles
from veil.profiles.schemas import ProfileRead

router = APIRouter(prefix="/api/v1/profiles", tags=["compliance"], responses=ADMIN_RESPONSES)


def _read(session: SessionDep, profile: Profile) -> ProfileRead:
    return ProfileRead.build(profile, profiles.consents_of(session, profile=profile))


@router.post(
    "/{profile_id}/restrict",
    summary="Restrict processing (GDPR art. 18): kept, exportable, never a campaign recipient",
    responses=responses(
        NotFound,
        ProfileDeleted,
        ValidationFailed("reason is required: say why processing is restricted."),
    ),
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
    summary="Lift a restriction of processing",
    responses=responses(NotFound, ProfileDeleted),
)
def unrestrict_profile(profile_id: str, session: SessionDep, principal: AdminOnly) -> ProfileRead:
    profile = service.unrestrict_profile(
        session, workspace_id=principal.workspace_id, profile_id=profile_id, actor=principal.actor
    )
    return _read(session, profile)
