"""The API's per-profile doors (`POST /profiles/{id}/export|delete`, SPEC §4, §5): an export or
a deletion of one profile, asked over the API by a compliance admin (the UI's twin is
`veil.web.compliance`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from veil.auth.principal import Principal
from veil.runtime import Runtime

T = TypeVar("T")


def for_profile(
    action: Callable[..., T],
    session: Session,
    runtime: Runtime,
    principal: Principal,
    profile_id: str,
    **options: Any,
) -> T:
    """`action` (`profile_actions.export_profile` or `.delete_profile`) about `profile_id`,
    recorded as an API request made by `principal`."""
    return action(
        session,
        runtime=runtime,
        workspace_id=principal.workspace_id,
        profile_id=profile_id,
        requested_by=principal.label,
        actor=principal.actor,
        source="api",
        **options,
    )
