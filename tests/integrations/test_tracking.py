"""Campaign open and click tracking through the URLs the recipients API hands out: the pixel,
signed redirects (never an open redirect), de-duplicated opens, and activity after erasure."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle
from tests.fixtures.http import assert_error
from tests.integrations.support import events, profiles
from veil.runtime import Runtime

SALE = "https://shop.example.com/sale?utm_source=veil"
GUIDE = "https://shop.example.com/guides/tents"


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _send(
    client: TestClient, ws: WorkspaceHandle, *, channel: str = "email", people: int = 1
) -> tuple[str, list[dict[str, Any]]]:
    for n in range(people):
        body = (
            {
                "email": f"reader{n}@example.com",
                "first_name": "Reader",
                "consent": {"email": "subscribed"},
            }
            if channel == "email"
            else {"phone": f"+1202555010{n}", "consent": {"sms": "subscribed"}}
        )
        assert client.post("/api/v1/profiles", json=body, headers=ws.admin).status_code == 201
    campaign = client.post(
        "/api/v1/campaigns",
        json={"name": "Winter sale", "channel": channel, "links": [SALE, GUIDE]},
        headers=ws.admin,
    ).json()
    sent = client.post(f"/api/v1/campaigns/{campaign['id']}/send", headers=ws.admin).json()
    assert sent["recipients"] == people
    return campaign["id"], _recipients(client, ws, campaign["id"])


def _recipients(client: TestClient, ws: WorkspaceHandle, campaign_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/v1/campaigns/{campaign_id}/recipients", headers=ws.member)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def test_the_open_pixel_is_a_gif_and_records_one_open_a_day(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    campaign_id, (first, second) = _send(client, ws, people=2)
    for _ in range(3):  # the mail client and a privacy proxy fetching it again and again
        pixel = client.get(_path(first["open_url"]))
        assert pixel.status_code == 200
        assert pixel.headers["content-type"] == "image/gif"
        assert pixel.content.startswith(b"GIF89a") and len(pixel.content) < 100
        assert "no-store" in pixel.headers["cache-control"]
    client.get(_path(second["open_url"]))
    views = {r["id"]: r for r in _recipients(client, ws, campaign_id)}
    assert views[first["id"]]["opens"] == 1 and views[second["id"]]["opens"] == 1
    (opened,) = views[first["id"]]["activity"]
    assert (opened["type"], opened["profile_id"]) == ("Opened Email", first["profile_id"])
    (event,) = events(client, ws, first["profile_id"])
    assert (event["source"], event["campaign_id"], event["recipient_id"]) == (
        "tracking",
        campaign_id,
        first["id"],
    )


def test_a_signed_click_redirects_and_records_each_click(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    campaign_id, (record,) = _send(client, ws)
    for url in (SALE, GUIDE, SALE):
        response = client.get(_path(record["click_urls"][url]), follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == url
    (view,) = _recipients(client, ws, campaign_id)
    assert (view["clicks"], view["opens"]) == (3, 0)
    assert [a["url"] for a in view["activity"]] == [SALE, GUIDE, SALE]
    assert {a["type"] for a in view["activity"]} == {"Clicked Email"}


def test_sms_clicks_are_clicked_sms(client: TestClient, ws: WorkspaceHandle) -> None:
    campaign_id, (record,) = _send(client, ws, channel="sms")
    client.get(_path(record["click_urls"][GUIDE]), follow_redirects=False)
    (view,) = _recipients(client, ws, campaign_id)
    assert [a["type"] for a in view["activity"]] == ["Clicked SMS"]


def test_open_redirect_attempts_are_400_and_record_nothing(
    client: TestClient, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    campaign_id, (record, other) = _send(client, ws, people=2)
    tracked = urlsplit(record["click_urls"][SALE])
    token = tracked.path.rsplit("/", 1)[1]
    sig = parse_qs(tracked.query)["sig"][0]
    other_sig = parse_qs(urlsplit(other["click_urls"][SALE]).query)["sig"][0]
    attempts = [
        {"url": "https://evil.example.net/phish", "sig": sig},
        {"url": SALE + "&next=https://evil.example.net", "sig": sig},
        {"url": GUIDE, "sig": sig},  # a real link of the campaign, but not what was signed
        {"url": SALE, "sig": other_sig},  # another recipient's signature
        {"url": SALE, "sig": sig[:-2]},
        {"url": SALE, "sig": ""},
        {"url": SALE},
        {"sig": sig},
        {"url": "javascript:alert(1)", "sig": sig},
        {"url": "//evil.example.net", "sig": sig},
        {"url": SALE, "sig": sig + "A" * 200},
    ]
    for query in attempts:
        response = client.get(f"/t/c/{token}?{urlencode(query)}", follow_redirects=False)
        assert_error(response, 400, "bad_request")
        assert "location" not in response.headers
    # The signature is bound to the token too.
    response = client.get(f"/t/c/not-the-token?{urlencode({'url': SALE, 'sig': sig})}")
    assert_error(response, 400, "bad_request")
    for bad_token in ("x" * 500, "%00"):
        response = client.get(f"/t/c/{bad_token}?{urlencode({'url': SALE, 'sig': sig})}")
        assert_error(response, 400, "bad_request")
    assert all(r["activity"] == [] for r in _recipients(client, ws, campaign_id))


def test_unknown_tokens_record_nothing(client: TestClient, ws: WorkspaceHandle) -> None:
    campaign_id, _records = _send(client, ws)
    for token in ("unknown-token", "x" * 300, "%00", "a%00b", "%F0%9F%98%80"):
        pixel = client.get(f"/t/o/{token}")
        assert pixel.status_code == 200 and pixel.headers["content-type"] == "image/gif"
    assert all(r["activity"] == [] for r in _recipients(client, ws, campaign_id))
    assert len(profiles(client, ws)) == 1


@pytest.mark.parametrize("run_erasure_first", [True, False])
def test_an_old_link_after_deletion_lands_on_a_new_profile_shown_in_the_activity(
    client: TestClient, ws: WorkspaceHandle, runtime: Runtime, run_erasure_first: bool
) -> None:
    campaign_id, (record,) = _send(client, ws)
    reader_id = record["profile_id"]
    client.get(_path(record["open_url"]))
    deleted = client.post(
        f"/api/v1/profiles/{reader_id}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202
    if run_erasure_first:
        run_jobs(runtime)  # the record now holds a redacted… address
    # Without the job having run, the record still holds the real address: it must not be used.

    response = client.get(_path(record["click_urls"][SALE]), follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (302, SALE)
    client.get(_path(record["click_urls"][GUIDE]), follow_redirects=False)
    run_jobs(runtime)

    (newcomer,) = profiles(client, ws)
    assert newcomer["id"] != reader_id
    assert newcomer["email"] is None and newcomer["is_contact"] is False
    assert sorted(e["type"] for e in events(client, ws, newcomer["id"])) == [
        "Clicked Email",
        "Clicked Email",
    ]
    (view,) = _recipients(client, ws, campaign_id)
    assert view["profile_id"] == reader_id  # the record keeps its (tombstone) owner
    assert view["email"].startswith("redacted")
    assert [(a["type"], a["profile_id"]) for a in view["activity"]] == [
        ("Opened Email", reader_id),
        ("Clicked Email", newcomer["id"]),
        ("Clicked Email", newcomer["id"]),
    ]
    assert view["activity_profile_ids"] == [newcomer["id"]]
    assert (view["opens"], view["clicks"]) == (1, 2)
    # The old history stays on the tombstone, not linked to the new profile.
    assert [e["type"] for e in events(client, ws, reader_id)] == ["Opened Email"]


def test_tracking_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "200" in paths["/t/o/{token}"]["get"]["responses"]
    assert {"302", "400"} <= set(paths["/t/c/{token}"]["get"]["responses"])
