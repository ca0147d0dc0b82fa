"""What every command group shares: the runtime, the schema migration, and failing with a message.

Sub-apps import this module, never `veil.cli.main` (which imports them), so the CLI has no cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import typer

from veil.config import WeakSecret
from veil.logging import configure_logging
from veil.ops import refuse_weak_secret
from veil.runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

R = TypeVar("R")


def runtime() -> Runtime:
    """The process's runtime from the environment, with logging configured; with VEIL_ENV=prod,
    a weak secret stops the command here."""
    current = get_runtime()
    configure_logging(current.settings)
    try:
        refuse_weak_secret(current)
    except WeakSecret as exc:
        fail(str(exc))
    return current


def migrate(current: Runtime) -> None:
    """Create or upgrade the schema: every command that touches the database runs this first."""
    from veil.schema import migrate as migrate_schema

    migrate_schema(current.engine)


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def request_for_profile(
    session: Session,
    current: Runtime,
    call: Callable[..., R],
    *,
    profile_id: str,
    workspace: str | None,
) -> tuple[str, R]:
    """An export or deletion request about one profile, made by "cli": in `workspace` when
    given (the service checks the profile is there), else in the profile's own workspace."""
    from veil.profiles.service import find_profile_workspace

    workspace_id = workspace or find_profile_workspace(session, profile_id)
    if workspace_id is None:
        fail("Profile not found.")
    made = call(
        session,
        runtime=current,
        workspace_id=workspace_id,
        profile_id=profile_id,
        requested_by="cli",
        actor="cli",
        source="cli",
    )
    return workspace_id, made
