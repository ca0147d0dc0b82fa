"""HTTP: /api/v1/campaigns — create, send to subscribed contacts, recipients and activity."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.fixtures.factories import (
    WorkspaceHandle,
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
)
from tests.fixtures.http import assert_error, collect_pages
from veil.campaigns.links import verify_click
from veil.kit.time import utcnow
from veil.models import Recipient
from veil.runtime import Runtime

LINKS = ["https://shop.example.com/sale", "http://shop.example.com/new?utm=x&y=1"]


def _create(client: TestClient, ws: WorkspaceHandle, **overrides: object) -> dict:
    body = {"name": "Black Friday", "kind": "campaign", "channel": "email", "links": LINKS}
    body.update(overrides)
    response = client.post("/api/v1/campaigns", json=body, headers=ws.admin)
    assert response.status_code == 201, response.text
    return response.json()


def _audience(runtime: Runtime, ws: WorkspaceHandle) -> dict[str, str]:
    """Profiles covering every consent case; returns name -> profile id."""
    with runtime.sessionmaker.begin() as session:
        people = {
            "email_sub": make_profile(
                session,
                workspace_id=ws.id,
                email="sub@example.com",
                phone="+14155550101",
                consent={"email": "subscribed", "sms": "unsubscribed"},
            ),
            "sms_sub": make_profile(
                session,
                workspace_id=ws.id,
                email="sms@example.com",
                phone="+14155550102",
                consent={"email": "unsubscribed", "sms": "subscribed"},
            ),
            "both_sub": make_profile(
                session,
                workspace_id=ws.id,
                email="both@example.com",
                phone="+14155550103",
                consent={"email": "subscribed", "sms": "subscribed"},
            ),
            "no_consent": make_profile(session, workspace_id=ws.id, email="none@example.com"),
            "sms_sub_no_phone": make_profile(
                session,
                workspace_id=ws.id,
                email="nophone@example.com",
                consent={"sms": "subscribed"},
            ),
            "deleted": make_profile(
                session,
                workspace_id=ws.id,
                email=None,
                first_name=None,
                consent={"email": "subscribed"},
            ),
        }
        people["deleted"].status = "deleted"
        return {name: p.id for name, p in people.items()}


def test_admin_creates_a_campaign(client: TestClient, ws: WorkspaceHandle) -> None:
    campaign = _create(client, ws, links=[*LINKS, LINKS[0]])
    assert campaign["id"].startswith("cmp_")
    assert campaign["links"] == LINKS  # duplicates dropped, order kept
    assert campaign["recipient_count"] == 0
    assert (campaign["name"], campaign["kind"], campaign["channel"]) == (
        "Black Friday",
        "campaign",
        "email",
    )
    flow = _create(client, ws, name="Abandoned checkout", kind="flow", channel="sms", links=[])
    assert flow["kind"] == "flow" and flow["links"] == []


def test_create_rejects_bad_input_and_members(client: TestClient, ws: WorkspaceHandle) -> None:
    base = {"name": "X", "kind": "campaign", "channel": "email", "links": []}
    cases = [
        ({"links": ["ftp://shop.example.com"]}, "links"),
        ({"links": ["javascript:alert(1)"]}, "links"),
        ({"links": ["https://"]}, "links"),
        ({"links": ["not a url"]}, "links"),
        ({"links": "https://a.example"}, "links"),
        ({"channel": "pigeon"}, "channel"),
        ({"kind": "blast"}, "kind"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"subject": "Hi"}, "subject"),
    ]
    for override, mentioned in cases:
        response = client.post("/api/v1/campaigns", json={**base, **override}, headers=ws.admin)
        assert mentioned in assert_error(response, 422, "validation_error"), override
    response = client.post("/api/v1/campaigns", json=base, headers=ws.member)
    assert_error(response, 403, "forbidden")


def test_list_and_get_campaigns(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    ids = [_create(client, ws, name=f"C{i}")["id"] for i in range(5)]
    with runtime.sessionmaker.begin() as session:
        theirs = make_campaign(session, workspace_id=other_ws.id).id
    items = collect_pages(client, "/api/v1/campaigns", ws.member, limit=2)
    assert [c["id"] for c in items] == list(reversed(ids))  # newest first
    one = client.get(f"/api/v1/campaigns/{ids[0]}", headers=ws.member)
    assert one.status_code == 200 and one.json()["name"] == "C0"
    assert_error(client.get(f"/api/v1/campaigns/{theirs}", headers=ws.member), 404, "not_found")
    assert_error(client.get("/api/v1/campaigns/cmp_nope", headers=ws.member), 404, "not_found")


def test_send_goes_to_subscribed_active_contacts_of_the_channel(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    people = _audience(runtime, ws)
    email = _create(client, ws)
    sms = _create(client, ws, name="SMS", channel="sms", links=["https://s.example.com/x"])

    sent = client.post(f"/api/v1/campaigns/{email['id']}/send", headers=ws.admin)
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"recipients": 2, "skipped": 0}
    sent_sms = client.post(f"/api/v1/campaigns/{sms['id']}/send", json={}, headers=ws.admin)
    assert sent_sms.json() == {"recipients": 2, "skipped": 0}

    with runtime.sessionmaker() as session:
        rows = session.scalars(select(Recipient).where(Recipient.workspace_id == ws.id)).all()
    by_campaign: dict[str, dict[str, Recipient]] = {}
    for row in rows:
        by_campaign.setdefault(row.campaign_id, {})[row.profile_id] = row
    email_rows = by_campaign[email["id"]]
    assert set(email_rows) == {people["email_sub"], people["both_sub"]}
    assert email_rows[people["email_sub"]].email == "sub@example.com"
    assert email_rows[people["email_sub"]].phone is None
    sms_rows = by_campaign[sms["id"]]
    assert set(sms_rows) == {people["sms_sub"], people["both_sub"]}
    assert sms_rows[people["sms_sub"]].phone == "+14155550102"
    assert sms_rows[people["sms_sub"]].email is None
    tokens = [r.token for r in rows]
    assert len(set(tokens)) == len(tokens) and all(len(t) >= 32 for t in tokens)
    assert all(r.status == "sent" and r.channel in ("email", "sms") for r in rows)


def test_sending_a_campaign_twice_reaches_nobody_twice_but_flows_repeat(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    people = _audience(runtime, ws)
    campaign = _create(client, ws)
    flow = _create(client, ws, name="Welcome", kind="flow")
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    assert client.post(url, headers=ws.admin).json()["recipients"] == 2
    assert client.post(url, headers=ws.admin).json() == {"recipients": 0, "skipped": 0}
    again = client.post(url, json={"profile_ids": [people["email_sub"]]}, headers=ws.admin)
    assert again.json() == {"recipients": 0, "skipped": 1}
    with runtime.sessionmaker.begin() as session:
        make_profile(
            session, workspace_id=ws.id, email="late@example.com", consent={"email": "subscribed"}
        )
    assert client.post(url, headers=ws.admin).json()["recipients"] == 1  # only the newcomer
    assert (
        client.get(f"/api/v1/campaigns/{campaign['id']}", headers=ws.admin).json()[
            "recipient_count"
        ]
        == 3
    )

    flow_url = f"/api/v1/campaigns/{flow['id']}/send"
    one = {"profile_ids": [people["email_sub"]]}
    assert client.post(flow_url, json=one, headers=ws.admin).json()["recipients"] == 1
    assert client.post(flow_url, json=one, headers=ws.admin).json()["recipients"] == 1
    assert (
        client.get(f"/api/v1/campaigns/{flow['id']}", headers=ws.admin).json()["recipient_count"]
        == 2
    )


def test_send_to_chosen_profiles(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    people = _audience(runtime, ws)
    campaign = _create(client, ws)
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    chosen = [people["both_sub"], people["no_consent"], people["deleted"], people["both_sub"]]
    response = client.post(url, json={"profile_ids": chosen}, headers=ws.admin)
    assert response.json() == {"recipients": 1, "skipped": 2}

    with runtime.sessionmaker.begin() as session:
        theirs = make_profile(session, workspace_id=other_ws.id, consent={"email": "subscribed"}).id
    for ids in ([theirs], ["prf_unknown"], [people["email_sub"], theirs]):
        response = client.post(url, json={"profile_ids": ids}, headers=ws.admin)
        assert_error(response, 404, "not_found")
    # The rejected sends stored nothing.
    assert (
        client.get(f"/api/v1/campaigns/{campaign['id']}", headers=ws.admin).json()[
            "recipient_count"
        ]
        == 1
    )


def test_send_bad_input_wrong_role_and_wrong_workspace(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    campaign = _create(client, ws)
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    for body in ({"profile_ids": "prf_1"}, {"profile_ids": [1, 2]}, {"everyone": True}):
        assert_error(client.post(url, json=body, headers=ws.admin), 422, "validation_error")
    too_many = {"profile_ids": [f"prf_{i}" for i in range(5001)]}
    assert_error(client.post(url, json=too_many, headers=ws.admin), 422, "validation_error")
    assert_error(client.post(url, headers=ws.member), 403, "forbidden")
    assert_error(client.post(url, headers=other_ws.admin), 404, "not_found")
    with runtime.sessionmaker.begin() as session:
        theirs = make_campaign(session, workspace_id=other_ws.id).id
    response = client.post(f"/api/v1/campaigns/{theirs}/send", headers=ws.admin)
    assert_error(response, 404, "not_found")


def test_recipients_carry_tracking_urls_and_activity(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    _audience(runtime, ws)
    campaign = _create(client, ws)
    client.post(f"/api/v1/campaigns/{campaign['id']}/send", headers=ws.admin)
    response = client.get(f"/api/v1/campaigns/{campaign['id']}/recipients", headers=ws.member)
    assert response.status_code == 200, response.text
    records = response.json()["data"]
    assert len(records) == 2
    base = runtime.settings.base_url
    with runtime.sessionmaker() as session:
        tokens = {r.id: r.token for r in session.scalars(select(Recipient))}
    for record in records:
        token = tokens[record["id"]]
        assert record["open_url"] == f"{base}/t/o/{token}"
        assert set(record["click_urls"]) == set(LINKS)
        for original, tracked in record["click_urls"].items():
            parts = urlsplit(tracked)
            assert f"{parts.scheme}://{parts.netloc}" == base
            assert parts.path == f"/t/c/{token}"
            query = parse_qs(parts.query)
            assert query["url"] == [original]
            assert verify_click(runtime.link_keyring, token, original, query["sig"][0])
            assert not verify_click(
                runtime.link_keyring, token, "https://evil.example", query["sig"][0]
            )
        assert record["activity"] == []
        assert record["email"].endswith("@example.com") and record["phone"] is None
        assert record["channel"] == "email" and record["status"] == "sent"
        assert record["sent_at"].endswith("Z")


def test_activity_follows_the_record_even_onto_a_new_profile_after_deletion(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """SPEC §3: a click after the recipient's deletion lands on a new profile and shows here."""
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        campaign = make_campaign(session, workspace_id=ws.id, links=LINKS)
        ada = make_profile(session, workspace_id=ws.id, email="ada@example.com")
        grace = make_profile(session, workspace_id=ws.id, email="grace@example.com")
        ada_record = make_recipient(session, campaign=campaign, profile=ada)
        grace_record = make_recipient(session, campaign=campaign, profile=grace)
        opened = make_event(
            session,
            profile=ada,
            type="Opened Email",
            source="tracking",
            campaign_id=campaign.id,
            recipient_id=ada_record.id,
            timestamp=now.replace(microsecond=0),
        )
        # Ada is erased: tombstone, record redacted; her later click lands on a new profile.
        ada.status, ada.email, ada.deleted_at = "deleted", None, now
        ada_record.email = "redacted123@redacted.invalid"
        newcomer = make_profile(session, workspace_id=ws.id, email=None, first_name=None)
        clicked = make_event(
            session,
            profile=newcomer,
            type="Clicked Email",
            source="tracking",
            campaign_id=campaign.id,
            recipient_id=ada_record.id,
            properties={"url": LINKS[0]},
        )
        # Somebody else's activity, and an event with no recipient, must not show.
        make_event(session, profile=grace, type="Opened Email", recipient_id=grace_record.id)
        make_event(session, profile=newcomer, type="Viewed Product")
        ids = (campaign.id, ada.id, ada_record.id, newcomer.id, opened.id, clicked.id)
    campaign_id, ada_id, record_id, newcomer_id, opened_id, clicked_id = ids
    records = client.get(f"/api/v1/campaigns/{campaign_id}/recipients", headers=ws.member).json()
    ada_view = next(r for r in records["data"] if r["id"] == record_id)
    assert ada_view["profile_id"] == ada_id
    assert ada_view["email"].startswith("redacted")
    assert [(a["id"], a["type"], a["profile_id"]) for a in ada_view["activity"]] == [
        (opened_id, "Opened Email", ada_id),
        (clicked_id, "Clicked Email", newcomer_id),
    ]
    assert set(ada_view["activity"][0]) == {"id", "type", "timestamp", "profile_id", "url"}
    assert [a["url"] for a in ada_view["activity"]] == [None, LINKS[0]]
    assert (ada_view["opens"], ada_view["clicks"]) == (1, 1)
    assert ada_view["activity_profile_ids"] == [newcomer_id]
    assert ada_view["last_activity_at"] is not None
    grace_view = next(r for r in records["data"] if r["id"] != record_id)
    assert [a["type"] for a in grace_view["activity"]] == ["Opened Email"]


def test_recipients_paginate_and_stay_in_their_workspace(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        campaign = make_campaign(session, workspace_id=ws.id)
        record_ids = [
            make_recipient(
                session,
                campaign=campaign,
                profile=make_profile(session, workspace_id=ws.id, email=f"r{i}@example.com"),
            ).id
            for i in range(5)
        ]
        campaign_id = campaign.id
        theirs = make_campaign(session, workspace_id=other_ws.id).id
    url = f"/api/v1/campaigns/{campaign_id}/recipients"
    assert [r["id"] for r in collect_pages(client, url, ws.member, limit=2)] == sorted(record_ids)
    assert_error(client.get(url, headers=other_ws.member), 404, "not_found")
    assert_error(
        client.get(f"/api/v1/campaigns/{theirs}/recipients", headers=ws.member), 404, "not_found"
    )
    assert_error(
        client.get(url, params={"limit": 1000}, headers=ws.member), 422, "validation_error"
    )
    assert_error(client.get(url), 401, "unauthorized")


def test_concurrent_sends_of_one_campaign_reach_each_profile_once(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    import threading

    from veil.campaigns import service

    with runtime.sessionmaker.begin() as session:
        for i in range(30):
            make_profile(
                session,
                workspace_id=ws.id,
                email=f"c{i}@example.com",
                consent={"email": "subscribed"},
            )
        campaign_id = make_campaign(session, workspace_id=ws.id).id
    barrier = threading.Barrier(6)
    sent: list[int] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            with runtime.sessionmaker.begin() as session:
                outcome = service.send_campaign(
                    session, workspace_id=ws.id, actor="test", campaign_id=campaign_id
                )
            sent.append(outcome.recipients)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(sent) == [0, 0, 0, 0, 0, 30]
    with runtime.sessionmaker() as session:
        profiles = session.scalars(
            select(Recipient.profile_id).where(Recipient.campaign_id == campaign_id)
        ).all()
    assert len(profiles) == len(set(profiles)) == 30
