"""Rectification (SPEC §9, GDPR art. 16): correct a profile's identifiers, names and properties.

Unlike the upsert, the caller names the profile; an identifier another active profile holds is
a 409 identifier_conflict, never a silent move. Replaced identifiers become previous
identifiers (veil.profiles.history). The audit entry names the changed fields, never values.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.errors import IdentifierConflict, ValidationFailed
from veil.kit.jsonwalk import check_properties
from veil.kit.time import utcnow
from veil.models import Profile
from veil.profiles.history import change_identifier
from veil.profiles.identifiers import normalize_email, normalize_external_id, normalize_phone
from veil.profiles.repository import ProfileRepository
from veil.profiles.service import clean_name, workspace_region

RECTIFIABLE = ("email", "phone", "external_id", "first_name", "last_name", "properties")
_IDENTIFIERS = ("email", "phone", "external_id")


# Called with the identifiers a rectification sets (normalised, as attributes `email`,
# `phone`, `external_id`) before anything changes; it raises to refuse them.
Screen = Callable[[SimpleNamespace], None]


def rectify(
    session: Session,
    *,
    workspace_id: str,
    profile_id: str,
    changes: dict[str, Any],
    actor: str,
    screen: Screen | None = None,
) -> Profile:
    """Apply the fields given in `changes` (a null identifier or name clears it; `properties`
    is merged, a null value removing its key). Raises NotFound, ProfileDeleted,
    IdentifierConflict, ValidationFailed and whatever `screen` raises (the API's: a suppressed
    identifier, SPEC §9); changes nothing unless it succeeds."""
    repo = ProfileRepository(session, workspace_id)
    profile = repo.get_active(profile_id, for_update=True)
    unknown = sorted(set(changes) - set(RECTIFIABLE))
    if unknown:
        raise ValidationFailed("Unknown fields: " + ", ".join(unknown)[:200] + ".")
    if not changes:
        raise ValidationFailed("Give at least one of " + ", ".join(RECTIFIABLE) + ".")

    identifiers = _identifiers(session, workspace_id, changes)
    names = {f: clean_name(changes[f], f) for f in ("first_name", "last_name") if f in changes}
    properties = _merged(profile.properties or {}, changes) if "properties" in changes else None
    kept = [identifiers.get(c, getattr(profile, c)) for c in (*_IDENTIFIERS, "anonymous_id")]
    if not any(kept):
        raise ValidationFailed("A profile keeps at least one of email, phone, external_id.")
    if screen is not None:
        screen(SimpleNamespace(**{k: v for k, v in identifiers.items() if v is not None}))

    now = utcnow()
    changed: list[str] = []
    try:
        with session.begin_nested():
            for column, value in identifiers.items():
                owner = repo.find_active(column, value) if value is not None else None
                if owner is not None and owner.id != profile.id:
                    raise IdentifierConflict(
                        f"The {column.replace('_', ' ')} given belongs to another profile."
                    )
                if change_identifier(session, profile, column, value, at=now):
                    changed.append(column)
            for column, name in names.items():
                if getattr(profile, column) != name:
                    setattr(profile, column, name)
                    changed.append(column)
            if properties is not None and properties != (profile.properties or {}):
                profile.properties = properties
                changed.append("properties")
            if changed:
                profile.updated_at = now
            session.flush()
    except IntegrityError:
        # A concurrent write took the identifier between our check and the flush.
        raise IdentifierConflict() from None
    audit.record_about(
        session, profile, "profile", "profile.rectified", actor=actor, details={"fields": changed}
    )
    return profile


def _identifiers(session: Session, workspace_id: str, changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, str | None] = {}
    for column in _IDENTIFIERS:
        if column not in changes:
            continue
        value = changes[column]
        if value is not None and not isinstance(value, str):
            raise ValidationFailed(f"{column} must be a string or null.")
        if column == "email":
            out[column] = normalize_email(value)
        elif column == "phone":
            out[column] = normalize_phone(value, region=workspace_region(session, workspace_id))
        else:
            out[column] = normalize_external_id(value)
    return out


def _merged(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    patch = changes["properties"]
    if not isinstance(patch, dict):
        raise ValidationFailed("properties must be a JSON object (a null value removes its key).")
    merged = dict(current)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return check_properties(merged)
