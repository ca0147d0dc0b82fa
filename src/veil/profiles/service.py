"""Identity resolution and profile upserts (SPEC §2).

Lookup order is external_id, then email, then phone (then anonymous id), among ACTIVE
profiles only, so a deleted profile never matches again. Uniqueness is enforced by partial
unique indexes; a concurrent insert that loses the race gets an IntegrityError inside a
savepoint and simply resolves again to the winner's row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil.errors import IdentifierConflict, ValidationFailed
from veil.kit.ids import new_id
from veil.kit.jsonwalk import check_properties
from veil.kit.pagination import PageParams, paginate
from veil.kit.time import utcnow
from veil.models import Consent, Profile, Workspace
from veil.models.profile import ACTIVE
from veil.profiles.history import change_identifier
from veil.profiles.identifiers import normalize_email, normalize_external_id, normalize_phone
from veil.profiles.repository import ConsentRepository, ProfileRepository

LOOKUP_ORDER = ("external_id", "email", "phone", "anonymous_id")
CHANNELS = ("email", "sms")
CONSENT_STATES = ("subscribed", "unsubscribed")


@dataclass
class Identity:
    """Normalised identifiers of one incoming person."""

    external_id: str | None = None
    email: str | None = None
    phone: str | None = None
    anonymous_id: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        region: str,
        email: str | None = None,
        phone: str | None = None,
        external_id: str | int | None = None,
        anonymous_id: str | None = None,
    ) -> Identity:
        return cls(
            external_id=normalize_external_id(external_id),
            email=normalize_email(email),
            phone=normalize_phone(phone, region=region),
            anonymous_id=normalize_external_id(anonymous_id),
        )

    def items(self) -> list[tuple[str, str]]:
        return [(name, v) for name in LOOKUP_ORDER if (v := getattr(self, name)) is not None]

    def is_empty(self) -> bool:
        return not self.items()


@dataclass
class ProfileInput:
    identity: Identity
    first_name: str | None = None
    last_name: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, str] = field(default_factory=dict)


def search_profiles(
    session: Session,
    *,
    workspace_id: str,
    query: str | None,
    page: PageParams,
) -> tuple[list[Profile], str | None]:
    """Active profiles matching `query` (every one without it), newest id first: the API's
    list and the Profiles page."""
    stmt = ProfileRepository(session, workspace_id).search_active(query)
    return paginate(session, stmt, keys=[Profile.id], descending=True, page=page)


def get_profile(session: Session, *, workspace_id: str, profile_id: str) -> Profile:
    return ProfileRepository(session, workspace_id).get_one(profile_id)


def get_active_profile(session: Session, *, workspace_id: str, profile_id: str) -> Profile:
    return ProfileRepository(session, workspace_id).get_active(profile_id)


def resolve(session: Session, *, workspace_id: str, identity: Identity) -> Profile | None:
    repo = ProfileRepository(session, workspace_id)
    for column, value in identity.items():
        profile = repo.find_active(column, value)
        if profile is not None:
            return profile
    return None


def resolve_many(
    session: Session, *, workspace_id: str, identities: Sequence[Identity]
) -> list[str | None]:
    """The id of the profile `resolve` answers for each identity (same lookup order), with one
    query per identifier kind instead of one per identity and identifier (batch ingestion)."""
    repo = ProfileRepository(session, workspace_id)
    found: dict[tuple[str, str], str] = {}
    for column in LOOKUP_ORDER:
        values = [v for identity in identities if (v := getattr(identity, column)) is not None]
        if values:
            for profile_id, value in repo.active_ids_by(column, values):
                found[(column, value)] = profile_id
    return [
        next((found[item] for item in identity.items() if item in found), None)
        for identity in identities
    ]


def clean_name(value: str | None, field_name: str) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if len(text) > 200:
        raise ValidationFailed(f"{field_name} is longer than 200 characters.")
    if "\x00" in text:
        raise ValidationFailed(f"{field_name} contains a NUL character.")
    return text or None


def upsert(
    session: Session,
    *,
    workspace_id: str,
    data: ProfileInput,
    origin: str = "api",
    consent_source: str = "api",
    strict: bool = True,
    replace_contact: bool = False,
) -> tuple[Profile, bool]:
    """Find the person's active profile or create one; returns (profile, created).

    strict=True (the profiles API): identifiers that belong to another active profile are a
    409 identifier_conflict; others replace the profile's. strict=False (event ingestion): the
    event lands on the first match and identifiers already taken elsewhere are left where they
    are; the profile's own identifiers are only ever filled in, except with
    `replace_contact` (Segment identify, Shopify customers/create and /update): a new email or
    phone replaces the profile's when the profile was matched by its external id — the source
    system's own customer id — and no other active profile holds it. Every replaced value is
    kept as a previous identifier (veil.profiles.history).
    """
    if data.identity.is_empty():
        raise ValidationFailed("Give at least one of email, phone, external_id.")
    properties = check_properties(data.properties)
    first_name = clean_name(data.first_name, "first_name")
    last_name = clean_name(data.last_name, "last_name")
    for channel, state in data.consent.items():
        if channel not in CHANNELS or state not in CONSENT_STATES:
            raise ValidationFailed("consent must map 'email'/'sms' to 'subscribed'/'unsubscribed'.")

    for _attempt in range(5):
        profile = resolve(session, workspace_id=workspace_id, identity=data.identity)
        if profile is not None:
            # Lock the row for the merge below: on PostgreSQL two concurrent upserts of one
            # person would otherwise each write the properties they read, losing the other's.
            # A deletion that committed meanwhile is seen here, and the person gets a new profile.
            profile = ProfileRepository(session, workspace_id).get(profile.id, for_update=True)
            if profile is None or profile.status != ACTIVE:
                continue
        created = profile is None
        now = utcnow()
        try:
            with session.begin_nested():
                if profile is None:
                    profile = Profile(
                        id=new_id("prf"),
                        workspace_id=workspace_id,
                        status=ACTIVE,
                        origin=origin,
                        properties={},
                        created_at=now,
                        **{name: value for name, value in data.identity.items()},
                    )
                    session.add(profile)
                else:
                    _attach_identifiers(
                        session,
                        workspace_id,
                        profile,
                        data.identity,
                        strict=strict,
                        replace_contact=replace_contact,
                        at=now,
                    )
                if first_name is not None:
                    profile.first_name = first_name
                if last_name is not None:
                    profile.last_name = last_name
                if properties:
                    profile.properties = {**(profile.properties or {}), **properties}
                profile.updated_at = now
                session.flush()
                for channel, state in data.consent.items():
                    set_consent(
                        session,
                        profile=profile,
                        channel=channel,
                        state=state,
                        source=consent_source,
                    )
            return profile, created
        except IntegrityError:
            # Lost a race with a concurrent insert of the same identifier: resolve again.
            if profile is not None and not created:
                session.expire(profile)
            continue
    raise IdentifierConflict()


def _attach_identifiers(
    session: Session,
    workspace_id: str,
    profile: Profile,
    identity: Identity,
    *,
    strict: bool,
    replace_contact: bool,
    at: datetime,
) -> None:
    repo = ProfileRepository(session, workspace_id)
    by_own_id = identity.external_id is not None and identity.external_id == profile.external_id
    for column, value in identity.items():
        current = getattr(profile, column)
        if current == value:
            continue
        owner = repo.find_active(column, value)
        if owner is not None and owner.id != profile.id:
            if strict:
                raise IdentifierConflict(
                    f"The {column.replace('_', ' ')} given belongs to another profile."
                )
            continue
        replaceable = replace_contact and by_own_id and column in ("email", "phone")
        if current is not None and not strict and not replaceable:
            continue  # ingestion never rewrites an identifier the profile already has
        change_identifier(session, profile, column, value, at=at)


def set_consent(
    session: Session, *, profile: Profile, channel: str, state: str, source: str
) -> Consent:
    consent = session.scalar(
        select(Consent).where(Consent.profile_id == profile.id, Consent.channel == channel)
    )
    now = utcnow()
    if consent is None:
        consent = Consent(
            id=new_id("cns"),
            workspace_id=profile.workspace_id,
            profile_id=profile.id,
            channel=channel,
            state=state,
            source=source,
            recorded_at=now,
        )
        session.add(consent)
    elif consent.state != state:
        consent.state = state
        consent.source = source
        consent.recorded_at = now
    session.flush()
    return consent


def consents_of(session: Session, *, profile: Profile) -> list[Consent]:
    return list(
        session.scalars(
            select(Consent).where(Consent.profile_id == profile.id).order_by(Consent.channel)
        )
    )


def consents_by_profile(
    session: Session, *, workspace_id: str, profile_ids: list[str]
) -> dict[str, list[Consent]]:
    """Consents of many profiles in one query (a list page), keyed by profile id."""
    result: dict[str, list[Consent]] = {pid: [] for pid in profile_ids}
    if not profile_ids:
        return result
    for consent in session.scalars(
        ConsentRepository(session, workspace_id).of_profiles(profile_ids)
    ):
        result[consent.profile_id].append(consent)
    return result


def workspace_region(session: Session, workspace_id: str) -> str:
    region = session.scalar(_REGION, {"region_of": workspace_id})
    return region or "US"


# Read for every deletion request and identity lookup: built once, the workspace bound.
_REGION = select(Workspace.default_phone_region).where(Workspace.id == bindparam("region_of"))


def find_profile_workspace(session: Session, profile_id: str) -> str | None:
    """The workspace a profile id belongs to, across workspaces: the operator's CLI infers
    `--workspace` with it (no API path reaches it)."""
    return session.scalar(select(Profile.workspace_id).where(Profile.id == profile_id))
