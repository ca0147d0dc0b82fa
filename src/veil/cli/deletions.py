"""`veil delete PROFILE_ID` and `veil erasure compact`: erasure from the command line."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from veil.cli import common
from veil.cli.common import fail

erasure_app = typer.Typer(help="Operator commands around erasure.", no_args_is_help=True)


def _interactive() -> bool:
    return sys.stdin.isatty()


def delete(
    profile_id: Annotated[str, typer.Argument(help="The profile to erase.")],
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Workspace id (checked when given).")
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", help="Skip the confirmation question on a terminal.")
    ] = False,
    wait: Annotated[
        bool, typer.Option("--wait", help="Erase now in this process instead of the worker.")
    ] = False,
) -> None:
    """Erase a profile's personal data (SPEC §5); prints the deletion request as JSON.

    On a terminal it asks first (unless --yes); from a script (stdin not a terminal) the command
    itself is the confirmation, as SPEC §7 has it: `veil delete PROFILE_ID`.
    """
    from veil.compliance.deletions.erasure import run_deletion
    from veil.compliance.deletions.schemas import DeletionRead
    from veil.compliance.deletions.service import get_deletion, request_deletion
    from veil.db import session_scope
    from veil.errors import VeilError

    runtime = common.runtime()
    common.migrate(runtime)
    if (
        not yes
        and _interactive()
        and not typer.confirm(f"Erase profile {profile_id}? This cannot be undone.", default=False)
    ):
        fail("not confirmed; nothing was changed")
    try:
        with session_scope(runtime.sessionmaker) as session:
            workspace_id, request = common.request_for_profile(
                session, runtime, request_deletion, profile_id=profile_id, workspace=workspace
            )
            request_id = request.id
        if wait:
            run_deletion(runtime, request_id)
        with session_scope(runtime.sessionmaker) as session:
            request = get_deletion(session, workspace_id=workspace_id, deletion_id=request_id)
            out = DeletionRead.build(request, runtime.seal_keyring).model_dump()
    except VeilError as exc:
        fail(f"{exc.code}: {exc.message}")
    # The admin's own terminal: the record as the Deleted table shows it, minus the contact.
    for field in ("name", "email", "phone"):
        out.pop(field, None)
    typer.echo(json.dumps(out))


@erasure_app.command("compact")
def compact_command(
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: PostgreSQL tables are locked while rewritten.")
    ] = False,
) -> None:
    """Rewrite the tables erasures touch so no old row versions stay in their files.

    PostgreSQL: VACUUM FULL on events, profiles, recipients, consents and deletion_requests
    (each table is locked while it is rewritten). SQLite: a WAL checkpoint(TRUNCATE).
    See docs/erasure.md.
    """
    from veil.compliance.deletions.compaction import compact

    runtime = common.runtime()
    if runtime.engine.dialect.name == "postgresql" and not yes:
        if not sys.stdin.isatty():
            fail("VACUUM FULL locks each table while it runs; add --yes to confirm")
        if not typer.confirm("Rewrite the tables now (they are locked meanwhile)?"):
            fail("not confirmed; nothing was changed")
    try:
        for line in compact(runtime.engine):
            typer.echo(line)
    except RuntimeError as exc:
        fail(str(exc))


def register(app: typer.Typer) -> None:
    app.command("delete")(delete)
    app.add_typer(erasure_app, name="erasure")
