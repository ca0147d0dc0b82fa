"""A client generated from Veil's OpenAPI document by openapi-python-client requests an export,
downloads it and deletes the profile against a real `veil serve`."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest

from tests.compliance.export_support import veil_server
from tests.fixtures.factories import WorkspaceHandle
from veil.app import create_app
from veil.runtime import Runtime

PACKAGE = "veil_generated_client"


@pytest.fixture
def generated(runtime: Runtime, tmp_path: Path) -> Iterator[ModuleType]:
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(create_app(runtime).openapi()))
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Unable to" not in done.stdout + done.stderr, done.stdout
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.startswith(PACKAGE)]:
            del sys.modules[name]


def _until(call: Any, done: Any, *, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_generated_client_exports_and_deletes(
    generated: ModuleType,
    runtime: Runtime,
    ws: WorkspaceHandle,
    database_url: str,
    tmp_path: Path,
) -> None:
    api = importlib.import_module(f"{PACKAGE}.api.compliance")
    models = importlib.import_module(f"{PACKAGE}.models")
    for name in ("request_export", "get_export", "download_export", "delete_profile"):
        importlib.import_module(f"{PACKAGE}.api.compliance.{name}")
    token = ws.admin["Authorization"].removeprefix("Bearer ")

    with veil_server(runtime, database_url, tmp_path / "serve.log", sweep_interval="1s") as base:
        created = httpx.post(
            f"{base}/api/v1/profiles",
            headers=ws.admin,
            json={"email": "generated.client@example.com", "first_name": "Gen"},
        )
        assert created.status_code == 201, created.text
        profile_id = created.json()["id"]
        client = generated.AuthenticatedClient(base_url=base, token=token)

        export = api.request_export.sync(profile_id, client=client)
        assert isinstance(export, models.ExportRead) and export.status == "pending"
        ready = _until(
            lambda: api.get_export.sync(export.id, client=client),
            lambda e: e.status == "ready",
        )
        assert ready.status == "ready"
        download = api.download_export.sync_detailed(export.id, client=client)
        assert download.status_code == 200
        assert json.loads(download.content)["profile"]["email"] == "generated.client@example.com"

        deletion = api.delete_profile.sync(
            profile_id, client=client, body=models.DeletionConfirm(confirm=True)
        )
        assert isinstance(deletion, models.DeletionRead), deletion
        refused = api.request_export.sync(profile_id, client=client)
        assert isinstance(refused, models.Error) and refused.error.code == "profile_deleted"
