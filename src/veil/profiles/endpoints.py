"""HTTP: /api/v1/profiles — parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from veil.auth.deps import CurrentPrincipal, RuntimeDep, SessionDep
from veil.compliance.suppressions import screening
from veil.errors import IdentifierConflict, NotFound, ProfileDeleted, responses
from veil.listing import PageQuery
from veil.profiles import rectification, service
from veil.profiles.schemas import ProfileCreate, ProfilePage, ProfileRead, ProfileUpdate

router = APIRouter(prefix="/api/v1/profiles", tags=["profiles"])


@router.post(
    "",
    status_code=201,
    responses={
        200: {"model": ProfileRead, "description": "an existing profile, updated"},
        **responses(IdentifierConflict, screening.SubjectSuppressed),
    },
)
def upsert_profile(
    body: ProfileCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
    response: Response,
) -> ProfileRead:
    screening.reject_if_suppressed(
        session, runtime, workspace_id=principal.workspace_id, subject=body, source="api"
    )
    region = service.workspace_region(session, principal.workspace_id)
    identity = service.Identity.parse(
        region=region, email=body.email, phone=body.phone, external_id=body.external_id
    )
    profile, created = service.upsert(
        session,
        workspace_id=principal.workspace_id,
        data=service.ProfileInput(
            identity=identity,
            first_name=body.first_name,
            last_name=body.last_name,
            properties=body.properties,
            consent={str(k): str(v) for k, v in body.consent.items()},
        ),
        origin="api",
        consent_source="api",
    )
    response.status_code = 201 if created else 200
    return ProfileRead.build(profile, service.consents_of(session, profile=profile))


@router.get("")
def list_profiles(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageQuery,
    query: Annotated[str | None, Query(max_length=200)] = None,
) -> ProfilePage:
    rows, next_cursor = service.search_profiles(
        session,
        workspace_id=principal.workspace_id,
        query=query,
        page=page,
    )
    consents = service.consents_by_profile(
        session, workspace_id=principal.workspace_id, profile_ids=[p.id for p in rows]
    )
    return ProfilePage(
        data=[ProfileRead.build(p, consents[p.id]) for p in rows], next_cursor=next_cursor
    )


@router.get("/{profile_id}")
def get_profile(profile_id: str, session: SessionDep, principal: CurrentPrincipal) -> ProfileRead:
    profile = service.get_profile(
        session, workspace_id=principal.workspace_id, profile_id=profile_id
    )
    return ProfileRead.build(profile, service.consents_of(session, profile=profile))


@router.patch(
    "/{profile_id}",
    summary="Rectify a profile (right to rectification)",
    responses=responses(NotFound, IdentifierConflict, ProfileDeleted, screening.SubjectSuppressed),
)
def rectify_profile(
    profile_id: str,
    body: ProfileUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: CurrentPrincipal,
) -> ProfileRead:
    """Correct email, phone, external_id, names or properties (SPEC §9); the fields sent change,
    null clears one, properties are merged (null removes a key). An identifier of a suppressed
    person is refused like on create (409 subject_suppressed)."""

    def screen(identifiers: object) -> None:
        screening.reject_if_suppressed(
            session, runtime, workspace_id=principal.workspace_id, subject=identifiers, source="api"
        )

    profile = rectification.rectify(
        session,
        workspace_id=principal.workspace_id,
        profile_id=profile_id,
        changes=body.model_dump(exclude_unset=True),
        actor=principal.actor,
        screen=screen,
    )
    return ProfileRead.build(profile, service.consents_of(session, profile=profile))
