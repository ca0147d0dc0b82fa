"""The real Segment and RudderStack Python clients against a running `veil serve`.

Each client's `host` points at the live server (its own data dir, free port, embedded
worker; SQLite, or PostgreSQL when the suite runs on it); the clients queue, batch, gzip and
authenticate exactly as they do in production, are flushed synchronously, and what they
delivered is read back through the HTTP API. A recording server on the loopback shows what
the libraries put on the wire (path, auth, encoding), independently of Veil.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient
from segment.analytics.request import APIError

from tests.web.live_server import LiveServer, server_database

PII = (
    "seg.user@example.com",
    "Samira",
    "Segmentova",
    "rudy@example.com",
    "Rudolph",
    "+14155550111",
)


@dataclass
class Live:
    server: LiveServer
    log_file: Path
    workspaces: list[dict[str, str]]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    data_dir = tmp_path_factory.mktemp("segment-live")
    log_file = data_dir / "logs" / "veil.log"
    with server_database(data_dir) as database_url:
        server = LiveServer(
            data_dir, database_url, VEIL_LOG_LEVEL="DEBUG", VEIL_LOG_FILE=str(log_file)
        )
        workspaces = [
            server.cli("workspaces", "create", name, "--json")
            for name in ("Segment Store", "Rudder Store", "Wire Store")
        ]
        server.start()
        try:
            yield Live(server=server, log_file=log_file, workspaces=workspaces)
        finally:
            server.stop()


def _read(live: Live, workspace: dict[str, str]) -> list[dict[str, Any]]:
    """Every profile of the workspace with its events, through the API."""
    with live.server.api(workspace["admin_api_key"]) as api:
        found = api.get("/api/v1/profiles", params={"limit": 500}).json()["data"]
        for profile in found:
            profile["events"] = api.get(
                f"/api/v1/profiles/{profile['id']}/events", params={"limit": 500}
            ).json()["data"]
    return list(found)


def _by(profiles: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    (match,) = [p for p in profiles if p[key] == value]
    return match


@pytest.mark.parametrize("use_gzip", [True, False])
def test_the_segment_client_delivers_identify_track_and_page(live: Live, use_gzip: bool) -> None:
    workspace = live.workspaces[0]
    errors: list[Any] = []
    user = f"seg-{int(use_gzip)}"
    client = SegmentClient(
        workspace["write_key"],
        host=live.server.url,
        gzip=use_gzip,
        on_error=lambda error, batch: errors.append(error),
        max_retries=2,
    )
    client.identify(
        user,
        {
            "email": "Seg.User@Example.com" if use_gzip else f"{user}@example.com",
            "firstName": "Samira",
            "lastName": "Segmentova",
            "plan": "pro",
        },
    )
    client.track(user, "Viewed Product", {"sku": "TENT-1", "price": 349.0})
    client.track(user, "Viewed Product", {"sku": "TENT-1"}, message_id=f"dup-{user}")
    client.track(user, "Viewed Product", {"sku": "TENT-1"}, message_id=f"dup-{user}")
    client.page(user, name="Home", properties={"path": "/", "title": "Alpine"})
    client.track(anonymous_id=f"anon-{user}", event="Viewed Collection")
    client.flush()
    client.join()
    assert errors == []

    profiles = _read(live, workspace)
    named = _by(profiles, "external_id", user)
    assert named["email"] == ("seg.user@example.com" if use_gzip else f"{user}@example.com")
    assert (named["first_name"], named["last_name"]) == ("Samira", "Segmentova")
    assert named["properties"] == {"plan": "pro"}
    types = sorted(e["type"] for e in named["events"])
    assert types == ["Viewed Page", "Viewed Product", "Viewed Product"]  # the dup once
    assert {e["source"] for e in named["events"]} == {"segment"}
    page = next(e for e in named["events"] if e["type"] == "Viewed Page")
    assert page["properties"] == {"path": "/", "title": "Alpine", "name": "Home"}
    anonymous = [p for p in profiles if not p["is_contact"] and p["external_id"] is None]
    assert any([e["type"] for e in p["events"]] == ["Viewed Collection"] for p in anonymous)


def test_the_rudderstack_client_delivers_identify_track_and_page(live: Live) -> None:
    workspace = live.workspaces[1]
    errors: list[Any] = []
    client = RudderClient(
        workspace["write_key"],
        host=live.server.url,
        on_error=lambda error, batch: errors.append(error),
        max_retries=2,
    )
    # RudderStack's identify sends traits only inside context.traits.
    client.identify(
        "rudy-1",
        {"email": "rudy@example.com", "first_name": "Rudolph", "phone": "+1 415 555 0111"},
    )
    client.track("rudy-1", "Placed Order", {"order_id": "o-1", "total": 42.5})
    client.page("rudy-1", name="Checkout", properties={"path": "/checkout"})
    client.flush()
    client.join()
    assert errors == []

    rudy = _by(_read(live, workspace), "external_id", "rudy-1")
    assert (rudy["email"], rudy["first_name"], rudy["phone"]) == (
        "rudy@example.com",
        "Rudolph",
        "+14155550111",
    )
    got = sorted((e["type"], e["properties"]) for e in rudy["events"])
    assert got == [
        ("Placed Order", {"order_id": "o-1", "total": 42.5}),
        ("Viewed Page", {"path": "/checkout", "name": "Checkout"}),
    ]


def test_a_wrong_write_key_is_refused_to_the_client_and_stores_nothing(live: Live) -> None:
    client = SegmentClient("veil_wk_not_a_key", host=live.server.url, sync_mode=True)
    with pytest.raises(APIError) as refused:
        client.track("mallory", "Viewed Product")
    assert refused.value.status == 401


class _Recorder(BaseHTTPRequestHandler):
    requests: list[tuple[str, dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.requests.append((self.path, dict(self.headers.items()), body))
        answer = b'{"success": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    _Recorder.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("library", ["segment", "rudderstack"])
def test_what_the_libraries_send_on_the_wire_is_what_veil_reads(
    live: Live, recorder: tuple[str, list[tuple[str, dict[str, str], bytes]]], library: str
) -> None:
    url, requests = recorder
    workspace = live.workspaces[2]
    key = workspace["write_key"]
    if library == "segment":
        client: Any = SegmentClient(key, host=url, gzip=True, sync_mode=True)
    else:
        client = RudderClient(key, host=url, sync_mode=True)
    client.track(f"wire-{library}", "Viewed Product", {"sku": "W-1"})
    (path, headers, body) = requests[0]
    assert path == "/v1/batch"
    assert headers["Authorization"] == "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    assert headers["Content-Encoding"] == "gzip"
    sent = json.loads(gzip.decompress(body))
    assert sent["batch"][0]["type"] == "track" and "sentAt" in sent
    # The same bytes and headers, replayed to Veil, are accepted and stored.
    replay = httpx.post(
        f"{live.server.url}{path}",
        content=body,
        headers={k: v for k, v in headers.items() if k.lower() != "host"},
        timeout=30,
    )
    assert replay.status_code == 200, replay.text
    stored = _by(_read(live, workspace), "external_id", f"wire-{library}")
    assert [e["type"] for e in stored["events"]] == ["Viewed Product"]


def test_no_payload_reaches_the_logs(live: Live) -> None:
    # Runs after the deliveries above (module order): the server logged at DEBUG meanwhile.
    text = live.log_file.read_text(errors="replace") + live.server.log_tail(10**7)
    assert "segment messages ingested" in text
    for needle in PII:
        assert needle.lower() not in text.lower(), needle
