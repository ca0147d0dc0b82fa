"""Identifier history (SPEC §9): the one place where a profile's identifiers change.

Every path that changes an email, phone or external id (API upsert, PATCH rectification,
Segment identify, Shopify customers/update) goes through `change_identifier`, which keeps the
value it replaces as a previous identifier. Previous identifiers take no part in identity
resolution (§2); privacy-request matching (`find_profiles_by_identifier`), the export and the
erasure use them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import IdentifierType, Profile, ProfileIdentifier
from veil.profiles.repository import ProfileIdentifierRepository, ProfileRepository

# The profile columns whose old values are kept (anonymous ids are device cookies: not kept).
HISTORY_COLUMNS: dict[str, IdentifierType] = {
    "email": IdentifierType.EMAIL,
    "phone": IdentifierType.PHONE,
    "external_id": IdentifierType.EXTERNAL_ID,
}


def change_identifier(
    session: Session, profile: Profile, column: str, value: str | None, *, at: datetime
) -> bool:
    """Set one identifier of an existing profile; the value it replaces becomes a previous
    identifier. Returns whether anything changed. The caller checks uniqueness (§2)."""
    current: str | None = getattr(profile, column)
    if current == value:
        return False
    kind = HISTORY_COLUMNS.get(column)
    if current is not None and kind is not None:
        _keep_previous(session, profile, kind, current, until=at)
    setattr(profile, column, value)
    return True


def _keep_previous(
    session: Session, profile: Profile, kind: IdentifierType, value: str, *, until: datetime
) -> None:
    repo = ProfileIdentifierRepository(session, profile.workspace_id)
    known = repo.find(profile.id, kind, value)
    if known is not None:  # held before, taken back, now replaced again
        known.until = until
        return
    session.add(
        ProfileIdentifier(
            id=new_id("pid"),
            workspace_id=profile.workspace_id,
            profile_id=profile.id,
            type=kind,
            value=value,
            until=until,
            created_at=utcnow(),
        )
    )


def previous_identifiers(
    session: Session, *, workspace_id: str, profile_id: str
) -> list[ProfileIdentifier]:
    return ProfileIdentifierRepository(session, workspace_id).of_profile(profile_id)


def find_profiles_by_identifier(
    session: Session, workspace_id: str, type: IdentifierType, normalised_value: str
) -> list[str]:
    """Ids of the ACTIVE profiles that have this identifier now or had it before (§8 matching).

    `normalised_value` is normalised as in §2 (profiles.identifiers). The current holder (at
    most one: uniqueness among active profiles) comes first.
    """
    kind = IdentifierType(type)
    current = ProfileRepository(session, workspace_id).find_active(kind.value, normalised_value)
    previous = ProfileIdentifierRepository(session, workspace_id).active_profile_ids_with(
        kind, normalised_value
    )
    ids = [current.id] if current is not None else []
    return list(dict.fromkeys([*ids, *sorted(previous)]))
