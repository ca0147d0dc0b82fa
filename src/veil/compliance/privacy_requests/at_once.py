"""What a privacy request does in the transaction that creates it, when it completes there and
then (SPEC §8.1, §8.4): a `restriction` restricts every matched profile (§9), and a `suppress`
erasure that matched nobody still records the suppression of the identities it names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from veil.compliance.privacy_requests.identities import Identity
from veil.compliance.restrictions.service import restrict_profile
from veil.compliance.suppressions.service import suppress_identifiers
from veil.errors import NotFound, ProfileDeleted
from veil.models.privacy_request import PrivacyRequestType
from veil.runtime import Runtime


def finish(
    session: Session, runtime: Runtime, row: Mapping[str, Any], identities: Sequence[Identity]
) -> None:
    """Act for a request created `completed` (`row`: its column values, as service._row makes
    them); nothing for one whose job has steps to run."""
    workspace_id: str = row["workspace_id"]
    request_id: str = row["id"]
    type: PrivacyRequestType = row["type"]
    profile_ids: Sequence[str] = row["profile_ids"]
    actor = f"privacy_request:{request_id}"
    if type == PrivacyRequestType.RESTRICTION:
        for profile_id in profile_ids:
            try:
                # The reason admins see names the request (never the requester's words).
                restrict_profile(
                    session,
                    workspace_id=workspace_id,
                    profile_id=profile_id,
                    reason=f"Privacy request {request_id}",
                    actor=actor,
                )
            except (NotFound, ProfileDeleted):  # pragma: no cover - matched as active just now
                continue
    elif type == PrivacyRequestType.ERASURE and row["suppress"] and not profile_ids:
        suppress_identifiers(
            session,
            runtime,
            workspace_id,
            [(i.type, i.value) for i in identities if i.type != "profile_id"],
            None,
            request_id,
            actor=actor,
        )
