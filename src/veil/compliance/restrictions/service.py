"""Restricting a profile (GDPR art. 18, SPEC §9): its data is kept, nothing new is done with it.

A restricted profile keeps its data, can be exported and deleted, and still records the events
that arrive (the shop keeps selling to the person), but it is never a campaign recipient — a
send skips it even when `profile_ids` names it (veil.campaigns.repository) — and retention
leaves it and its events alone (restriction is often asked for to keep data for a legal claim).
The reason is kept on the profile for the admins (erased with it); the audit entry carries ids
only.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.errors import ValidationFailed
from veil.kit.time import utcnow
from veil.models import Profile
from veil.profiles.repository import ProfileRepository

MAX_REASON = 500


def check_reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed("reason is required: say why processing is restricted.")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"reason is longer than {MAX_REASON} characters.")
    if "\x00" in text:
        raise ValidationFailed("reason contains a NUL character.")
    return text


def restrict_profile(
    session: Session, *, workspace_id: str, profile_id: str, reason: str | None, actor: str
) -> Profile:
    """Restrict the profile (again: the reason is updated, `restricted_at` stays)."""
    text = check_reason(reason)
    profile = ProfileRepository(session, workspace_id).get_active(profile_id, for_update=True)
    newly = profile.restricted_at is None
    if newly:
        profile.restricted_at = utcnow()
    profile.restriction_reason = text
    session.flush()
    audit.record_about(
        session,
        profile,
        "profile",
        "profile.restricted" if newly else "profile.restriction_updated",
        actor=actor,
    )
    return profile


def unrestrict_profile(
    session: Session, *, workspace_id: str, profile_id: str, actor: str
) -> Profile:
    """Lift the restriction (a profile that is not restricted is answered as it is)."""
    profile = ProfileRepository(session, workspace_id).get_active(profile_id, for_update=True)
    if profile.restricted_at is None:
        return profile
    profile.restricted_at = None
    profile.restriction_reason = None
    session.flush()
    audit.record_about(session, profile, "profile", "profile.unrestricted", actor=actor)
    return profile
