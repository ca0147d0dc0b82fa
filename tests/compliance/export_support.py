"""Shared setup for the export tests: a contact with a history, and HTTP shortcuts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.fixtures.factories import (
    WorkspaceHandle,
    make_campaign,
    make_event,
    make_profile,
    make_recipient,
)
from veil.kit.time import utcnow
from veil.models import ExportRequest
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


def error_code(response: Response) -> str:
    code: str = response.json()["error"]["code"]
    return code


def document(response: Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = json.loads(response.content)
    return body
