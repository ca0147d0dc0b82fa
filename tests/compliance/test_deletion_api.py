"""The deletion API (SPEC §5): confirmation, roles, workspaces, the Deleted table."""

from __future__ import annotations

import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_event, make_profile
from veil.compliance.deletions import service
from veil.kit.time import utcnow
from veil.models import DeletionRequest, Event, Profile
from veil.runtime import Runtime

EMAIL = "ada@example.com"


def new_profile(runtime: Runtime, ws: WorkspaceHandle, email: str = EMAIL) -> str:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session,
            workspace_id=ws.id,
            email=email,
            phone="+14155550132",
            consent={"email": "subscribed"},
        )
        make_event(session, profile=profile, properties={"email": email, "sku": "S"})
        return profile.id


def delete(
    client: TestClient,
    ws: WorkspaceHandle,
    profile_id: str,
    body: object = None,
    headers: dict[str, str] | None = None,
):  # type: ignore[no-untyped-def]
    kwargs = {} if body is None else {"json": body}
    return client.post(
        f"/api/v1/profiles/{profile_id}/delete", headers=headers or ws.admin, **kwargs
    )


def test_deleting_needs_an_explicit_confirmation(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    for body in (None, {}, {"confirm": False}, {"confirm": "yes"}, {"confirm": 1}):
        response = delete(client, ws, profile_id, body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "confirmation_required"
    with runtime.sessionmaker() as session:
        assert session.get_one(Profile, profile_id).status == "active"
        assert session.scalar(select(func.count()).select_from(DeletionRequest)) == 0


def test_a_confirmed_deletion_is_accepted_and_the_profile_stops_at_once(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    response = delete(client, ws, profile_id, {"confirm": True})
    assert response.status_code == 202
    body = response.json()
    assert body["profile_id"] == profile_id and body["status"] == "pending"
    assert body["email"] == EMAIL and body["phone"] == "+14155550132"
    assert body["name"] == "Ada Lovelace"
    assert body["requested_by"] == "API key initial admin"
    assert body["completed_at"] is None and body["overdue"] is False
    assert body["due_at"] > body["requested_at"]

    # Before the job runs, the profile already reads as deleted with no personal data.
    profile = client.get(f"/api/v1/profiles/{profile_id}", headers=ws.admin).json()
    assert profile["status"] == "deleted" and profile["email"] is None

    run_jobs(runtime)
    record = client.get(f"/api/v1/compliance/deletions/{body['id']}", headers=ws.admin).json()
    assert record["status"] == "completed" and record["completed_at"]
    assert record["summary"]["verified"] is True
    assert record["summary"]["events_scrubbed"] == 1
    assert record["email"] == EMAIL  # the permanent record, for admins


def test_a_new_event_for_the_same_email_lands_on_a_new_profile(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    assert delete(client, ws, profile_id, {"confirm": True}).status_code == 202
    # The job has not run yet: the request's own transaction already stopped the matching.
    response = client.post(
        "/api/v1/events",
        headers=ws.member,
        json={"type": "Viewed Product", "profile": {"email": EMAIL.upper()}, "properties": {}},
    )
    assert response.status_code == 202, response.text
    new_profile_id = response.json()["profile_id"]
    assert new_profile_id != profile_id
    run_jobs(runtime)
    with runtime.sessionmaker() as session:
        new = session.get_one(Profile, new_profile_id)
        assert new.status == "active" and new.email == EMAIL
        old_events = session.scalar(
            select(func.count()).select_from(Event).where(Event.profile_id == profile_id)
        )
    assert old_events == 1  # nothing new was linked to the deleted history


def test_members_cannot_delete_or_read_the_record(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    response = delete(client, ws, profile_id, {"confirm": True}, headers=ws.member)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    admin = delete(client, ws, profile_id, {"confirm": True}).json()
    for path in ("/api/v1/compliance/deletions", f"/api/v1/compliance/deletions/{admin['id']}"):
        assert client.get(path, headers=ws.member).status_code == 403


def test_another_workspace_sees_nothing(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    response = delete(client, other_ws, profile_id, {"confirm": True})
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    record = delete(client, ws, profile_id, {"confirm": True}).json()
    assert (
        client.get(
            f"/api/v1/compliance/deletions/{record['id']}", headers=other_ws.admin
        ).status_code
        == 404
    )
    assert client.get("/api/v1/compliance/deletions", headers=other_ws.admin).json() == {
        "data": [],
        "next_cursor": None,
    }
    assert delete(client, ws, "prf_doesnotexist", {"confirm": True}).status_code == 404


def test_deleting_twice_is_a_conflict(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    assert delete(client, ws, profile_id, {"confirm": True}).status_code == 202
    again = delete(client, ws, profile_id, {"confirm": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "profile_deleted"
    run_jobs(runtime)
    assert delete(client, ws, profile_id, {"confirm": True}).status_code == 409


def test_concurrent_requests_make_exactly_one_deletion(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = new_profile(runtime, ws)
    barrier = threading.Barrier(6)
    codes: list[int] = []

    def ask() -> None:
        barrier.wait()
        codes.append(delete(client, ws, profile_id, {"confirm": True}).status_code)

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202, 409, 409, 409, 409, 409]


def test_the_deleted_table_is_newest_first_and_paginated(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    ids = []
    for n in range(3):
        profile_id = new_profile(runtime, ws, email=f"p{n}@example.com")
        ids.append(delete(client, ws, profile_id, {"confirm": True}).json()["id"])
    first = client.get("/api/v1/compliance/deletions?limit=2", headers=ws.admin).json()
    assert [r["id"] for r in first["data"]] == [ids[2], ids[1]]
    assert [r["email"] for r in first["data"]] == ["p2@example.com", "p1@example.com"]
    second = client.get(
        f"/api/v1/compliance/deletions?limit=2&cursor={first['next_cursor']}", headers=ws.admin
    ).json()
    assert [r["id"] for r in second["data"]] == [ids[0]] and second["next_cursor"] is None
    row = second["data"][0]
    assert set(row) >= {
        "id", "profile_id", "name", "email", "phone", "requested_at", "requested_by",
        "status", "completed_at", "summary", "due_at", "overdue",
    }  # fmt: skip


def test_an_open_request_past_its_due_date_is_overdue(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    record = delete(client, ws, new_profile(runtime, ws), {"confirm": True}).json()
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == record["id"])
            .values(due_at=utcnow() - timedelta(days=1))
        )
    again = client.get(f"/api/v1/compliance/deletions/{record['id']}", headers=ws.admin).json()
    assert again["overdue"] is True


def test_contact_details_are_sealed_and_bound_to_their_request(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    a = delete(client, ws, new_profile(runtime, ws, "a@example.com"), {"confirm": True}).json()
    b = delete(client, ws, new_profile(runtime, ws, "b@example.com"), {"confirm": True}).json()
    with runtime.engine.begin() as conn:
        raw = conn.execute(
            text("SELECT email_sealed, name_sealed, phone_sealed FROM deletion_requests")
        ).all()
        assert all("@example.com" not in repr(r) and "4155550132" not in repr(r) for r in raw)
        # Moving A's sealed email onto B's record does not make it readable there.
        conn.execute(
            text(
                "UPDATE deletion_requests SET email_sealed = "
                "(SELECT email_sealed FROM deletion_requests WHERE id = :a) WHERE id = :b"
            ),
            {"a": a["id"], "b": b["id"]},
        )
    moved = client.get(f"/api/v1/compliance/deletions/{b['id']}", headers=ws.admin).json()
    assert moved["email"] is None
    assert (
        client.get(f"/api/v1/compliance/deletions/{a['id']}", headers=ws.admin).json()["email"]
        == "a@example.com"
    )


def test_the_service_is_callable_by_other_features(runtime: Runtime, ws: WorkspaceHandle) -> None:
    """The contract Shopify's customers/redact and the UI rely on."""
    profile_id = new_profile(runtime, ws)
    with runtime.sessionmaker.begin() as session:
        request = service.request_deletion(
            session,
            runtime=runtime,
            workspace_id=ws.id,
            profile_id=profile_id,
            requested_by="shopify",
            actor="shopify",
            source="shopify",
        )
        assert request.status == "pending" and request.source == "shopify"
    assert runtime.queue.pending_count() == 1
    run_jobs(runtime)
    with runtime.sessionmaker() as session:
        assert session.get_one(DeletionRequest, request.id).status == "completed"


def test_a_rolled_back_request_enqueues_nothing(runtime: Runtime, ws: WorkspaceHandle) -> None:
    profile_id = new_profile(runtime, ws)
    with runtime.sessionmaker() as session:
        service.request_deletion(
            session,
            runtime=runtime,
            workspace_id=ws.id,
            profile_id=profile_id,
            requested_by="t",
            actor="t",
        )
        session.rollback()
    assert runtime.queue.pending_count() == 0
    with runtime.sessionmaker() as session:
        assert session.get_one(Profile, profile_id).status == "active"
