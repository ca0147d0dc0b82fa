"""`veil audit verify`: check every workspace's audit chain from the command line.

Exit code 0 when every chain is intact, 1 when one is broken (an entry edited, removed from
the middle or from the end). The head hash it prints can be kept elsewhere: a later run that
prints another history for the same sequence numbers shows that the chain was rewritten.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from veil.cli import common

audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)


@audit_app.command("verify")
def verify(
    workspace: Annotated[
        str | None, typer.Option("--workspace", help="Only this workspace (default: all).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Verify the hash chain of the audit log; non-zero exit if an entry was altered or removed."""
    from veil.audit.service import verify_chain, workspace_ids
    from veil.db import read_only_session

    runtime = common.runtime()
    common.migrate(runtime)
    broken = 0
    with read_only_session(runtime.sessionmaker) as session:
        known = workspace_ids(session)
        if workspace and workspace not in known:
            typer.echo("error: Workspace not found.", err=True)
            raise typer.Exit(1)
        for workspace_id in [workspace] if workspace else known:
            report = verify_chain(session, workspace_id=workspace_id)
            broken += not report.ok
            if as_json:
                typer.echo(
                    json.dumps(
                        {
                            "workspace_id": report.workspace_id,
                            "ok": report.ok,
                            "entries": report.entries,
                            "broken_at_seq": report.broken_at_seq,
                            "reason": report.reason,
                            "head_hash": report.head_hash,
                        }
                    )
                )
            elif report.ok:
                typer.echo(f"{workspace_id}: ok, {report.entries} entries, head {report.head_hash}")
            else:
                typer.echo(
                    f"{workspace_id}: BROKEN at seq {report.broken_at_seq}: {report.reason}",
                    err=True,
                )
    if broken:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
