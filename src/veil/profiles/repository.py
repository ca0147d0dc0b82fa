"""Every profile query, scoped to one workspace."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, or_, select, update

from veil.db import LIKE_ESCAPE, like_pattern, unicode_lower
from veil.errors import ProfileDeleted
from veil.kit.repository import WorkspaceRepository
from veil.models import Consent, IdentifierType, Profile, ProfileIdentifier
from veil.models.profile import ACTIVE

_IN_CHUNK = 500


class ProfileRepository(WorkspaceRepository[Profile]):
    model = Profile
    not_found = "Profile not found."

    def get_active(self, profile_id: str, *, for_update: bool = False) -> Profile:
        """The profile, or NotFound; ProfileDeleted once it has been deleted."""
        profile = self.get_one(profile_id, for_update=for_update)
        if profile.status != ACTIVE:
            raise ProfileDeleted()
        return profile

    def find_active(self, column: str, value: str) -> Profile | None:
        attr = getattr(Profile, column)
        found: Profile | None = self.session.scalar(
            self.statement().where(Profile.status == ACTIVE, attr == value).limit(1)
        )
        return found

    def active_ids(self, profile_ids: Iterable[str]) -> set[str]:
        """Which of these profile ids are active profiles (ids only: no objects loaded)."""
        wanted = sorted(set(profile_ids))
        found: set[str] = set()
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            found.update(
                self.session.scalars(
                    self.scoped(select(Profile.id)).where(
                        Profile.status == ACTIVE, Profile.id.in_(chunk)
                    )
                )
            )
        return found

    def active_ids_by(self, column: str, values: Iterable[str]) -> list[tuple[str, str]]:
        """(id, value) of the active profiles whose `column` is one of `values` (in chunks)."""
        wanted = sorted(set(values))
        found: list[tuple[str, str]] = []
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            found.extend(
                (row[0], row[1])
                for row in self.session.execute(self.active_ids_by_query(column, chunk))
            )
        return found

    def active_ids_by_query(self, column: str, chunk: Sequence[str]) -> Select[Any]:
        """One chunk of `active_ids_by`: a probe of the partial unique index on (workspace,
        `column`) of active profiles per value."""
        attr = getattr(Profile, column)
        return self.by_unique_key([Profile.id, attr], attr, chunk, Profile.status == ACTIVE)

    def touch(self, profile_ids: Iterable[str], at: datetime) -> None:
        """Set `updated_at` of these profiles, one UPDATE per chunk (objects loaded follow)."""
        wanted = sorted(set(profile_ids))
        for start in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[start : start + _IN_CHUNK]
            self.session.execute(
                self.scoped(update(Profile))
                .where(self.one_of(Profile.id, chunk))
                .values(updated_at=at)
            )

    def search_active(self, query: str | None) -> Select[Any]:
        stmt = self.statement().where(Profile.status == ACTIVE)
        if query and query.strip():
            # Exact about what was typed (`_` and `%` are literal), case-insensitive in any
            # script: the needle is lower-cased here, the columns by unicode_lower.
            needle = query.strip().lower()
            like = like_pattern(needle)
            digits = "".join(ch for ch in needle if ch.isdigit())
            conditions = [
                unicode_lower(Profile.email).like(like, escape=LIKE_ESCAPE),
                unicode_lower(Profile.first_name).like(like, escape=LIKE_ESCAPE),
                unicode_lower(Profile.last_name).like(like, escape=LIKE_ESCAPE),
                unicode_lower(Profile.first_name + " " + Profile.last_name).like(
                    like, escape=LIKE_ESCAPE
                ),
                Profile.external_id == query.strip(),
            ]
            if len(digits) >= 4:
                conditions.append(Profile.phone.like(f"%{digits}%"))
            stmt = stmt.where(or_(*conditions))
        return stmt


class ConsentRepository(WorkspaceRepository[Consent]):
    model = Consent

    def of_profiles(self, profile_ids: Iterable[str]) -> Select[Any]:
        """Consents of these profiles, by profile then channel."""
        return (
            self.statement()
            .where(Consent.profile_id.in_(list(profile_ids)))
            .order_by(Consent.profile_id, Consent.channel)
        )


class ProfileIdentifierRepository(WorkspaceRepository[ProfileIdentifier]):
    """Previous identifiers of profiles (SPEC §9 identifier history)."""

    model = ProfileIdentifier

    def of_profile(self, profile_id: str) -> list[ProfileIdentifier]:
        """A profile's previous identifiers, the most recently replaced first."""
        params = {"of_workspace": self.workspace_id, "of_profile": profile_id}
        return list(self.session.scalars(_IDENTIFIERS_OF_PROFILE, params))

    def find(self, profile_id: str, type: IdentifierType, value: str) -> ProfileIdentifier | None:
        found: ProfileIdentifier | None = self.session.scalar(
            self.statement().where(
                ProfileIdentifier.profile_id == profile_id,
                ProfileIdentifier.type == type,
                ProfileIdentifier.value == value,
            )
        )
        return found

    def active_owners_of(
        self, type: IdentifierType, values: Iterable[str]
    ) -> list[tuple[str, str]]:
        """(profile id, value) of the active profiles that once had one of `values` as their
        `type`: one query per chunk of the IN list, never one per value (bulk requests)."""
        wanted = sorted(set(values))
        found: list[tuple[str, str]] = []
        for start in range(0, len(wanted), _IN_CHUNK):
            stmt = (
                select(ProfileIdentifier.profile_id, ProfileIdentifier.value)
                .join(Profile, Profile.id == ProfileIdentifier.profile_id)
                .where(
                    ProfileIdentifier.type == type,
                    ProfileIdentifier.value.in_(wanted[start : start + _IN_CHUNK]),
                    Profile.status == ACTIVE,
                )
                .order_by(ProfileIdentifier.profile_id)
            )
            stmt = self.scoped(self.scoped(stmt), Profile)
            found.extend((row[0], row[1]) for row in self.session.execute(stmt))
        return found

    def active_profile_ids_with(self, type: IdentifierType, value: str) -> list[str]:
        """Active profiles that once had this identifier (uses ix_profile_identifiers_lookup)."""
        stmt = (
            select(ProfileIdentifier.profile_id)
            .join(Profile, Profile.id == ProfileIdentifier.profile_id)
            .where(
                ProfileIdentifier.type == type,
                ProfileIdentifier.value == value,
                Profile.status == ACTIVE,
            )
            .distinct()
        )
        stmt = self.scoped(self.scoped(stmt), Profile)
        return list(self.session.scalars(stmt))


# Read for every deletion request (the subject's previous identifiers): built once, the
# workspace and profile bound at execution.
_IDENTIFIERS_OF_PROFILE = (
    select(ProfileIdentifier)
    .where(
        ProfileIdentifier.workspace_id == bindparam("of_workspace"),
        ProfileIdentifier.profile_id == bindparam("of_profile"),
    )
    .order_by(ProfileIdentifier.until.desc(), ProfileIdentifier.id)
)
