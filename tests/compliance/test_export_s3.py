"""Exports on an S3-compatible store (SPEC §10), against a real S3-protocol server on loopback:
the file is built, streamed up and down, destroyed at expiry and erasure, and the raw object
holds no personal data."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

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
)
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.s3 import new_bucket, object_bytes, object_keys, s3_client
from veil.compliance.exports.tasks import remove_orphaned_files
from veil.compliance.storage_s3 import S3ExportStore, parse_s3_url
from veil.kit.time import utcnow
from veil.models import ExportRequest
from veil.runtime import Runtime
from veil.worker.queue import sweep

PLAINTEXT_NEEDLES = [EMAIL.encode(), PHONE.encode(), FIRST.encode(), LAST.encode(), b"London"]


@pytest.fixture
def runtime(s3_runtime: Runtime) -> Runtime:
    return s3_runtime


def _ready_export(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> tuple[str, str]:
    subject = make_subject(runtime, ws)
    response = request_export(client, ws, subject.profile_id)
    assert response.status_code == 202, response.text
    assert run_jobs(runtime) == 2  # the build, then its privacy request's completion check
    export_id: str = response.json()["id"]
    return subject.profile_id, export_id


def test_an_export_is_stored_encrypted_in_the_bucket_and_downloads_from_it(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, s3_endpoint: str, s3_bucket: str
) -> None:
    _, export_id = _ready_export(client, runtime, ws)
    row = export_row(runtime, export_id)
    assert row.status == "ready"
    assert object_keys(s3_endpoint, s3_bucket) == [f"exports/{row.file_key}"]
    raw = object_bytes(s3_endpoint, s3_bucket, f"exports/{row.file_key}")
    assert raw.startswith(b"VEILENC1") and len(raw) == row.file_size
    for needle in PLAINTEXT_NEEDLES:
        assert needle not in raw and needle.lower() not in raw.lower()
    # Nothing was written to the local data dir's export folder.
    assert not (runtime.settings.data_dir / "exports").exists()

    body = document(download(client, ws, export_id))
    assert body["profile"]["email"] == EMAIL and body["profile"]["phone"] == PHONE
    assert export_row(runtime, export_id).status == "downloaded"


def test_expiry_destroys_the_object(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, s3_endpoint: str, s3_bucket: str
) -> None:
    _, export_id = _ready_export(client, runtime, ws)
    assert len(object_keys(s3_endpoint, s3_bucket)) == 1
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    sweep(runtime)
    assert object_keys(s3_endpoint, s3_bucket) == []
    assert export_row(runtime, export_id).status == "expired"
    gone = download(client, ws, export_id)
    assert gone.status_code == 410 and error_code(gone) == "export_expired"


def test_erasure_destroys_the_object(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, s3_endpoint: str, s3_bucket: str
) -> None:
    profile_id, export_id = _ready_export(client, runtime, ws)
    assert len(object_keys(s3_endpoint, s3_bucket)) == 1
    deleted = client.post(
        f"/api/v1/profiles/{profile_id}/delete", headers=ws.admin, json={"confirm": True}
    )
    assert deleted.status_code == 202, deleted.text
    run_jobs(runtime)
    assert object_keys(s3_endpoint, s3_bucket) == []
    assert export_row(runtime, export_id).status == "expired"
    deletion = client.get("/api/v1/compliance/deletions", headers=ws.admin).json()["data"][0]
    assert deletion["status"] == "completed" and deletion["summary"]["verified"] is True


def test_a_missing_object_is_rebuilt_not_served(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, s3_endpoint: str, s3_bucket: str
) -> None:
    _, export_id = _ready_export(client, runtime, ws)
    (key,) = object_keys(s3_endpoint, s3_bucket)
    s3_client(s3_endpoint).delete_object(Bucket=s3_bucket, Key=key)
    answer = download(client, ws, export_id)
    assert answer.status_code == 409 and error_code(answer) == "export_not_ready"
    assert export_row(runtime, export_id).status == "pending"
    assert run_jobs(runtime) == 1
    assert document(download(client, ws, export_id))["profile"]["email"] == EMAIL


def test_large_files_go_up_in_parts_and_stream_back(s3_endpoint: str, s3_bucket: str) -> None:
    store = S3ExportStore(s3_client(s3_endpoint), s3_bucket, "big/")
    block = bytes(range(256)) * 4096  # 1 MiB
    size = store.put("big.enc", lambda out: [out.write(block) for _ in range(12)] and None)
    assert size == 12 * len(block)
    head = s3_client(s3_endpoint).head_object(Bucket=s3_bucket, Key="big/big.enc")
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts
    with store.open("big.enc") as stream:
        first = stream.read(1000)
        stream.seek(0)
        assert stream.read(1000) == first
        rest = stream.read()
    assert first + rest == block * 12


def test_a_failed_write_leaves_no_object_and_no_upload(s3_endpoint: str, s3_bucket: str) -> None:
    store = S3ExportStore(s3_client(s3_endpoint), s3_bucket, "p/")

    def fails_after_a_part(out: io.BufferedIOBase) -> None:
        out.write(b"x" * (9 * 1024 * 1024))
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        store.put("half.enc", fails_after_a_part)  # type: ignore[arg-type]
    client = s3_client(s3_endpoint)
    assert object_keys(s3_endpoint, s3_bucket) == []
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
    assert not store.exists("half.enc")
    with pytest.raises(FileNotFoundError):
        store.open("half.enc")


def test_stale_multipart_uploads_are_aborted(s3_endpoint: str, s3_bucket: str) -> None:
    client = s3_client(s3_endpoint)
    client.create_multipart_upload(Bucket=s3_bucket, Key="exports/killed.enc")
    store = S3ExportStore(client, s3_bucket, "exports/")
    # (moto reports every upload as initiated in 2010, so the age cut-off is not exercised.)
    assert store.sweep_stale_parts(older_than=timedelta(0)) == 1
    assert client.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


def test_orphaned_objects_are_swept_and_referenced_ones_kept(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, s3_endpoint: str, s3_bucket: str
) -> None:
    _, export_id = _ready_export(client, runtime, ws)
    kept = f"exports/{export_row(runtime, export_id).file_key}"
    s3 = s3_client(s3_endpoint)
    s3.put_object(Bucket=s3_bucket, Key="exports/exp_gone.0011.enc", Body=b"VEILENC1...")
    s3.put_object(Bucket=s3_bucket, Key="elsewhere/not-ours.txt", Body=b"keep")
    assert remove_orphaned_files(runtime, older_than=timedelta(hours=1)) == 0  # too young
    assert remove_orphaned_files(runtime, older_than=timedelta(seconds=-1)) == 1
    assert object_keys(s3_endpoint, s3_bucket) == ["elsewhere/not-ours.txt", kept]


def test_destroying_in_a_versioned_bucket_removes_every_version(s3_endpoint: str) -> None:
    bucket = new_bucket(s3_endpoint, versioned=True)
    client = s3_client(s3_endpoint)
    store = S3ExportStore(client, bucket, "")
    store.put("a.enc", lambda out: out.write(b"first") and None)
    store.put("a.enc", lambda out: out.write(b"second") and None)
    assert store.delete("a.enc") is True
    versions = client.list_object_versions(Bucket=bucket)
    assert versions.get("Versions", []) == [] and versions.get("DeleteMarkers", []) == []
    assert store.delete("a.enc") is False


def test_store_urls() -> None:
    assert parse_s3_url("s3://bucket/some/prefix/") == ("bucket", "some/prefix/")
    assert parse_s3_url("s3://bucket") == ("bucket", "")
    for bad in ("s3:///prefix", "http://bucket/x", "bucket/x"):
        with pytest.raises(ValueError):
            parse_s3_url(bad)
