"""Shared setup for the export tests: a contact with a history, and HTTP shortcuts."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import insert

from tests.conftest import TEST_SECRET
from tests.fixtures.factories import (
    WorkspaceHandle,
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
)
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import Event, ExportRequest
from veil.runtime import Runtime

EMAIL = "ada.lovelace@example.com"
PHONE = "+14155550132"
FIRST, LAST = "Augusta", "Kingsbury"


@dataclass
class Subject:
    profile_id: str
    event_ids: list[str]
    recipient_id: str
    campaign_id: str


def make_subject(
    runtime: Runtime,
    ws: WorkspaceHandle,
    *,
    email: str | None = EMAIL,
    phone: str | None = PHONE,
    events: int = 3,
    external_id: str | None = None,
) -> Subject:
    """A contact with consents, `events` orders (inserted newest first), one email message
    with an open and a click."""
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(
            session,
            workspace_id=ws.id,
            email=email,
            phone=phone,
            first_name=FIRST,
            last_name=LAST,
            external_id=external_id,
            properties={"city": "London", "vip": True},
            consent={"email": "subscribed", "sms": "unsubscribed"},
        )
        campaign = make_campaign(session, workspace_id=ws.id, name="Winter Sale")
        recipient = make_recipient(session, campaign=campaign, profile=profile)
        now = utcnow()
        event_ids = []
        for index in range(events):
            event = make_event(
                session,
                profile=profile,
                type="Placed Order",
                timestamp=now - timedelta(minutes=index + 10),
                properties={"order_id": 1000 + index, "items": [{"sku": "SKU-1", "qty": 1}]},
            )
            event_ids.append(event.id)
        opened = make_event(
            session,
            profile=profile,
            type="Opened Email",
            source="tracking",
            timestamp=now - timedelta(minutes=2),
            campaign_id=campaign.id,
            recipient_id=recipient.id,
        )
        clicked = make_event(
            session,
            profile=profile,
            type="Clicked Email",
            source="tracking",
            timestamp=now - timedelta(minutes=1),
            properties={"url": "https://shop.example.com/sale"},
            campaign_id=campaign.id,
            recipient_id=recipient.id,
        )
        session.flush()
        return Subject(
            profile_id=profile.id,
            event_ids=[*reversed(event_ids), opened.id, clicked.id],
            recipient_id=recipient.id,
            campaign_id=campaign.id,
        )


def request_export(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> Response:
    return client.post(f"/api/v1/profiles/{profile_id}/export", headers=ws.admin)


def download(client: TestClient, ws: WorkspaceHandle, export_id: str) -> Response:
    return client.get(f"/api/v1/compliance/exports/{export_id}/download", headers=ws.admin)


def get_export(client: TestClient, ws: WorkspaceHandle, export_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/compliance/exports/{export_id}", headers=ws.admin)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def export_row(runtime: Runtime, export_id: str) -> ExportRequest:
    with runtime.sessionmaker() as session:
        row = session.get(ExportRequest, export_id)
        assert row is not None
        session.expunge(row)
        return row


def stored_file(runtime: Runtime, export_id: str) -> Path:
    key = export_row(runtime, export_id).file_key
    assert key is not None
    return runtime.settings.resolved_export_store / key


def store_files(runtime: Runtime) -> list[Path]:
    root = runtime.settings.resolved_export_store
    return sorted(p for p in root.iterdir() if p.is_file()) if root.exists() else []


def break_store(runtime: Runtime) -> Path:
    """A broken export store (a regular file where its folder should be): writes fail.
    Returns the path; unlink it to repair the store."""
    store = runtime.settings.resolved_export_store
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(b"")
    return store


def error_code(response: Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def document(response: Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = json.loads(response.content)
    return body


def veil_executable() -> str:
    return str(Path(sys.executable).parent / "veil")


def subprocess_env(runtime: Runtime, database_url: str, **overrides: str) -> dict[str, str]:
    """Environment for a `veil` process acting on this test's database and data dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("VEIL_") or key == "VEIL_TEST_DATABASE_URL"
    }
    env.update(
        {
            "VEIL_ENV": "test",
            "VEIL_DATABASE_URL": database_url,
            "VEIL_DATA_DIR": str(runtime.settings.data_dir),
            "VEIL_SECRET_KEY": TEST_SECRET,
            "VEIL_LOG_LEVEL": "WARNING",
        }
    )
    env.update({f"VEIL_{key.upper()}": value for key, value in overrides.items()})
    return env


def seed_events(
    runtime: Runtime, *, workspace_id: str, profile_id: str, count: int, padding: int = 0
) -> None:
    """`count` order events of a realistic size (plus `padding` bytes of a note), in batches."""
    start = utcnow()
    batch: list[dict[str, Any]] = []
    for index in range(count):
        batch.append(
            {
                "id": new_id("evt"),
                "workspace_id": workspace_id,
                "profile_id": profile_id,
                "type": "Placed Order",
                "timestamp": start.replace(microsecond=index % 1_000_000),
                "received_at": start,
                "source": "shopify",
                "properties": {
                    "order_id": 100_000 + index,
                    **({"gift_note": "x" * padding} if padding else {}),
                    "currency": "EUR",
                    "total_price": "129.90",
                    "line_items": [
                        {"sku": "SKU-1", "product_id": 9001, "price": "59.95", "quantity": 1},
                        {"sku": "SKU-2", "product_id": 9002, "price": "34.975", "quantity": 2},
                    ],
                },
            }
        )
        if len(batch) == 10_000:
            with runtime.sessionmaker.begin() as session:
                session.execute(insert(Event), batch)
            batch = []
    if batch:
        with runtime.sessionmaker.begin() as session:
            session.execute(insert(Event), batch)


def runtime_with(runtime: Runtime, **overrides: Any) -> Runtime:
    """Another process's view: the same database, data dir and secret, other settings."""
    other = Runtime(runtime.settings.model_copy(update=overrides), engine=runtime.engine)
    return other


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextmanager
def veil_process(
    args: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `veil <args>`; stopped (SIGTERM, then SIGKILL) when the block ends."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [veil_executable(), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


@contextmanager
def veil_server(
    runtime: Runtime, database_url: str, log: Path, *args: str, **settings: str
) -> Iterator[str]:
    """`veil serve` on a free port; yields its base URL once it answers."""
    port = free_port()
    env = subprocess_env(runtime, database_url, **settings)
    with veil_process(["serve", "--port", str(port), *args], env, log) as process:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(process, f"{base}/healthz", log)
        yield base


def wait_for_http(
    process: subprocess.Popen[bytes], url: str, log: Path, *, timeout: float = 180
) -> None:
    """Until `url` answers 200 (failing at once, with the log's tail, if the process died)."""

    def up() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(up, timeout=timeout, what=url)
