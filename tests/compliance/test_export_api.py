"""Export requests over HTTP (SPEC §4): statuses, guards, download, expiry, retry, access."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.compliance.export_support import (
    EMAIL,
    FIRST,
    LAST,
    PHONE,
    Subject,
    break_store,
    document,
    download,
    error_code,
    export_row,
    get_export,
    make_subject,
    request_export,
    store_files,
    stored_file,
)
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.exports import service
from veil.errors import AlreadyRequested
from veil.kit.time import add_months, utcnow
from veil.models import AuditEntry, ExportRequest, Profile
from veil.models.profile import DELETED
from veil.runtime import Runtime
from veil.worker.queue import sweep

ALREADY = (
    "Already requested for this customer. "
    "Download the file from Settings → Compliance → Downloaded."
)


def _audit_actions(runtime: Runtime, ws: WorkspaceHandle, export_id: str) -> list[str]:
    with runtime.sessionmaker() as session:
        return list(
            session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.workspace_id == ws.id, AuditEntry.target_id == export_id)
                .order_by(AuditEntry.seq)
            )
        )


def test_request_is_pending_then_ready_then_downloaded(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    response = request_export(client, ws, subject.profile_id)
    assert response.status_code == 202, response.text
    body = response.json()
    export_id = body["id"]
    assert body["status"] == "pending"
    assert body["profile_id"] == subject.profile_id
    assert (body["name"], body["email"], body["phone"]) == (f"{FIRST} {LAST}", EMAIL, PHONE)
    assert body["requested_by"] == "API key initial admin"
    assert body["download_url"] is None and body["overdue"] is False

    row = export_row(runtime, export_id)
    assert row.due_at == add_months(row.requested_at, 1)
    assert row.expires_at == row.requested_at + timedelta(days=7)
    # The job message is on its way: the sweep leaves the request alone for one lease.
    assert row.next_attempt_at == row.requested_at + runtime.settings.job_lease

    not_ready = download(client, ws, export_id)
    assert not_ready.status_code == 409 and error_code(not_ready) == "export_not_ready"

    assert run_jobs(runtime) == 2  # the build, then its privacy request's completion check
    ready = get_export(client, ws, export_id)
    assert ready["status"] == "ready"
    assert ready["event_count"] == len(subject.event_ids)
    assert ready["ready_at"] is not None
    assert ready["download_url"] == f"/api/v1/compliance/exports/{export_id}/download"

    first = download(client, ws, export_id)
    doc = document(first)
    assert doc["profile"]["email"] == EMAIL
    after = get_export(client, ws, export_id)
    assert after["status"] == "downloaded" and after["download_count"] == 1
    downloaded_at = after["downloaded_at"]
    assert downloaded_at is not None

    # Repeatable until expiry; every download is audited.
    second = download(client, ws, export_id)
    assert second.content == first.content
    again = get_export(client, ws, export_id)
    assert again["download_count"] == 2 and again["downloaded_at"] == downloaded_at
    assert _audit_actions(runtime, ws, export_id) == [
        "export.requested",
        "export.ready",
        "export.downloaded",
        "export.downloaded",
    ]


def test_download_headers(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    response = download(client, ws, export_id)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="profile-{subject.profile_id}-export.json"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.content.decode("utf-8").startswith('{"format":"veil.profile-export"')


def test_second_request_while_open_is_409_with_specs_message(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    first = request_export(client, ws, subject.profile_id)
    assert first.status_code == 202
    pending_dup = request_export(client, ws, subject.profile_id)
    assert pending_dup.status_code == 409
    assert pending_dup.json() == {"error": {"code": "already_requested", "message": ALREADY}}

    run_jobs(runtime)
    ready_dup = request_export(client, ws, subject.profile_id)
    assert ready_dup.status_code == 409 and error_code(ready_dup) == "already_requested"

    # Downloaded is no longer open: a fresh request is allowed.
    assert download(client, ws, first.json()["id"]).status_code == 200
    fresh = request_export(client, ws, subject.profile_id)
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]
    with runtime.sessionmaker() as session:
        assert len(session.scalars(select(ExportRequest.id)).all()) == 2


def test_the_service_raises_already_requested_for_callers_outside_http(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    kwargs = {
        "runtime": runtime,
        "workspace_id": ws.id,
        "profile_id": subject.profile_id,
        "requested_by": "shopify",
        "actor": "shopify",
        "source": "shopify",
    }
    with runtime.sessionmaker.begin() as session:
        export = service.request_export(session, **kwargs)  # type: ignore[arg-type]
        assert export.source == "shopify" and export.requested_by == "shopify"
    with runtime.sessionmaker.begin() as session:
        try:
            service.request_export(session, **kwargs)  # type: ignore[arg-type]
        except AlreadyRequested as exc:
            assert exc.message == ALREADY
        else:
            raise AssertionError("a second open request was stored")


def test_not_a_contact_is_422(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    with runtime.sessionmaker.begin() as session:
        anonymous = make_profile(
            session, workspace_id=ws.id, email=None, phone=None, external_id="anon-1"
        ).id
    response = request_export(client, ws, anonymous)
    assert response.status_code == 422 and error_code(response) == "not_a_contact"


def test_phone_only_contact_can_be_exported(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws, email=None)
    assert request_export(client, ws, subject.profile_id).status_code == 202


def test_deleted_profile_is_409(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    subject = make_subject(runtime, ws)
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(Profile).where(Profile.id == subject.profile_id).values(status=DELETED)
        )
    response = request_export(client, ws, subject.profile_id)
    assert response.status_code == 409 and error_code(response) == "profile_deleted"


def test_unknown_profile_is_404(client: TestClient, ws: WorkspaceHandle) -> None:
    response = request_export(client, ws, "prf_doesnotexist")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_members_get_403_everywhere(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    for method, path in [
        ("POST", f"/api/v1/profiles/{subject.profile_id}/export"),
        ("GET", "/api/v1/compliance/exports"),
        ("GET", f"/api/v1/compliance/exports/{export_id}"),
        ("GET", f"/api/v1/compliance/exports/{export_id}/download"),
        ("POST", f"/api/v1/compliance/exports/{export_id}/retry"),
    ]:
        response = client.request(method, path, headers=ws.member)
        assert response.status_code == 403, (method, path)
        assert error_code(response) == "forbidden"
        anonymous = client.request(method, path)
        assert anonymous.status_code == 401, (method, path)
    assert export_row(runtime, export_id).download_count == 0


def test_another_workspaces_objects_are_404(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    for method, path in [
        ("POST", f"/api/v1/profiles/{subject.profile_id}/export"),
        ("GET", f"/api/v1/compliance/exports/{export_id}"),
        ("GET", f"/api/v1/compliance/exports/{export_id}/download"),
        ("POST", f"/api/v1/compliance/exports/{export_id}/retry"),
    ]:
        response = client.request(method, path, headers=other_ws.admin)
        assert response.status_code == 404, (method, path)
        assert error_code(response) == "not_found"
    listed = client.get("/api/v1/compliance/exports", headers=other_ws.admin).json()
    assert listed == {"data": [], "next_cursor": None}
    assert export_row(runtime, export_id).download_count == 0


def _built_with_one_second_ttl(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> tuple[Subject, str, Path]:
    """A ready export (subject, request id, stored file) that expires one second after."""
    runtime.settings.export_ttl = timedelta(seconds=1)
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    return subject, export_id, stored_file(runtime, export_id)


def test_expiry_destroys_the_file_and_answers_410(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject, export_id, path = _built_with_one_second_ttl(client, runtime, ws)
    assert download(client, ws, export_id).status_code == 200
    assert path.exists()

    time.sleep(1.1)
    sweep(runtime)
    assert not path.exists() and store_files(runtime) == []
    row = export_row(runtime, export_id)
    assert row.status == "expired" and row.file_key is None and row.expired_at is not None
    gone = download(client, ws, export_id)
    assert gone.status_code == 410 and error_code(gone) == "export_expired"
    assert get_export(client, ws, export_id)["status"] == "expired"
    assert "export.expired" in _audit_actions(runtime, ws, export_id)
    # After expiry a new request is allowed.
    assert request_export(client, ws, subject.profile_id).status_code == 202


def test_download_after_ttl_but_before_the_sweep_destroys_and_answers_410(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject, export_id, path = _built_with_one_second_ttl(client, runtime, ws)
    time.sleep(1.1)
    # Shown as expired before anything destroyed it, and a new request is not blocked.
    assert get_export(client, ws, export_id)["status"] == "expired"
    gone = download(client, ws, export_id)
    assert gone.status_code == 410 and error_code(gone) == "export_expired"
    assert not path.exists()
    row = export_row(runtime, export_id)
    assert row.status == "expired" and row.file_key is None


def test_new_request_after_ttl_is_allowed_before_the_sweep(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject, first, old_file = _built_with_one_second_ttl(client, runtime, ws)
    time.sleep(1.1)
    assert request_export(client, ws, subject.profile_id).status_code == 202
    assert export_row(runtime, first).status == "expired"
    assert not old_file.exists()


def test_failed_build_retries_with_backoff_then_fails_and_an_admin_retries(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    runtime.settings.job_max_attempts = 2
    subject = make_subject(runtime, ws)
    store = break_store(runtime)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]

    run_jobs(runtime)
    row = export_row(runtime, export_id)
    assert row.status == "pending" and row.attempts == 1 and row.lease_until is None
    assert row.last_error == "build_failed:FileExistsError"
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    shown = get_export(client, ws, export_id)
    assert shown["status"] == "pending" and shown["last_error"] == row.last_error
    # Backing off: the sweep does not enqueue it yet.
    sweep(runtime)
    assert runtime.queue.pending_count() == 0
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )
    sweep(runtime)
    assert run_jobs(runtime) == 1
    failed = get_export(client, ws, export_id)
    assert failed["status"] == "failed" and failed["attempts"] == 2
    assert failed["last_error"] == "build_failed:FileExistsError"
    assert download(client, ws, export_id).status_code == 409
    # A failed request is not open: it does not block a new one... but an admin retries it.
    store.unlink()
    retried = client.post(f"/api/v1/compliance/exports/{export_id}/retry", headers=ws.admin)
    assert retried.status_code == 202, retried.text
    assert retried.json()["status"] == "pending" and retried.json()["attempts"] == 0
    run_jobs(runtime)
    assert get_export(client, ws, export_id)["status"] == "ready"
    assert document(download(client, ws, export_id))["profile"]["id"] == subject.profile_id
    actions = _audit_actions(runtime, ws, export_id)
    assert actions.count("export.failed") == 1 and "export.retried" in actions


def test_only_failed_requests_can_be_retried(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    response = client.post(f"/api/v1/compliance/exports/{export_id}/retry", headers=ws.admin)
    assert response.status_code == 409 and error_code(response) == "conflict"


def test_retry_is_refused_while_a_newer_request_is_open(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    runtime.settings.job_max_attempts = 1
    subject = make_subject(runtime, ws)
    break_store(runtime)
    failed_id = request_export(client, ws, subject.profile_id).json()["id"]
    run_jobs(runtime)
    assert export_row(runtime, failed_id).status == "failed"
    assert request_export(client, ws, subject.profile_id).status_code == 202
    response = client.post(f"/api/v1/compliance/exports/{failed_id}/retry", headers=ws.admin)
    assert response.status_code == 409 and error_code(response) == "already_requested"
    assert export_row(runtime, failed_id).status == "failed"


def test_list_is_newest_first_with_cursor_pages_and_live_profile_fields(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    ids = []
    for index in range(3):
        subject = make_subject(runtime, ws, email=f"person{index}@example.com", phone=None)
        ids.append(request_export(client, ws, subject.profile_id).json()["id"])
        time.sleep(0.002)
    page = client.get("/api/v1/compliance/exports?limit=2", headers=ws.admin).json()
    assert [row["id"] for row in page["data"]] == [ids[2], ids[1]]
    assert page["next_cursor"]
    rest = client.get(
        "/api/v1/compliance/exports",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=ws.admin,
    ).json()
    assert [row["id"] for row in rest["data"]] == [ids[0]] and rest["next_cursor"] is None
    row = page["data"][0]
    expected = {
        "id", "profile_id", "name", "email", "phone", "requested_at", "requested_by", "status",
        "expires_at", "downloaded_at", "due_at", "overdue", "ready_at", "download_count",
        "event_count", "source", "attempts", "last_error", "download_url",
    }  # fmt: skip
    assert set(row) == expected
    assert row["email"] == "person2@example.com" and row["name"] == f"{FIRST} {LAST}"

    # Once the profile is deleted, the table no longer shows its personal data.
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(Profile).where(Profile.id == row["profile_id"]).values(status=DELETED)
        )
    shown = get_export(client, ws, ids[2])
    assert (shown["name"], shown["email"], shown["phone"]) == (None, None, None)


def test_overdue_flags_a_request_not_fulfilled_within_a_month(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subject = make_subject(runtime, ws)
    export_id = request_export(client, ws, subject.profile_id).json()["id"]
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(ExportRequest)
            .where(ExportRequest.id == export_id)
            .values(due_at=utcnow() - timedelta(minutes=1))
        )
    assert get_export(client, ws, export_id)["overdue"] is True
    run_jobs(runtime)
    assert get_export(client, ws, export_id)["overdue"] is False


def test_list_can_be_filtered_by_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    one = make_subject(runtime, ws, email="one@example.com", phone=None)
    two = make_subject(runtime, ws, email="two@example.com", phone=None)
    request_export(client, ws, one.profile_id)
    wanted = request_export(client, ws, two.profile_id).json()["id"]
    page = client.get(
        "/api/v1/compliance/exports", params={"profile_id": two.profile_id}, headers=ws.admin
    ).json()
    assert [row["id"] for row in page["data"]] == [wanted]


def test_bad_cursor_and_limit_are_validation_errors(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    bad_limit = client.get("/api/v1/compliance/exports?limit=501", headers=ws.admin)
    assert bad_limit.status_code == 422 and error_code(bad_limit) == "validation_error"
    bad_cursor = client.get("/api/v1/compliance/exports?cursor=zzz", headers=ws.admin)
    assert bad_cursor.status_code == 422 and error_code(bad_cursor) == "validation_error"
