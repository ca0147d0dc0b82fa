"""What every command group shares: the runtime, the schema migration, and failing with a message.

Sub-apps import this module, never `veil.cli.main` (which imports them), so the CLI has no cycle.
"""

from __future__ import annotations

from typing import NoReturn

import typer

from veil.config import WeakSecret
from veil.logging import configure_logging
from veil.ops import refuse_weak_secret
from veil.runtime import Runtime, get_runtime


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
