"""POST /api/v1/privacy-requests/bulk (SPEC §8): up to 5,000 subjects, all or nothing."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.compliance.privacy_requests.support import URL, count_requests, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from veil.compliance.privacy_requests import free_text
from veil.models import AuditEntry, PrivacyRequest
from veil.runtime import Runtime

BULK = f"{URL}/bulk"


def subject(email: str, reference: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"identities": [{"type": "email", "value": email}]}
    if reference is not None:
        item["reference"] = reference
    return item


def test_bulk_creates_in_order_and_runs(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        held = make_profile(session, workspace_id=ws.id, email="held@example.com").id
    body = {
        "type": "access",
        "regulation": "lgpd",
        "subjects": [
            subject("nobody@example.com", "case-1"),
            subject("HELD@example.com", "case-2"),
        ],
    }
    response = client.post(BULK, json=body, headers=ws.admin)
    assert response.status_code == 202, response.text
    ids = response.json()["requests"]
    assert len(ids) == 2
    first, second = (client.get(f"{URL}/{i}", headers=ws.admin).json() for i in ids)
    assert first["reference"] == "case-1" and first["status"] == "completed"
    assert first["source"] == "bulk" and first["regulation"] == "lgpd"
    assert second["reference"] == "case-2" and second["profile_ids"] == [held]
    assert second["status"] == "pending"
    settle(runtime)
    done = client.get(f"{URL}/{ids[1]}", headers=ws.admin).json()
    assert done["status"] == "completed" and len(done["export_ids"]) == 1
    with runtime.sessionmaker() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "privacy_request.bulk_created")
        ).one()
    assert entry.details["request_ids"] == ids and entry.details["count"] == 2


def test_a_bad_subject_rejects_the_bulk_naming_its_index(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    subjects = [subject(f"p{i}@example.com") for i in range(10)]
    subjects[7] = {"identities": [{"type": "phone", "value": "12"}]}
    response = client.post(BULK, json={"type": "access", "subjects": subjects}, headers=ws.admin)
    message = assert_error(response, 422, "validation_error")
    assert "subjects[7]" in message
    subjects[7] = {"identities": [{"type": "fax", "value": "12"}]}
    response = client.post(BULK, json={"type": "access", "subjects": subjects}, headers=ws.admin)
    assert "subjects.7" in assert_error(response, 422, "validation_error")
    subjects[7] = {"identities": []}
    response = client.post(BULK, json={"type": "access", "subjects": subjects}, headers=ws.admin)
    assert "subjects.7" in assert_error(response, 422, "validation_error")
    assert count_requests(runtime) == 0


def test_bulk_limits(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    too_many = {"type": "access", "subjects": [subject("a@x.io")] * 5001}
    assert_error(client.post(BULK, json=too_many, headers=ws.admin), 422, "validation_error")
    none = {"type": "access", "subjects": []}
    assert_error(client.post(BULK, json=none, headers=ws.admin), 422, "validation_error")
    private = {
        "type": "access",
        "subjects": [subject("a@x.io")],
        "callback_urls": ["http://192.168.1.1/"],
    }
    assert_error(client.post(BULK, json=private, headers=ws.admin), 422, "validation_error")
    assert count_requests(runtime) == 0


def test_a_bulk_of_5000_is_one_transaction(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """5,000 subjects are accepted by one request, written in one transaction."""
    with runtime.sessionmaker.begin() as session:
        for i in range(0, 5000, 50):  # every 50th subject is held
            make_profile(session, workspace_id=ws.id, email=f"p{i}@example.com")
    body = {
        "type": "erasure",
        "subjects": [subject(f"p{i}@example.com", f"r{i}") for i in range(5000)],
    }
    started = time.monotonic()
    response = client.post(BULK, json=body, headers=ws.admin)
    elapsed = time.monotonic() - started
    assert response.status_code == 202, response.text
    print(f"bulk of 5000 accepted in {elapsed:.2f}s")
    ids = response.json()["requests"]
    assert len(ids) == 5000 and len(set(ids)) == 5000
    keyring = runtime.seal_keyring
    with runtime.sessionmaker() as session:
        rows = session.scalars(select(PrivacyRequest)).all()
        by_id = {row.id: row for row in rows}
        references = [free_text.reference_of(keyring, by_id[i]) for i in ids]
    assert references == [f"r{i}" for i in range(5000)]
    assert all(row.reference is None for row in rows)  # sealed, not in clear
    pending = [i for i in range(5000) if by_id[ids[i]].status == "pending"]
    assert pending == list(range(0, 5000, 50))
