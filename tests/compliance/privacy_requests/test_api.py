"""POST/GET /api/v1/privacy-requests, extend and cancel (SPEC §8): success, bad input, roles,
workspaces, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from tests.compliance.privacy_requests.support import (
    URL,
    by_email,
    count_requests,
    create,
    settle,
)
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.fixtures.http import assert_error
from veil.models import AuditEntry, ExportRequest, PrivacyRequest, Profile
from veil.runtime import Runtime


def _profile(runtime: Runtime, ws: WorkspaceHandle, **kwargs: Any) -> str:
    with runtime.sessionmaker.begin() as session:
        return make_profile(session, workspace_id=ws.id, **kwargs).id


def test_access_request_matches_exports_and_completes(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _profile(runtime, ws, email="ada@example.com", phone="+14155550143")
    response = create(
        client,
        ws,
        {
            "type": "access",
            "identities": [
                {"type": "email", "value": "  ADA@Example.com "},
                {"type": "phone", "value": "(415) 555-0143"},
            ],
            "reference": "TICKET-1",
        },
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["regulation"] == "gdpr" and body["source"] == "api"
    assert body["identities"] == [
        {"type": "email", "value": "ada@example.com"},
        {"type": "phone", "value": "+14155550143"},
    ]
    assert body["profile_ids"] == [profile_id]
    assert body["reference"] == "TICKET-1" and body["overdue"] is False
    settle(runtime)
    done = client.get(f"{URL}/{body['id']}", headers=ws.admin).json()
    assert done["status"] == "completed", done
    assert len(done["export_ids"]) == 1 and done["completed_at"] is not None
    export = client.get(f"/api/v1/compliance/exports/{done['export_ids'][0]}", headers=ws.admin)
    assert export.json()["status"] == "ready"
    assert export.json()["profile_id"] == profile_id


def test_an_open_export_is_reused_not_refused(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _profile(runtime, ws, email="ada@example.com")
    first = client.post(f"/api/v1/profiles/{profile_id}/export", headers=ws.admin)
    assert first.status_code == 202
    response = create(client, ws, by_email("ada@example.com"))
    assert response.status_code == 202
    settle(runtime)
    done = client.get(f"{URL}/{response.json()['id']}", headers=ws.admin).json()
    assert done["status"] == "completed"
    assert done["export_ids"] == [first.json()["id"]]


def test_several_profiles_are_matched(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    by_mail = _profile(runtime, ws, email="ada@example.com")
    by_id = _profile(runtime, ws, email=None, phone="+14155550100", external_id="cust-7")
    body = {
        "type": "access",
        "identities": [
            {"type": "email", "value": "ada@example.com"},
            {"type": "external_id", "value": "cust-7"},
            {"type": "profile_id", "value": by_mail},
        ],
    }
    response = create(client, ws, body)
    assert response.json()["profile_ids"] == [by_mail, by_id]


def test_no_match_completes_at_once(client: TestClient, ws: WorkspaceHandle) -> None:
    response = create(client, ws, by_email("nobody@example.com", type="erasure"))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "completed" and body["profile_ids"] == []
    assert body["verified"] is True and body["completed_at"] is not None


def test_a_deleted_profile_does_not_match(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _profile(runtime, ws, email="ada@example.com")
    client.post(f"/api/v1/profiles/{profile_id}/delete", json={"confirm": True}, headers=ws.admin)
    response = create(client, ws, by_email("ada@example.com"))
    assert response.json()["profile_ids"] == []


def test_erasure_request_deletes_and_is_verified(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = _profile(runtime, ws, email="ada@example.com")
    response = create(client, ws, by_email("ada@example.com", type="erasure"))
    settle(runtime)
    done = client.get(f"{URL}/{response.json()['id']}", headers=ws.admin).json()
    assert done["status"] == "completed", done
    assert done["verified"] is True and len(done["deletion_ids"]) == 1
    deletion = client.get(
        f"/api/v1/compliance/deletions/{done['deletion_ids'][0]}", headers=ws.admin
    ).json()
    assert deletion["profile_id"] == profile_id and deletion["status"] == "completed"
    with runtime.sessionmaker() as session:
        profile = session.get_one(Profile, profile_id)
        assert profile.status == "deleted" and profile.email is None


def test_regulation_defaults_to_the_workspace_setting(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    patched = client.patch(
        "/api/v1/workspace/settings",
        json={"default_regulation": "ccpa"},
        headers=ws.admin,
    )
    assert patched.status_code == 200, patched.text
    received = "2026-11-01T00:00:00Z"
    response = create(client, ws, by_email("x@example.com", received_at=received))
    assert response.status_code == 202, response.text
    assert response.json()["regulation"] == "ccpa"
    assert response.json()["due_at"] == "2026-12-16T00:00:00Z"


def test_received_at_with_an_offset_is_stored_in_utc(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    body = by_email("x@example.com", received_at="2026-01-31T23:30:00-05:00")
    response = create(client, ws, body)
    assert response.json()["received_at"] == "2026-02-01T04:30:00Z"
    assert response.json()["due_at"] == "2026-03-01T04:30:00Z"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"type": "access", "identities": [{"type": "ssn", "value": "1"}]}, "identities"),
        ({"type": "access", "identities": [{"type": "phone", "value": "not a phone"}]}, "phone"),
        ({"type": "access", "identities": [{"type": "email", "value": "nope"}]}, "email"),
        ({"type": "access", "identities": []}, "identities"),
        (
            {
                "type": "access",
                "identities": [{"type": "email", "value": f"a{i}@x.io"} for i in range(11)],
            },
            "identities",
        ),
        (by_email("a@x.io", received_at="2999-01-01T00:00:00Z"), "future"),
        (by_email("a@x.io", received_at="2026-01-01T00:00:00"), "time zone"),
        (by_email("a@x.io", reference="r" * 201), "reference"),
        (by_email("a@x.io", callback_urls=["http://10.0.0.1/hook"]), "callback_urls[0]"),
        (by_email("a@x.io", callback_urls=["file:///etc/passwd"]), "http"),
        (by_email("a@x.io", callback_urls=["http://127.0.0.1:8000/"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://169.254.169.254/"]), "link-local"),
        (by_email("a@x.io", callback_urls=["http://localhost/"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://[::1]/"]), "loopback"),
        # IPv4 in the other forms the resolver reads, and a fully qualified name's final dot.
        (by_email("a@x.io", callback_urls=["http://2130706433/"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://0x7f000001/"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://0177.0.0.1/"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://10.1/"]), "private"),
        (by_email("a@x.io", callback_urls=["http://127.0.0.1./"]), "loopback"),
        (by_email("a@x.io", callback_urls=["http://localhost./"]), "loopback"),
        (by_email("a@x.io", callback_urls=[f"https://h{i}.example.com" for i in range(4)]), ""),
        (by_email("a@x.io", suppress=True), "erasure"),
        (by_email("a@x.io", regulation="hipaa"), "regulation"),
        (by_email("a@x.io", type="forget"), "type"),
        ({"identities": [{"type": "email", "value": "a@x.io"}]}, "type"),
    ],
)
def test_bad_input_is_422_and_stores_nothing(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, body: dict[str, Any], needle: str
) -> None:
    message = assert_error(create(client, ws, body), 422, "validation_error")
    assert needle in message
    assert "a@x.io" not in message and "not a phone" not in message
    assert count_requests(runtime) == 0


@pytest.mark.parametrize("type", ["access", "restriction"])
def test_suppress_false_is_accepted_on_any_type(
    client: TestClient, ws: WorkspaceHandle, type: str
) -> None:
    """`false` asks for nothing: what every request shows, so a client may send it back."""
    response = create(client, ws, by_email("a@x.io", type=type, suppress=False))
    assert response.status_code == 202, response.text
    assert response.json()["suppress"] is False


def test_idempotency_key_replays_and_conflicts(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="ada@example.com")
    body = by_email("ada@example.com", reference="T-9")
    first = create(client, ws, body, **{"Idempotency-Key": "key-1"})
    assert first.status_code == 202
    # The same body with its keys in another order is the same body.
    again = client.post(
        URL,
        content='{"reference": "T-9", "identities": [{"value": "ada@example.com", '
        '"type": "email"}], "type": "access"}',
        headers={**ws.admin, "Idempotency-Key": "key-1", "Content-Type": "application/json"},
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    other = create(
        client, ws, by_email("ada@example.com", reference="T-10"), **{"Idempotency-Key": "key-1"}
    )
    assert_error(other, 409, "idempotency_conflict")
    assert count_requests(runtime) == 1
    # Keys are per workspace; a new key is a new request.
    assert create(client, ws, body, **{"Idempotency-Key": "key-2"}).status_code == 202
    too_long = create(client, ws, body, **{"Idempotency-Key": "k" * 256})
    assert_error(too_long, 422, "validation_error")
    assert count_requests(runtime) == 2


def test_idempotency_key_is_scoped_to_the_workspace(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    body = by_email("ada@example.com")
    assert create(client, ws, body, **{"Idempotency-Key": "k"}).status_code == 202
    assert create(client, other_ws, body, **{"Idempotency-Key": "k"}).status_code == 202
    assert count_requests(runtime) == 2


# -- list, filters ------------------------------------------------------------------------------


def test_list_filters_and_shape(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="ada@example.com")
    old = (datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    late = create(client, ws, by_email("ada@example.com", received_at=old)).json()
    done = create(client, ws, by_email("nobody@example.com", type="erasure")).json()
    create(client, other_ws, by_email("ada@example.com"))

    listing = client.get(URL, headers=ws.admin)
    assert listing.status_code == 200
    page = listing.json()
    assert set(page) == {"data", "next_cursor"}
    assert [r["id"] for r in page["data"]] == [done["id"], late["id"]]  # newest first

    def ids(**params: Any) -> list[str]:
        response = client.get(URL, params=params, headers=ws.admin)
        assert response.status_code == 200, response.text
        return [r["id"] for r in response.json()["data"]]

    assert ids(overdue="true") == [late["id"]]
    assert ids(overdue="false") == [done["id"]]
    assert ids(status="completed") == [done["id"]]
    assert ids(type="access") == [late["id"]]
    assert ids(source="api") == [done["id"], late["id"]]
    assert ids(source="bulk") == []
    assert client.get(f"{URL}/{late['id']}", headers=ws.admin).json()["overdue"] is True
    first = client.get(URL, params={"limit": 1}, headers=ws.admin).json()
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = client.get(
        URL, params={"limit": 1, "cursor": first["next_cursor"]}, headers=ws.admin
    ).json()
    assert [r["id"] for r in second["data"]] == [late["id"]]
    assert_error(
        client.get(URL, params={"status": "nope"}, headers=ws.admin), 422, "validation_error"
    )
    assert_error(client.get(URL, params={"limit": 0}, headers=ws.admin), 422, "validation_error")


# -- extend -------------------------------------------------------------------------------------


def test_extend_once_with_a_reason(client: TestClient, ws: WorkspaceHandle) -> None:
    body = by_email("ada@example.com", received_at="2026-11-30T10:00:00Z")
    created = create(client, ws, body).json()
    assert created["due_at"] == "2026-12-30T10:00:00Z"
    url = f"{URL}/{created['id']}/extend"
    assert_error(client.post(url, json={}, headers=ws.admin), 422, "validation_error")
    assert_error(client.post(url, json={"reason": ""}, headers=ws.admin), 422, "validation_error")
    extended = client.post(url, json={"reason": "complex request"}, headers=ws.admin)
    assert extended.status_code == 200, extended.text
    assert extended.json()["due_at"] == "2027-02-28T10:00:00Z"
    assert extended.json()["extended"] is True
    assert extended.json()["extension_reason"] == "complex request"
    again = client.post(url, json={"reason": "more"}, headers=ws.admin)
    assert_error(again, 409, "already_extended")


def test_extend_ccpa_adds_45_days(client: TestClient, ws: WorkspaceHandle) -> None:
    body = by_email("a@x.io", regulation="ccpa", received_at="2026-11-01T00:00:00Z")
    created = create(client, ws, body).json()
    assert created["due_at"] == "2026-12-16T00:00:00Z"
    extended = client.post(
        f"{URL}/{created['id']}/extend", json={"reason": "volume"}, headers=ws.admin
    )
    assert extended.json()["due_at"] == "2027-01-30T00:00:00Z"


@pytest.mark.parametrize("regulation", ["lgpd", "other"])
def test_extend_is_refused_where_the_law_allows_none(
    client: TestClient, ws: WorkspaceHandle, regulation: str
) -> None:
    created = create(client, ws, by_email("a@x.io", regulation=regulation)).json()
    response = client.post(
        f"{URL}/{created['id']}/extend", json={"reason": "why"}, headers=ws.admin
    )
    assert_error(response, 422, "not_extendable")


# -- cancel -------------------------------------------------------------------------------------


def test_cancel_only_while_pending(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="ada@example.com")
    pending = create(client, ws, by_email("ada@example.com")).json()
    cancelled = client.post(f"{URL}/{pending['id']}/cancel", headers=ws.admin)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancelled_at"] is not None
    run_jobs(runtime)  # the job finds it cancelled: no export
    with runtime.sessionmaker() as session:
        assert session.scalars(select(ExportRequest)).all() == []
    again = client.post(f"{URL}/{pending['id']}/cancel", headers=ws.admin)
    assert_error(again, 409, "not_cancellable")
    done = create(client, ws, by_email("nobody@example.com")).json()
    assert_error(
        client.post(f"{URL}/{done['id']}/cancel", headers=ws.admin), 409, "not_cancellable"
    )


def test_a_started_request_cannot_be_cancelled(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="ada@example.com")
    created = create(client, ws, by_email("ada@example.com")).json()
    runtime.queue.run_one()  # the privacy request job starts it
    response = client.post(f"{URL}/{created['id']}/cancel", headers=ws.admin)
    assert_error(response, 409, "not_cancellable")


# -- roles and workspaces -----------------------------------------------------------------------


def test_members_are_refused_everywhere(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="a@x.io")
    created = create(client, ws, by_email("a@x.io")).json()
    rid = created["id"]
    calls = [
        ("POST", URL, by_email("a@x.io")),
        (
            "POST",
            f"{URL}/bulk",
            {
                "type": "access",
                "subjects": [{"identities": [{"type": "email", "value": "a@x.io"}]}],
            },
        ),
        ("GET", URL, None),
        ("GET", f"{URL}/{rid}", None),
        ("POST", f"{URL}/{rid}/extend", {"reason": "x"}),
        ("POST", f"{URL}/{rid}/cancel", None),
    ]
    for method, url, body in calls:
        response = client.request(method, url, json=body, headers=ws.member)
        assert_error(response, 403, "forbidden")
    assert count_requests(runtime) == 1
    assert client.get(f"{URL}/{rid}", headers=ws.admin).json()["status"] == "pending"


def test_another_workspace_sees_not_found(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="a@x.io")
    rid = create(client, ws, by_email("a@x.io")).json()["id"]
    for method, url, body in [
        ("GET", f"{URL}/{rid}", None),
        ("POST", f"{URL}/{rid}/extend", {"reason": "x"}),
        ("POST", f"{URL}/{rid}/cancel", None),
    ]:
        assert_error(
            client.request(method, url, json=body, headers=other_ws.admin), 404, "not_found"
        )
    assert client.get(URL, headers=other_ws.admin).json()["data"] == []
    assert client.get(f"{URL}/{rid}", headers=ws.admin).json()["status"] == "pending"


def test_audit_entries_hold_ids_only(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _profile(runtime, ws, email="secret.person@example.com")
    created = create(client, ws, by_email("secret.person@example.com", reference="R")).json()
    client.post(f"{URL}/{created['id']}/extend", json={"reason": "x"}, headers=ws.admin)
    client.post(f"{URL}/{created['id']}/cancel", headers=ws.admin)
    with runtime.sessionmaker() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.target_id == created["id"]).order_by(AuditEntry.seq)
        ).all()
    assert [e.action for e in entries] == [
        "privacy_request.created",
        "privacy_request.extended",
        "privacy_request.cancelled",
    ]
    assert "secret.person" not in repr([(e.details, e.target_id) for e in entries])


def test_identities_are_sealed_at_rest(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    create(client, ws, by_email("sealed.person@example.com"))
    with runtime.sessionmaker() as session:
        row = session.scalars(select(PrivacyRequest)).one()
    assert "sealed.person" not in row.identities_sealed


def test_an_erasure_request_writes_its_row_once_per_pass(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """The job's two passes (start the steps, then find them done) each write the request's
    own changes in one UPDATE besides the start and the claim, and a request without callback
    URLs never reads its delivery sequence (issue 18: statements per bulk erasure)."""
    _profile(runtime, ws, email="ada@example.com")
    request_id = create(client, ws, by_email("ada@example.com", type="erasure")).json()["id"]
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(" ".join(statement.split()))

    event.listen(runtime.engine, "before_cursor_execute", seen)
    try:
        run_jobs(runtime)  # both passes: the re-check is queued behind the deletion's job
    finally:
        event.remove(runtime.engine, "before_cursor_execute", seen)
    own = [s for s in statements if s.startswith("UPDATE privacy_requests ")]
    # pass 1: start, claim, the steps recorded; pass 2: start (finds it started), claim, done
    assert len(own) == 6, own
    assert not [s for s in statements if "privacy_request_callbacks" in s]
    done = client.get(f"{URL}/{request_id}", headers=ws.admin).json()
    assert done["status"] == "completed" and done["verified"] is True
