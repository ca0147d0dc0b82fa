"""The identities a privacy request names: normalised as in §2, sealed at rest, matched to profiles.

`match_subjects` is the one place that turns identities into profile ids; bulk requests go
through it too, so it looks values up in batches (per identifier type and chunk: one query on
the current identifiers, one on the identifier history), never one round trip per subject.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import orjson
from sqlalchemy.orm import Session

from veil.errors import ValidationFailed
from veil.kit.crypto import Keyring
from veil.models.profile_identifier import IdentifierType
from veil.profiles.identifiers import normalize_email, normalize_external_id, normalize_phone
from veil.profiles.repository import ProfileIdentifierRepository, ProfileRepository

IdentityType = Literal["email", "phone", "external_id", "profile_id"]
IDENTITY_TYPES: tuple[IdentityType, ...] = ("email", "phone", "external_id", "profile_id")
MAX_IDENTITIES = 10


@dataclass(frozen=True)
class Identity:
    type: IdentityType
    value: str

    def as_dict(self) -> dict[str, str]:
        return {"type": self.type, "value": self.value}


def normalize_identities(
    raw: Sequence[tuple[str, str]], *, region: str, where: str = "identities"
) -> tuple[Identity, ...]:
    """Normalised, de-duplicated; a ValidationFailed names the position, never the value."""
    if not 1 <= len(raw) <= MAX_IDENTITIES:
        raise ValidationFailed(f"{where} must hold 1 to {MAX_IDENTITIES} identities.")
    found: list[Identity] = []
    for index, (kind, value) in enumerate(raw):
        try:
            normalized = _normalize(kind, value, region=region)
        except ValidationFailed as exc:
            raise ValidationFailed(f"{where}[{index}]: {exc.message}") from None
        if normalized is None:
            raise ValidationFailed(f"{where}[{index}]: value is empty.")
        identity = Identity(kind, normalized)  # type: ignore[arg-type]
        if identity not in found:
            found.append(identity)
    return tuple(found)


def _normalize(kind: str, value: str, *, region: str) -> str | None:
    if kind == "email":
        return normalize_email(value)
    if kind == "phone":
        return normalize_phone(value, region=region)
    if kind == "external_id":
        return normalize_external_id(value)
    if kind == "profile_id":
        text = value.strip()
        if len(text) > 40:
            raise ValidationFailed("profile_id is longer than 40 characters.")
        return text or None
    raise ValidationFailed("type must be one of email, phone, external_id, profile_id.")


# -- sealing ----------------------------------------------------------------------------------


def _aad(workspace_id: str, request_id: str) -> str:
    return f"privacy-request:{workspace_id}:{request_id}:identities"


def seal_identities(
    keyring: Keyring, identities: Sequence[Identity], *, workspace_id: str, request_id: str
) -> str:
    text = orjson.dumps([i.as_dict() for i in identities]).decode()
    return keyring.seal(text, aad=_aad(workspace_id, request_id))


def unseal_identities(
    keyring: Keyring, token: str, *, workspace_id: str, request_id: str
) -> list[Identity]:
    items = orjson.loads(keyring.unseal(token, aad=_aad(workspace_id, request_id)))
    return [Identity(item["type"], item["value"]) for item in items]


# -- matching ---------------------------------------------------------------------------------

_COLUMN: dict[str, str] = {
    "email": "email",
    "phone": "phone",
    "external_id": "external_id",
    "profile_id": "id",
}


def match_subjects(
    session: Session, *, workspace_id: str, subjects: Sequence[Sequence[Identity]]
) -> list[list[str]]:
    """For each subject, the ids of the workspace's active profiles any identity matches, by
    current and previous identifiers (SPEC §8.1, §9), in the order first found (a current
    holder before the profiles that had the value once); an empty list is a valid answer."""
    wanted: dict[str, set[str]] = {kind: set() for kind in IDENTITY_TYPES}
    for identities in subjects:
        for identity in identities:
            wanted[identity.type].add(identity.value)
    repo = ProfileRepository(session, workspace_id)
    history = ProfileIdentifierRepository(session, workspace_id)
    owners: dict[tuple[str, str], list[str]] = {}
    for kind, values in wanted.items():
        if not values:
            continue
        found = repo.active_ids_by(_COLUMN[kind], values)
        if kind != "profile_id":
            found += history.active_owners_of(IdentifierType(kind), values)
        for profile_id, value in found:
            holders = owners.setdefault((kind, value), [])
            if profile_id not in holders:
                holders.append(profile_id)
    matched: list[list[str]] = []
    for identities in subjects:
        ids: list[str] = []
        for identity in identities:
            for profile_id in owners.get((identity.type, identity.value), []):
                if profile_id not in ids:
                    ids.append(profile_id)
        matched.append(ids)
    return matched
