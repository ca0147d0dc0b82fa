"""`veil export PROFILE_ID [--workspace]` and `veil sweep`, run as real commands."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from tests.compliance.export_support import (
    export_row,
    make_subject,
    store_files,
    subprocess_env,
    veil_executable,
)
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.kit.time import utcnow
from veil.models import AuditEntry, ExportRequest
from veil.runtime import Runtime


def _veil(
    runtime: Runtime, database_url: str, *args: str, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [veil_executable(), *args],
        env=subprocess_env(runtime, database_url, **settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_export_then_sweep_builds_the_file(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str
) -> None:
    subject = make_subject(runtime, ws)
    created = _veil(runtime, database_url, "export", subject.profile_id)
    assert created.returncode == 0, created.stderr
    request = json.loads(created.stdout)
    assert request["status"] == "pending" and request["profile_id"] == subject.profile_id
    assert request["requested_by"] == "cli" and request["source"] == "cli"

    swept = _veil(runtime, database_url, "sweep")
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout) == {"swept": True, "jobs_run": 1}
    row = export_row(runtime, request["id"])
    assert row.status == "ready" and row.workspace_id == ws.id
    with runtime.sessionmaker() as session:
        actors = session.scalars(
            select(AuditEntry.actor).where(
                AuditEntry.target_id == request["id"], AuditEntry.action == "export.requested"
            )
        ).all()
    assert actors == ["cli"]


def test_export_errors_are_reported_with_their_code(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle, database_url: str
) -> None:
    subject = make_subject(runtime, ws)
    with runtime.sessionmaker.begin() as session:
        anonymous = make_profile(
            session, workspace_id=ws.id, email=None, phone=None, external_id="anon-7"
        ).id

    missing = _veil(runtime, database_url, "export", "prf_nosuchprofile")
    assert missing.returncode == 1 and "Profile not found." in missing.stderr
    wrong_ws = _veil(
        runtime, database_url, "export", subject.profile_id, "--workspace", other_ws.id
    )
    assert wrong_ws.returncode == 1 and "not_found" in wrong_ws.stderr
    not_contact = _veil(runtime, database_url, "export", anonymous)
    assert not_contact.returncode == 1 and "not_a_contact" in not_contact.stderr

    first = _veil(runtime, database_url, "export", subject.profile_id, "--workspace", ws.id)
    assert first.returncode == 0, first.stderr
    again = _veil(runtime, database_url, "export", subject.profile_id)
    assert again.returncode == 1
    assert "already_requested: Already requested for this customer." in again.stderr


def test_sweep_expires_files_past_their_ttl(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str
) -> None:
    subject = make_subject(runtime, ws)
    created = _veil(runtime, database_url, "export", subject.profile_id)
    export_id = json.loads(created.stdout)["id"]
    _veil(runtime, database_url, "sweep", "--enqueue-only")
    assert export_row(runtime, export_id).status == "pending"
    _veil(runtime, database_url, "sweep")
    assert export_row(runtime, export_id).status == "ready"
    files = store_files(runtime)
    assert len(files) == 1 and isinstance(files[0], Path)

    # Seven days pass: the row's expiry moves into the past (no race against a short TTL).
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    swept = _veil(runtime, database_url, "sweep")
    assert swept.returncode == 0, swept.stderr
    assert export_row(runtime, export_id).status == "expired"
    assert store_files(runtime) == [] and not files[0].exists()
