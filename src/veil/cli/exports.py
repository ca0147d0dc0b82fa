"""`veil export PROFILE_ID` and `veil sweep`: export requests and the periodic sweep from a shell.

Registered on the main typer app in veil/cli/main.py. Both read the same configuration as
`veil serve`, so they act on the same database, queue and export store.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from veil.cli import common
from veil.cli.common import fail


def export(
    profile_id: Annotated[str, typer.Argument(help="The profile to export.")],
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", help="Workspace id (default: the profile's workspace)."),
    ] = None,
) -> None:
    """Request an export of one contact (requested by "cli"); prints the request as JSON.

    The file is built by the worker (`veil serve` or `veil worker`), or by `veil sweep`.
    """
    from veil.compliance.exports.service import read_export, request_export
    from veil.db import session_scope
    from veil.errors import VeilError

    runtime = common.runtime()
    common.migrate(runtime)
    try:
        with session_scope(runtime.sessionmaker) as session:
            workspace_id, created = common.request_for_profile(
                session, runtime, request_export, profile_id=profile_id, workspace=workspace
            )
            out = read_export(session, workspace_id=workspace_id, export=created)
    except VeilError as exc:
        fail(f"{exc.code}: {exc.message}")
    typer.echo(json.dumps(out.model_dump()))


def sweep(
    enqueue_only: Annotated[
        bool,
        typer.Option(
            "--enqueue-only",
            help="Only enqueue; leave the jobs to running workers.",
        ),
    ] = False,
) -> None:
    """One sweep pass (expiry, lost jobs), then run the queued jobs in this process.

    The pass expires old export files, re-enqueues lost or retrying jobs and removes stale
    temporary files. Running the queue here is the default because a sweep from cron on a
    box without a worker would otherwise enqueue work nobody consumes; with workers running
    it is still safe (jobs are leased and idempotent, this process simply takes some).
    """
    import veil.tasks  # noqa: F401  (an entry point: the pass runs every feature's sweeper)
    from veil.worker.queue import sweep as sweep_once

    runtime = common.runtime()
    common.migrate(runtime)
    sweep_once(runtime)
    ran = 0 if enqueue_only else runtime.queue.drain()
    typer.echo(json.dumps({"swept": True, "jobs_run": ran}))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("sweep")(sweep)
