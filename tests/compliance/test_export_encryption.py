"""Export files at rest: encrypted (no plaintext personal data), bound to their export, keys
rotate via VEIL_OLD_SECRET_KEYS, and a file that does not open is never served."""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from tests.compliance.export_support import (
    EMAIL,
    FIRST,
    LAST,
    PHONE,
    document,
    download,
    error_code,
    export_row,
    make_subject,
    request_export,
    stored_file,
)
from tests.conftest import TEST_SECRET, run_jobs
from tests.fixtures.factories import WorkspaceHandle
from veil.app import create_app
from veil.compliance.exports.writer import file_owner
from veil.kit.crypto import FILE_MAGIC, DecryptionError
from veil.runtime import Runtime

NEW_SECRET = "a-brand-new-secret-key-after-rotation-42"


def _ready_export(client: TestClient, runtime: Runtime, ws: WorkspaceHandle, **kw: str) -> str:
    subject = make_subject(runtime, ws, **kw)  # type: ignore[arg-type]
    export_id: str = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    assert export_row(runtime, export_id).status == "ready"
    return export_id


@contextmanager
def _rotated(runtime: Runtime, *, old_keys: str) -> Iterator[tuple[Runtime, TestClient]]:
    """The same data dir and database, restarted with a new VEIL_SECRET_KEY."""
    settings = runtime.settings.model_copy(
        update={"secret_key": NEW_SECRET, "old_secret_keys": old_keys}
    )
    rotated = Runtime(settings, engine=runtime.engine)
    with TestClient(create_app(rotated), raise_server_exceptions=False) as client:
        yield rotated, client


def test_stored_bytes_hold_no_plaintext_personal_data(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _ready_export(client, runtime, ws)
    path = stored_file(runtime, export_id)
    raw = path.read_bytes()
    assert raw.startswith(FILE_MAGIC)
    plain = download(client, ws, export_id).content
    for needle in (EMAIL, PHONE, FIRST, LAST, "London", "Placed Order", "Winter Sale"):
        assert needle.encode() in plain  # the check below can fail
        for variant in {needle, needle.lower(), needle.upper()}:
            assert variant.encode() not in raw
            assert variant.encode("utf-16-le") not in raw
    assert b"veil.profile-export" not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # The file name carries the request id only.
    assert path.name.startswith(export_id) and EMAIL.split("@")[0] not in path.name


def test_a_file_moved_onto_another_export_does_not_open(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    mine = _ready_export(client, runtime, ws)
    theirs = _ready_export(
        client, runtime, other_ws, email="someone.else@example.com", phone="+14155550199"
    )
    my_path, their_path = stored_file(runtime, mine), stored_file(runtime, theirs)

    # Decrypting my file as theirs fails at the keyring...
    with my_path.open("rb") as fh, pytest.raises(DecryptionError):
        list(runtime.file_keyring.decrypt_stream(fh, owner=file_owner(other_ws.id, theirs)))
    # ...and the download of theirs, now holding my file, serves none of it.
    shutil.copyfile(my_path, their_path)
    response = download(client, other_ws, theirs)
    assert response.status_code == 409 and error_code(response) == "export_not_ready"
    assert EMAIL.encode() not in response.content
    # The unreadable file is discarded and the request built again, correctly.
    assert not their_path.exists()
    assert export_row(runtime, theirs).status == "pending"
    run_jobs(runtime)
    rebuilt = document(download(client, other_ws, theirs))
    assert rebuilt["profile"]["email"] == "someone.else@example.com"


def test_a_truncated_file_is_never_served(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _ready_export(client, runtime, ws)
    path = stored_file(runtime, export_id)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    response = download(client, ws, export_id)
    assert response.status_code == 409 and error_code(response) == "export_not_ready"
    assert export_row(runtime, export_id).download_count == 0


def test_a_tampered_chunk_is_never_served(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _ready_export(client, runtime, ws)
    path = stored_file(runtime, export_id)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    response = download(client, ws, export_id)
    assert response.status_code == 409
    assert b"veil.profile-export" not in response.content


def test_old_files_stay_readable_after_a_key_rotation(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _ready_export(client, runtime, ws)
    with _rotated(runtime, old_keys=TEST_SECRET) as (rotated, rotated_client):
        doc = document(download(rotated_client, ws, export_id))
        assert doc["profile"]["email"] == EMAIL
        # New files are written under the new key.
        second = make_subject(rotated, ws, email="second@example.com", phone=None)
        new_id = request_export(rotated_client, ws, second.profile_id).json()["id"]
        rotated.queue.drain()
        new_file = stored_file(rotated, new_id).read_bytes()
        old_file = stored_file(rotated, export_id).read_bytes()
        header = len(FILE_MAGIC) + 8
        assert new_file[len(FILE_MAGIC) : header] == rotated.file_keyring.current_kid
        assert old_file[len(FILE_MAGIC) : header] == runtime.file_keyring.current_kid
        assert new_file[len(FILE_MAGIC) : header] != old_file[len(FILE_MAGIC) : header]


def test_a_file_under_a_forgotten_key_is_rebuilt_not_served(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    export_id = _ready_export(client, runtime, ws)
    old_path = stored_file(runtime, export_id)
    with _rotated(runtime, old_keys="") as (rotated, rotated_client):
        response = download(rotated_client, ws, export_id)
        assert response.status_code == 409 and error_code(response) == "export_not_ready"
        assert not old_path.exists()
        assert export_row(rotated, export_id).last_error == "file_unreadable"
        rotated.queue.drain()
        assert document(download(rotated_client, ws, export_id))["profile"]["email"] == EMAIL


def test_store_folder_is_private(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    export_id = _ready_export(client, runtime, ws)
    folder = stored_file(runtime, export_id).parent
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
