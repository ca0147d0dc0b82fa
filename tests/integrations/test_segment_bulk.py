"""POST /v1/batch in bulk (one de-duplication query, profiles resolved together, one INSERT):
the same answers and the same final state as applying the calls one by one."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import events, one_profile, profiles
from veil.integrations import dedup
from veil.models import DedupKey
from veil.runtime import Runtime


def _batch(client: TestClient, ws: WorkspaceHandle, *messages: dict[str, Any]) -> Any:
    return client.post("/v1/batch", json={"batch": list(messages)}, auth=(ws.write_key, ""))


def _track(user: str, event: str, message_id: str | None = None, **extra: Any) -> dict[str, Any]:
    call: dict[str, Any] = {"type": "track", "userId": user, "event": event, **extra}
    if message_id is not None:
        call["messageId"] = message_id
    return call


def _dedup_keys(runtime: Runtime) -> int:
    with runtime.sessionmaker() as session:
        return session.scalar(select(func.count()).select_from(DedupKey)) or 0


def test_duplicates_within_a_batch_and_across_batches_are_recorded_once(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    assert _batch(client, ws, _track("u-1", "Old", "m-0")).status_code == 200
    response = _batch(
        client,
        ws,
        _track("u-1", "First", "m-1"),
        _track("u-1", "Repeat of m-1", "m-1"),
        _track("u-1", "Repeat of m-0", "m-0"),
        # A repeat is skipped before it is checked: it would be refused on its own.
        _track("u-1", "Bad repeat", "m-1", properties={"k": "v\u0000"}),
        _track("u-2", "No id"),
        _track("u-2", "No id"),
        # An identify's messageId is de-duplicated too, and shared with a later track.
        {"type": "identify", "userId": "u-2", "messageId": "m-2", "traits": {"plan": "a"}},
        _track("u-2", "Same id as the identify", "m-2"),
        {"type": "identify", "userId": "u-2", "messageId": "m-2", "traits": {"plan": "b"}},
    )
    assert response.status_code == 200, response.text
    by_user = {p["external_id"]: p for p in profiles(client, ws)}
    assert set(by_user) == {"u-1", "u-2"}
    assert sorted(e["type"] for e in events(client, ws, by_user["u-1"]["id"])) == ["First", "Old"]
    assert sorted(e["type"] for e in events(client, ws, by_user["u-2"]["id"])) == [
        "No id",
        "No id",
    ]
    assert by_user["u-2"]["properties"] == {"plan": "a"}
    assert _dedup_keys(runtime) == 3  # m-0, m-1, m-2: stored once each


def test_a_message_id_already_used_by_an_api_event_records_no_second_event(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    api = client.post(
        "/api/v1/events",
        json={"type": "Placed Order", "profile": {"external_id": "u-1"}, "message_id": "m-1"},
        headers=ws.admin,
    )
    assert api.status_code == 202, api.text
    response = _batch(client, ws, _track("u-1", "From Segment", "m-1"), _track("u-1", "New", "m-3"))
    assert response.status_code == 200, response.text
    (profile,) = profiles(client, ws)
    assert sorted(e["type"] for e in events(client, ws, profile["id"])) == ["New", "Placed Order"]


def test_identify_and_track_mixed_leave_the_profile_as_call_by_call(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = _batch(
        client,
        ws,
        # A plain track creates the profile, the identify then names it.
        _track("u-1", "Viewed Product"),
        {"type": "identify", "userId": "u-1", "traits": {"email": "ada@example.com", "plan": "a"}},
        _track("u-1", "Placed Order"),
        # context.traits on a track update the profile in its turn...
        _track("u-1", "Upgraded", context={"traits": {"plan": "b", "lastName": "Lovelace"}}),
        # ...and a later identify wins over it.
        {"type": "identify", "userId": "u-1", "traits": {"plan": "c", "firstName": "Ada"}},
        # An identify first, then tracks by the anonymous id and the user id.
        {
            "type": "identify",
            "userId": "u-2",
            "anonymousId": "anon-2",
            "traits": {"email": "grace@example.com"},
        },
        {"type": "track", "anonymousId": "anon-2", "event": "Anonymous view"},
        _track("u-2", "Named view"),
        {"type": "page", "userId": "u-2", "name": "Home"},
    )
    assert response.status_code == 200, response.text
    assert len(profiles(client, ws)) == 2
    ada = one_profile(client, ws, "ada@example.com")
    assert ada["external_id"] == "u-1"
    assert (ada["first_name"], ada["last_name"]) == ("Ada", "Lovelace")
    assert ada["properties"] == {"plan": "c"}
    assert sorted(e["type"] for e in events(client, ws, ada["id"])) == [
        "Placed Order",
        "Upgraded",
        "Viewed Product",
    ]
    grace = one_profile(client, ws, "grace@example.com")
    assert sorted(e["type"] for e in events(client, ws, grace["id"])) == [
        "Anonymous view",
        "Named view",
        "Viewed Page",
    ]


def test_a_message_failing_validation_rejects_the_batch_and_stores_nothing(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime
) -> None:
    good = [
        {"type": "identify", "userId": "u-1", "traits": {"email": "kept@example.com"}},
        _track("u-1", "Viewed Product", "m-1"),
        _track("u-2", "Viewed Product", "m-2"),
    ]
    bad = _track("u-3", "Broken", "m-3", properties={"k": "v\u0000"})
    # A later message with a bad profile: the first failing message is the one named.
    worse = {"type": "identify", "userId": "u-4", "traits": {"email": "not-an-email"}}
    message = assert_error(_batch(client, ws, *good, bad, worse), 422, "validation_error")
    assert message.startswith("batch[3]: "), message
    assert profiles(client, ws) == []
    assert _dedup_keys(runtime) == 0
    # Fixed, the same batch is new: no messageId was kept from the rejected one.
    bad["properties"] = {"k": "v"}
    assert _batch(client, ws, *good, bad).status_code == 200
    assert sorted(p["external_id"] for p in profiles(client, ws)) == ["u-1", "u-2", "u-3"]
    kept = one_profile(client, ws, "kept@example.com")
    assert [e["type"] for e in events(client, ws, kept["id"])] == ["Viewed Product"]


def test_a_nul_in_a_later_message_id_is_a_validation_error_on_every_backend(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    response = _batch(client, ws, _track("u-1", "Fine", "m-1"), _track("u-1", "Bad", "m\u0000"))
    assert assert_error(response, 422, "validation_error").startswith("batch[1]: ")
    assert profiles(client, ws) == []


def test_first_deliveries_lets_the_unique_constraint_decide(
    runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        assert dedup.first_delivery(session, workspace_id=ws.id, scope=dedup.SEGMENT, key="m-1")
    with runtime.sessionmaker.begin() as session:
        # Seen in an earlier transaction (m-1), earlier in this one (m-3), repeated (m-2), in
        # another scope (m-4 is new here) or workspace: each decided by the stored keys.
        assert dedup.first_delivery(session, workspace_id=ws.id, scope=dedup.SEGMENT, key="m-3")
        assert dedup.first_delivery(session, workspace_id=ws.id, scope=dedup.SHOPIFY, key="m-4")
        fresh = dedup.first_deliveries(
            session,
            workspace_id=ws.id,
            scope=dedup.SEGMENT,
            keys=["m-1", "m-2", "m-2", "m-3", "m-4", *(f"n-{i}" for i in range(250))],
        )
        assert fresh == {"m-2", "m-4", *(f"n-{i}" for i in range(250))}
        assert dedup.first_deliveries(
            session, workspace_id=other_ws.id, scope=dedup.SEGMENT, keys=["m-1"]
        ) == {"m-1"}
        assert not dedup.first_delivery(session, workspace_id=ws.id, scope=dedup.SEGMENT, key="n-7")
        nothing = dedup.first_deliveries(session, workspace_id=ws.id, scope=dedup.SEGMENT, keys=[])
        assert nothing == set()
    # Segment m-1, m-3, m-2, m-4 and n-0..n-249, Shopify m-4, the other workspace's m-1.
    assert _dedup_keys(runtime) == 4 + 250 + 1 + 1


def test_only_profiles_that_a_call_resolves_are_touched(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    first = _batch(client, ws, _track("u-1", "First", "m-1"), _track("u-2", "First"))
    assert first.status_code == 200, first.text
    api = client.post(
        "/api/v1/events",
        json={"type": "Stored", "profile": {"external_id": "u-3"}, "message_id": "m-3"},
        headers=ws.admin,
    )
    assert api.status_code == 202, api.text
    before = {p["external_id"]: p["updated_at"] for p in profiles(client, ws)}
    response = _batch(
        client,
        ws,
        _track("u-1", "Repeat", "m-1"),  # a duplicate: skipped, its profile left alone
        {"type": "alias", "userId": "u-2", "previousId": "x"},  # nothing stored
        _track("u-3", "Same id as a stored event", "m-3"),  # idempotent: nothing stored
    )
    assert response.status_code == 200, response.text
    after = {p["external_id"]: p["updated_at"] for p in profiles(client, ws)}
    assert after == before
    touched = _batch(client, ws, _track("u-1", "New"), {"type": "identify", "userId": "u-2"})
    assert touched.status_code == 200
    again = {p["external_id"]: p["updated_at"] for p in profiles(client, ws)}
    assert again["u-1"] > before["u-1"] and again["u-2"] > before["u-2"]
    assert again["u-3"] == before["u-3"]
