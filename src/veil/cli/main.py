"""`veil`: serve, worker, migrate, demo, workspaces, users, keys, export, delete, sweep."""

from __future__ import annotations

import getpass
import json
import logging
import signal
import sys
import threading
from typing import Annotated

import typer

from veil import __version__
from veil.cli import common
from veil.cli.common import fail
from veil.ops.serving import run_server

app = typer.Typer(
    help="Veil: customer profiles with GDPR export and erasure built in.", no_args_is_help=True
)
workspaces_app = typer.Typer(help="Create and list workspaces.", no_args_is_help=True)
users_app = typer.Typer(help="Create users (logins for the web UI).", no_args_is_help=True)
keys_app = typer.Typer(help="Create API keys; rotate the secret key.", no_args_is_help=True)

# `serve` and `demo` listen on the same interface and port options.
ListenHost = Annotated[str, typer.Option(help="Interface to listen on.")]
ListenPort = Annotated[int, typer.Option(help="Port to listen on.")]


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"veil {__version__}")
        raise typer.Exit()


@app.callback()
def veil_options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Veil: customer profiles with GDPR export and erasure built in."""


app.add_typer(workspaces_app, name="workspaces")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    common.migrate(common.runtime())
    typer.echo("database is up to date")


@app.command()
def serve(
    host: ListenHost = "127.0.0.1",
    port: ListenPort = 8000,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Do not run the embedded worker.")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Web processes (same behaviour as one).")
    ] = 1,
) -> None:
    """Migrate, then serve the API and UI with an embedded worker and expiry sweeper."""
    runtime = common.runtime()
    run_server(runtime, host=host, port=port, worker=not no_worker, workers=workers)


@app.command()
def worker(
    threads: Annotated[int, typer.Option(min=1, max=32, help="Worker threads.")] = 2,
    metrics_port: Annotated[
        int | None, typer.Option(help="Serve this worker's Prometheus metrics on this port.")
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Interface for --metrics-port.")] = "127.0.0.1",
) -> None:
    """Run background jobs (exports, deletions) and the periodic sweep."""
    import veil.tasks  # noqa: F401  (an entry point: registers every job and sweeper)
    from veil.ops.heap import freeze_startup_heap
    from veil.worker.queue import WorkerThreads

    runtime = common.runtime()
    common.migrate(runtime)
    if metrics_port is not None:
        from veil.ops.metrics import serve_worker_metrics

        serve_worker_metrics(runtime, host=metrics_host, port=metrics_port)
    workers = WorkerThreads(runtime, threads=threads)
    freeze_startup_heap()
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    workers.start()
    typer.echo(f"worker running ({threads} threads); Ctrl-C to stop")
    stop.wait()
    workers.stop()


@app.command()
def demo(
    host: ListenHost = "127.0.0.1",
    port: ListenPort = 8000,
    seed_only: Annotated[
        bool, typer.Option("--seed-only", help="Seed (idempotent) and exit without serving.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the details as JSON.")] = False,
) -> None:
    """Seed the demo store (once; later runs reuse it), print how to log in, and serve it."""
    from veil.auth.service import active_write_key, reveal_write_key
    from veil.db import session_scope
    from veil.demo import seed
    from veil.workspaces.service import issue_api_key, revoke_demo_keys

    runtime = common.runtime()
    common.migrate(runtime)
    url = f"http://{host}:{port}"
    if "base_url" not in runtime.settings.model_fields_set:
        runtime.settings.base_url = url  # tracking links point at this server
    store = seed.seed_demo(runtime)
    with session_scope(runtime.sessionmaker) as session:
        # Keys are stored hashed, so an old one cannot be shown again: issue a fresh one,
        # and revoke the previous runs' demo keys so they do not pile up, all active.
        revoke_demo_keys(session, workspace_id=store.workspace_id)
        token = issue_api_key(
            session, workspace_id=store.workspace_id, actor="cli", role="admin", name="demo"
        ).token
        write_key = active_write_key(session, workspace_id=store.workspace_id)
        write_token = reveal_write_key(write_key, runtime.seal_keyring) if write_key else None
    details = {
        "url": url,
        "workspace_id": store.workspace_id,
        "created": store.created,
        "counts": store.counts,
        "admin_login": {"email": seed.ADMIN_EMAIL, "password": seed.DEMO_PASSWORD},
        "member_login": {"email": seed.MEMBER_EMAIL, "password": seed.DEMO_PASSWORD},
        "admin_api_key": token,
        "write_key": write_token,
    }
    banner = None
    if as_json:
        typer.echo(json.dumps(details))
    else:
        counts = store.counts
        state = "seeded" if store.created else "already seeded, reusing it"
        banner = (
            f"Veil demo store ({state}): {counts.get('profiles', 0):,} profiles, "
            f"{counts.get('events', 0):,} events, {_campaigns_and_flows(counts)}\n"
            f"  URL:              {url}\n"
            f"  Admin login:      {seed.ADMIN_EMAIL} / {seed.DEMO_PASSWORD}\n"
            f"  Member login:     {seed.MEMBER_EMAIL} / {seed.DEMO_PASSWORD}\n"
            f"  Admin API key:    {token}   (new for this run; earlier demo keys revoked)\n"
            f"  Write key:        {write_token}\n"
            f"  Try:  curl -H 'Authorization: Bearer {token}' {url}/api/v1/profiles"
        )

    def announce() -> None:
        if banner:
            typer.echo(banner)

    if seed_only:
        announce()
        return
    run_server(runtime, host=host, port=port, worker=True, on_ready=announce)


def _campaigns_and_flows(counts: dict[str, int]) -> str:
    flows = counts.get("flows", 0)
    campaigns = counts.get("campaigns", 0) - flows

    def plural(n: int, word: str) -> str:
        return f"a {word}" if n == 1 else f"{n} {word}s"

    return f"{plural(campaigns, 'campaign')} and {plural(flows, 'flow')}"


@workspaces_app.command("create")
def workspaces_create(
    name: str,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    region: Annotated[str, typer.Option(help="Default phone region.")] = "US",
) -> None:
    """Create a workspace with an admin API key and a write key."""
    from veil.db import session_scope
    from veil.errors import VeilError
    from veil.workspaces.service import create_workspace

    runtime = common.runtime()
    common.migrate(runtime)
    try:
        with session_scope(runtime.sessionmaker) as session:
            created = create_workspace(
                session, name=name, keyring=runtime.seal_keyring, default_phone_region=region
            )
            out = {
                "workspace_id": created.workspace.id,
                "admin_api_key": created.admin_api_key,
                "write_key": created.write_key,
            }
    except VeilError as exc:
        fail(exc.message)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        typer.echo(f"workspace:     {out['workspace_id']}")
        typer.echo(f"admin API key: {out['admin_api_key']}   (shown once)")
        typer.echo(f"write key:     {out['write_key']}")


@users_app.command("create")
def users_create(
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id.")],
    email: Annotated[str, typer.Option("--email", help="Login email.")],
    role: Annotated[str, typer.Option("--role", help="admin or member.")],
    password: Annotated[
        str | None, typer.Option("--password", help="Asked for when omitted.")
    ] = None,
) -> None:
    """Create a login for the web UI with a role in a workspace."""
    from veil.db import session_scope
    from veil.errors import VeilError
    from veil.workspaces.service import create_user

    runtime = common.runtime()
    common.migrate(runtime)
    if password is None:
        if not sys.stdin.isatty():
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("Password: ")
            if getpass.getpass("Again: ") != password:
                fail("passwords do not match")
    try:
        with session_scope(runtime.sessionmaker) as session:
            user = create_user(
                session, workspace_id=workspace, email=email, password=password, role=role
            )
            user_id = user.id
    except VeilError as exc:
        fail(exc.message)
    typer.echo(json.dumps({"user_id": user_id, "workspace_id": workspace, "role": role}))


@keys_app.command("create")
def keys_create(
    workspace: Annotated[str, typer.Option("--workspace", help="Workspace id.")],
    role: Annotated[str, typer.Option("--role", help="admin or member.")],
    name: Annotated[str, typer.Option("--name", help="A label for the key.")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Create an API key (printed once)."""
    from veil.db import session_scope
    from veil.errors import VeilError
    from veil.workspaces.service import get_workspace, issue_api_key

    runtime = common.runtime()
    common.migrate(runtime)
    try:
        with session_scope(runtime.sessionmaker) as session:
            get_workspace(session, workspace)
            issued = issue_api_key(
                session, workspace_id=workspace, actor="cli", role=role, name=name or "cli"
            )
            token = issued.token
    except VeilError as exc:
        fail(exc.message)
    typer.echo(json.dumps({"api_key": token}) if as_json else token)


def _register_feature_commands() -> None:
    from veil.cli import audit, deletions, exports, secret_key

    exports.register(app)
    deletions.register(app)
    audit.register(app)
    secret_key.register(keys_app)


_register_feature_commands()


def main() -> None:  # pragma: no cover
    logging.captureWarnings(True)
    app()
