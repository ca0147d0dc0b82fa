"""Suppression entries (SPEC §9): made at deletion, listed and lifted by admins.

`suppress_identifiers` is the one way in: the deletion service calls it with the profile's
identifiers (and a privacy request may call it with identities that matched nobody). It keeps
only HMAC digests of `"<type>:<normalised value>"` under the workspace's key (keys.py). What
ingestion does with them is screening.py.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.compliance.suppressions.keys import key_for_writing
from veil.compliance.suppressions.repository import SuppressionRepository
from veil.errors import NotFound
from veil.kit.ids import new_id
from veil.kit.pagination import PageParams
from veil.kit.time import utcnow
from veil.models import Profile, SuppressedIdentifier, Suppression, Workspace
from veil.runtime import Runtime

# The identifiers a person is recognised by when data arrives (SPEC §2), in display order.
IDENTIFIER_TYPES = ("email", "phone", "external_id", "anonymous_id")


def digest(key: bytes, identifier_type: str, value: str) -> str:
    # hmac.digest: the one-shot form, computed in C (the same bytes as hmac.new(...).digest()).
    return hmac.digest(key, f"{identifier_type}:{value}".encode(), "sha256").hex()


def profile_identifiers(profile: Profile) -> list[tuple[str, str]]:
    """The profile's current identifiers, already normalised (SPEC §2)."""
    return [(t, v) for t in IDENTIFIER_TYPES if (v := getattr(profile, t, None))]


def suppress_identifiers(
    session: Session,
    runtime: Runtime,
    workspace_id: str,
    identifiers: Iterable[tuple[str, str]],
    deletion_id: str | None,
    privacy_request_id: str | None = None,
    *,
    actor: str = "system",
) -> Suppression | None:
    """Keep these normalised `(type, value)` identifiers out, as digests only, in the caller's
    transaction; None when there is nothing to suppress (no identifier at all)."""
    wanted = list(dict.fromkeys((t, v) for t, v in identifiers if t in IDENTIFIER_TYPES and v))
    if not wanted:
        return None
    key = key_for_writing(session, runtime, workspace_id)
    types = [t for t in IDENTIFIER_TYPES if any(kind == t for kind, _v in wanted)]
    entry = Suppression(
        id=new_id("sup"),
        workspace_id=workspace_id,
        created_at=utcnow(),
        deletion_id=deletion_id,
        privacy_request_id=privacy_request_id,
        identifier_types=types,
        dropped=0,
    )
    session.add(entry)
    session.flush()
    session.add_all(
        SuppressedIdentifier(
            id=new_id("sid"),
            workspace_id=workspace_id,
            suppression_id=entry.id,
            digest=d,
        )
        for d in dict.fromkeys(digest(key, t, v) for t, v in wanted)
    )
    session.flush()
    audit.record_about(
        session,
        entry,
        "suppression",
        "suppression.created",
        actor=actor,
        details={
            "deletion_request_id": deletion_id,
            "privacy_request_id": privacy_request_id,
            "identifier_types": types,
        },
    )
    return entry


def suppresses_by_default(session: Session, workspace_id: str) -> bool:
    """The workspace setting `suppress_on_delete` (SPEC §9; default false)."""
    return bool(session.scalar(_SUPPRESS_ON_DELETE, {"setting_of": workspace_id}))


# Read for every deletion request: built once, the workspace bound.
_SUPPRESS_ON_DELETE = select(Workspace.suppress_on_delete).where(
    Workspace.id == bindparam("setting_of")
)


def page_suppressions(
    session: Session, *, workspace_id: str, page: PageParams
) -> tuple[Sequence[Suppression], str | None]:
    """Newest first."""
    return SuppressionRepository(session, workspace_id).newest_first(page)


def lift_suppression(
    session: Session, *, workspace_id: str, suppression_id: str, actor: str
) -> None:
    """Forget the entry's digests: later data about the person is collected again (audited).
    A second lift finds nothing: 404."""
    if not SuppressionRepository(session, workspace_id).lift(suppression_id):
        raise NotFound("Suppression not found.")
    audit.record(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="suppression.lifted",
        target_type="suppression",
        target_id=suppression_id,
    )
