"""OpenDSR endpoints (SPEC §8.7) on top of privacy requests."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from fastapi.testclient import TestClient

from tests.compliance.privacy_requests.support import URL, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from veil.runtime import Runtime

BASE = "/opendsr/v1"


def opendsr_body(request_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "subject_request_id": request_id,
        "subject_request_type": "erasure",
        "submitted_time": "2026-11-20T15:00:00Z",
        "subject_identities": [
            {
                "identity_type": "email",
                "identity_value": "ada@example.com",
                "identity_format": "raw",
            }
        ],
        "regulation": "gdpr",
        "api_version": "1.0",
        **extra,
    }


def test_discovery(client: TestClient, ws: WorkspaceHandle) -> None:
    body = client.get(f"{BASE}/discovery", headers=ws.admin).json()
    assert body["api_version"] == "1.0"
    assert set(body["supported_subject_request_types"]) == {"access", "portability", "erasure"}
    assert {"identity_type": "email", "identity_format": "raw"} in body["supported_identities"]
    assert_error(client.get(f"{BASE}/discovery", headers=ws.member), 403, "forbidden")
    assert_error(client.get(f"{BASE}/discovery"), 401, "unauthorized")


def test_create_status_and_the_privacy_request_behind(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email="ada@example.com").id
    request_id = str(uuid.uuid4())
    sent = opendsr_body(request_id)
    created = client.post(f"{BASE}/requests", json=sent, headers=ws.admin)
    assert created.status_code == 201, created.text
    answer = created.json()
    assert answer["subject_request_id"] == request_id and answer["controller_id"] == ws.id
    assert answer["expected_completion_time"] == "2026-12-20T15:00:00Z"
    assert json.loads(base64.b64decode(answer["encoded_request"])) == sent
    [privacy] = client.get(URL, headers=ws.admin).json()["data"]
    assert (privacy["source"], privacy["type"], privacy["reference"]) == (
        "opendsr",
        "erasure",
        request_id,
    )
    assert privacy["profile_ids"] == [profile_id]
    status = client.get(f"{BASE}/requests/{request_id.upper()}", headers=ws.admin).json()
    assert status["request_status"] == "pending" and status["results_count"] == 1
    # The controller re-sends the same request: the same one, nothing new.
    again = client.post(f"{BASE}/requests", json=sent, headers=ws.admin)
    assert again.status_code == 201
    assert len(client.get(URL, headers=ws.admin).json()["data"]) == 1
    settle(runtime)
    status = client.get(f"{BASE}/requests/{request_id}", headers=ws.admin).json()
    assert status["request_status"] == "completed"
    assert_error(
        client.delete(f"{BASE}/requests/{request_id}", headers=ws.admin), 409, "not_cancellable"
    )


def test_portability_is_access_and_cancel_while_pending(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="ada@example.com")
    request_id = str(uuid.uuid4())
    body = opendsr_body(request_id, subject_request_type="portability")
    assert client.post(f"{BASE}/requests", json=body, headers=ws.admin).status_code == 201
    assert client.get(URL, headers=ws.admin).json()["data"][0]["type"] == "access"
    assert_error(
        client.get(f"{BASE}/requests/{request_id}", headers=other_ws.admin), 404, "not_found"
    )
    assert_error(
        client.delete(f"{BASE}/requests/{request_id}", headers=other_ws.admin), 404, "not_found"
    )
    assert_error(
        client.delete(f"{BASE}/requests/{request_id}", headers=ws.member), 403, "forbidden"
    )
    cancelled = client.delete(f"{BASE}/requests/{request_id}", headers=ws.admin)
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["subject_request_id"] == request_id
    status = client.get(f"{BASE}/requests/{request_id}", headers=ws.admin).json()
    assert status["request_status"] == "cancelled"


def test_bad_opendsr_requests(client: TestClient, runtime: Runtime, ws: WorkspaceHandle) -> None:
    request_id = str(uuid.uuid4())
    for body in (
        opendsr_body("not-a-uuid"),
        opendsr_body(request_id, regulation="lgpd"),
        opendsr_body(request_id, subject_request_type="rectification"),
        opendsr_body(
            request_id,
            subject_identities=[
                {"identity_type": "email", "identity_value": "x", "identity_format": "sha256"}
            ],
        ),
        opendsr_body(request_id, status_callback_urls=["http://10.0.0.1/"]),
    ):
        response = client.post(f"{BASE}/requests", json=body, headers=ws.admin)
        assert_error(response, 422, "validation_error")
    other = opendsr_body(request_id)
    assert client.post(f"{BASE}/requests", json=other, headers=ws.admin).status_code == 201
    changed = opendsr_body(request_id, subject_request_type="access")
    assert_error(
        client.post(f"{BASE}/requests", json=changed, headers=ws.admin),
        409,
        "idempotency_conflict",
    )
    assert_error(
        client.post(f"{BASE}/requests", json=opendsr_body(str(uuid.uuid4())), headers=ws.member),
        403,
        "forbidden",
    )
