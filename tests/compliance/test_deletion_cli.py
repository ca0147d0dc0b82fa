"""`veil delete PROFILE_ID [--workspace ID] [--yes] [--wait]` and `veil erasure compact`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import veil.logging as veil_logging
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.cli.main import app
from veil.models import DeletionRequest, Profile
from veil.runtime import Runtime

runner = CliRunner()


@pytest.fixture(autouse=True)
def quiet_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI configures process-wide logging once; keep the test process's logging as it is.
    monkeypatch.setattr(veil_logging, "_configured", True)


def new_profile(runtime: Runtime, ws: WorkspaceHandle) -> str:
    with runtime.sessionmaker.begin() as session:
        return make_profile(session, workspace_id=ws.id, email="ada@example.com").id


def status_of(runtime: Runtime, profile_id: str) -> str:
    with runtime.sessionmaker() as session:
        return session.get_one(Profile, profile_id).status


def test_delete_from_a_script_needs_no_flag(runtime: Runtime, ws: WorkspaceHandle) -> None:
    # SPEC §7 names the command `veil delete PROFILE_ID`: a script's call is its confirmation.
    profile_id = new_profile(runtime, ws)
    result = runner.invoke(app, ["delete", profile_id])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "pending"
    assert status_of(runtime, profile_id) == "deleted"


@pytest.mark.parametrize(("answer", "erased"), [("n\n", False), ("y\n", True)])
def test_delete_on_a_terminal_asks_first(
    runtime: Runtime,
    ws: WorkspaceHandle,
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
    erased: bool,
) -> None:
    profile_id = new_profile(runtime, ws)
    monkeypatch.setattr("veil.cli.deletions._interactive", lambda: True)
    result = runner.invoke(app, ["delete", profile_id], input=answer)
    assert "cannot be undone" in result.output
    assert (result.exit_code == 0) is erased, result.output
    assert status_of(runtime, profile_id) == ("deleted" if erased else "active")


def test_delete_with_yes_requests_the_erasure(runtime: Runtime, ws: WorkspaceHandle) -> None:
    profile_id = new_profile(runtime, ws)
    result = runner.invoke(app, ["delete", profile_id, "--yes"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["profile_id"] == profile_id and out["status"] == "pending"
    assert out["requested_by"] == "cli" and out["source"] == "cli"
    assert "ada@example.com" not in result.output  # the terminal gets ids, not the person
    assert status_of(runtime, profile_id) == "deleted"
    run_jobs(runtime)  # a running worker would pick it up
    with runtime.sessionmaker() as session:
        assert session.get_one(DeletionRequest, out["id"]).status == "completed"


def test_delete_wait_erases_in_the_command(runtime: Runtime, ws: WorkspaceHandle) -> None:
    profile_id = new_profile(runtime, ws)
    result = runner.invoke(app, ["delete", profile_id, "--workspace", ws.id, "--yes", "--wait"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["status"] == "completed" and out["summary"]["verified"] is True


def test_delete_checks_the_workspace_and_the_state(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    wrong = runner.invoke(app, ["delete", profile_id, "--workspace", other_ws.id, "--yes"])
    assert wrong.exit_code == 1 and "not found" in wrong.output.lower()
    missing = runner.invoke(app, ["delete", "prf_nope", "--yes"])
    assert missing.exit_code == 1 and "not found" in missing.output.lower()
    assert runner.invoke(app, ["delete", profile_id, "--yes"]).exit_code == 0
    again = runner.invoke(app, ["delete", profile_id, "--yes"])
    assert again.exit_code == 1 and "deleted" in again.output


def test_erasure_compact(runtime: Runtime, is_postgres: bool) -> None:
    refused = runner.invoke(app, ["erasure", "compact"])
    if is_postgres:
        assert refused.exit_code == 1 and "--yes" in refused.output
    result = runner.invoke(app, ["erasure", "compact", "--yes"])
    assert result.exit_code == 0, result.output
    assert ("VACUUM FULL" in result.output) if is_postgres else ("checkpoint" in result.output)
