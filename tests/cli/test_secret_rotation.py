"""Rotating VEIL_SECRET_KEY: export files, deletion records, the write key and the Shopify secret
sealed before stay readable; what is sealed afterwards uses the new secret only."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.compliance import realistic
from tests.compliance.export_support import (
    FIRST,
    PHONE,
    make_subject,
    subprocess_env,
    veil_executable,
)
from tests.conftest import make_settings
from tests.fixtures.factories import WorkspaceHandle, make_profile, make_workspace
from veil.app import create_app
from veil.compliance.deletions import service as deletions
from veil.compliance.exports import service as exports
from veil.db import checkpoint_sqlite
from veil.kit.crypto import DecryptionError, Keyring
from veil.runtime import Runtime
from veil.worker.queue import sweep
from veil.workspaces import service as workspaces

SHOPIFY_SECRET = "shpss_0123456789abcdef0123456789ab"


def file_secret_runtime(runtime: Runtime, data_dir: Path, database_url: str) -> Runtime:
    """A runtime whose secret lives in the data dir (the default), on the test's database."""
    rt = Runtime(make_settings(data_dir, database_url, secret_key=None), engine=runtime.engine)
    return rt


def rotate(data_dir: Path, runtime: Runtime, database_url: str, **env: str) -> dict[str, object]:
    environment = subprocess_env(runtime, database_url)
    environment.pop("VEIL_SECRET_KEY")
    environment.update(VEIL_DATA_DIR=str(data_dir), **env)
    result = subprocess.run(
        [veil_executable(), "keys", "rotate-secret", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout)
    return out


def sealed_things(rt: Runtime) -> tuple[WorkspaceHandle, str, str]:
    """A workspace with a ready export file, a completed deletion record and a Shopify secret."""
    ws = make_workspace(rt)
    subject = make_subject(rt, ws)
    with rt.sessionmaker.begin() as session:
        export_id = exports.request_export(
            session,
            runtime=rt,
            workspace_id=ws.id,
            profile_id=subject.profile_id,
            requested_by="ops",
            actor="test",
        ).id
        erased = make_profile(
            session,
            workspace_id=ws.id,
            email="gone@example.com",
            phone="+14155550100",
            first_name="Gone",
            last_name="Person",
        ).id
        workspaces.update_settings(
            session,
            workspace_id=ws.id,
            actor="test",
            keyring=rt.seal_keyring,
            shopify_webhook_secret=SHOPIFY_SECRET,
        )
    deletion_id = realistic.request_deletion(rt, workspace_id=ws.id, profile_id=erased)
    rt.queue.drain()
    return ws, export_id, deletion_id


def assert_all_readable(rt: Runtime, ws: WorkspaceHandle, export_id: str, deletion_id: str) -> None:
    with TestClient(create_app(rt)) as client:
        download = client.get(f"/api/v1/compliance/exports/{export_id}/download", headers=ws.admin)
        assert download.status_code == 200, download.text
        doc = json.loads(download.content)
        assert doc["profile"]["phone"] == PHONE and doc["profile"]["first_name"] == FIRST
        record = client.get(f"/api/v1/compliance/deletions/{deletion_id}", headers=ws.admin).json()
        assert (record["name"], record["email"]) == ("Gone Person", "gone@example.com")
        workspace = client.get("/api/v1/workspace", headers=ws.admin).json()
        assert workspace["write_key"] == ws.write_key
    with rt.sessionmaker() as session:
        row = workspaces.get_workspace(session, ws.id)
        assert workspaces.shopify_secret(row, rt.seal_keyring) == SHOPIFY_SECRET


def test_rotate_secret_in_the_data_dir_keeps_everything_readable(
    runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "var"
    before = file_secret_runtime(runtime, data_dir, database_url)
    ws, export_id, deletion_id = sealed_things(before)
    old_secret = (data_dir / "secret_key").read_text()

    out = rotate(data_dir, runtime, database_url)
    assert out["rotated"] is True and out["retired"] == 1
    new_secret = (data_dir / "secret_key").read_text()
    assert new_secret != old_secret and len(new_secret) >= 32
    assert (data_dir / "old_secret_keys").read_text().splitlines() == [old_secret]
    for name in ("secret_key", "old_secret_keys"):
        assert stat.S_IMODE(os.stat(data_dir / name).st_mode) == 0o600

    after = file_secret_runtime(runtime, data_dir, database_url)
    assert after.settings.secret_keys() == [new_secret, old_secret]
    assert_all_readable(after, ws, export_id, deletion_id)
    # New seals use the new secret alone: the retired one cannot open them.
    fresh = after.seal_keyring.seal("x", aad="t")
    with pytest.raises(DecryptionError):
        Keyring([old_secret], "veil.seal.v1").unseal(fresh, aad="t")
    assert after.file_keyring.current_kid != before.file_keyring.current_kid

    # A second rotation keeps both retired secrets, newest first.
    rotate(data_dir, runtime, database_url)
    assert (data_dir / "old_secret_keys").read_text().splitlines() == [new_secret, old_secret]
    assert_all_readable(
        file_secret_runtime(runtime, data_dir, database_url), ws, export_id, deletion_id
    )

    # Without the retired secrets nothing from before opens: they are what keeps it readable.
    (data_dir / "old_secret_keys").unlink()
    forgetful = file_secret_runtime(runtime, data_dir, database_url)
    with TestClient(create_app(forgetful)) as client:
        record = client.get(f"/api/v1/compliance/deletions/{deletion_id}", headers=ws.admin)
        assert record.json()["email"] is None
        download = client.get(f"/api/v1/compliance/exports/{export_id}/download", headers=ws.admin)
        assert download.status_code == 409  # not served half-decrypted: rebuilt instead


def test_rotate_secret_from_the_environment_explains_the_steps(
    runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    ws, export_id, deletion_id = sealed_things(runtime)
    old_secret = runtime.settings.secret_key
    assert old_secret
    data_dir = tmp_path / "env-var"
    out = rotate(data_dir, runtime, database_url, VEIL_SECRET_KEY=old_secret)
    assert out["rotated"] is False
    assert "VEIL_OLD_SECRET_KEYS" in str(out["steps"])
    new_secret = str(out["new_secret"])
    assert new_secret != old_secret and not (data_dir / "secret_key").exists()

    # Following the steps: the new secret, the old one retired.
    rotated = Runtime(
        runtime.settings.model_copy(
            update={"secret_key": new_secret, "old_secret_keys": f"{old_secret},"}
        ),
        engine=runtime.engine,
    )
    assert rotated.settings.secret_keys() == [new_secret, old_secret]
    assert_all_readable(rotated, ws, export_id, deletion_id)


def test_suppression_survives_a_rotation_and_the_retired_secret_being_dropped(
    runtime: Runtime, tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "var"
    before = file_secret_runtime(runtime, data_dir, database_url)
    ws = make_workspace(before)
    with before.sessionmaker.begin() as session:
        gone = make_profile(session, workspace_id=ws.id, email="kept.out@example.com").id
    with before.sessionmaker.begin() as session:
        deletions.request_deletion(
            session,
            runtime=before,
            workspace_id=ws.id,
            profile_id=gone,
            requested_by="ops",
            actor="test",
            suppress=True,
        )

    # Seen from another process: after earlier tests' WAL checkpoints, a fresh process was
    # found reading a stale snapshot of the shared test database unless the WAL is
    # checkpointed first (reported; not specific to suppression).
    checkpoint_sqlite(runtime.engine)
    out = rotate(data_dir, runtime, database_url)
    assert out["rotated"] is True and out["resealed_suppression_keys"] == 1
    # The retired secret goes: only the re-sealed key can still recognise the person.
    (data_dir / "old_secret_keys").unlink()
    after = file_secret_runtime(runtime, data_dir, database_url)
    assert after.settings.secret_keys() == [(data_dir / "secret_key").read_text()]
    with TestClient(create_app(after)) as client:
        refused = client.post(
            "/api/v1/profiles", json={"email": "Kept.Out@example.com"}, headers=ws.admin
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["error"]["code"] == "subject_suppressed"
        (entry,) = client.get("/api/v1/compliance/suppressions", headers=ws.admin).json()["data"]
        assert entry["dropped"] == 1


def test_the_sweep_reseals_suppression_keys_after_an_environment_rotation(
    runtime: Runtime, database_url: str
) -> None:
    ws = make_workspace(runtime)
    with runtime.sessionmaker.begin() as session:
        gone = make_profile(session, workspace_id=ws.id, email="kept.out@example.com").id
        deletions.request_deletion(
            session,
            runtime=runtime,
            workspace_id=ws.id,
            profile_id=gone,
            requested_by="ops",
            actor="test",
            suppress=True,
        )
    old_secret = runtime.settings.secret_key
    new_secret = "a-new-secret-for-veil-0123456789abcdef"
    rotated = Runtime(
        runtime.settings.model_copy(
            update={"secret_key": new_secret, "old_secret_keys": f"{old_secret}"}
        )
    )
    rotated.__dict__["engine"] = runtime.engine
    sweep(rotated)
    # Now only the new secret is needed.
    alone = Runtime(runtime.settings.model_copy(update={"secret_key": new_secret}))
    alone.__dict__["engine"] = runtime.engine
    with TestClient(create_app(alone)) as client:
        refused = client.post(
            "/api/v1/profiles", json={"email": "kept.out@example.com"}, headers=ws.admin
        )
        assert refused.status_code == 409, refused.text
