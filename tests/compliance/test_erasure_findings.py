"""Regression tests for the two findings of issue 14 (SPEC §5.3, §9), run on the test backend
(SQLite and PostgreSQL) and, for the raw bytes, on a SQLite data dir:

(a) a profile whose email was changed through the API and then deleted kept its OLD email in
    its event payloads, and the deletion record said `verified: true`;
(b) the full name written as `First+Last` / `First%20Last` in a stored URL, and the email
    percent-encoded (`%40`, `%2540`), survived erasure, also with `verified: true`.
"""

from __future__ import annotations

import html
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

# The SQLite data-dir runtime of the residue tests (fixtures used by name).
from tests.compliance.test_residue import data_dir, debug_runtime, find_residue  # noqa: F401
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_event, make_workspace
from veil.app import create_app
from veil.compliance.deletions.erasure import steps
from veil.compliance.deletions.erasure.steps import StepContext, StepResult
from veil.compliance.deletions.progress import Phase
from veil.kit.time import utcnow
from veil.models import Profile, ProfileIdentifier
from veil.runtime import Runtime

OLD_EMAIL = "ada.byron@example.com"
OLD_PHONE = "+14155550132"
NEW_EMAIL = "ada.lovelace@example.com"
FIRST, LAST = "Ada", "Lovelace"
BYSTANDER = "grace@example.com"

# Every form of finding (b), and the old email of finding (a), as they sit in stored payloads.
PAYLOADS: list[dict[str, Any]] = [
    {"note": f"Customer used to write from {OLD_EMAIL}", "sku": "TENT-2P"},
    {"url": f"https://shop.example/account?email={OLD_EMAIL.replace('@', '%40')}", "qty": 1},
    {"referrer": f"https://mail.example/c?to={OLD_EMAIL.replace('@', '%2540')}&x=1"},
    {"page": {"url": "https://shop.example/gift?to=Ada+Lovelace&sku=MUG-1"}},
    {"order": {"landing_site": "/checkout?name=Ada%20Lovelace", "total": "19.90"}},
    {"order": {"note_attributes": [{"value": "for=ada%2520lovelace"}], "currency": "EUR"}},
    {"search": f"/search?q={NEW_EMAIL.upper().replace('@', '%40')}"},
    # A stored e-mail body and a JSON document kept in a string (docs/erasure.md's forms).
    {"body_html": f"<p>Dear Ada&nbsp;Lovelace,</p><p>{OLD_EMAIL.replace('@', '&#64;')}</p>"},
    {"raw": '{"buyer":"Ada\\u0020Lovelace","url":"https:\\/\\/shop.example\\/"}', "qty": 2},
]
NEEDLES = [
    OLD_EMAIL,
    OLD_EMAIL.replace("@", "%40"),
    OLD_EMAIL.replace("@", "%2540"),
    NEW_EMAIL,
    NEW_EMAIL.replace("@", "%40"),
    "4155550132",
    "Ada+Lovelace",
    "Ada%20Lovelace",
    "ada%2520lovelace",
    "Ada Lovelace",
    "Ada&nbsp;Lovelace",
    "byron&#64;example",
    "Ada\\\\u0020Lovelace",  # as the JSON text stores it
]


def reveals_the_subject(text: str) -> bool:
    """Independent of the scrubber: every encoding undone, then a plain search."""
    for _ in range(3):
        text = html.unescape(unquote_plus(text)).replace("\\u0020", " ")
    text = " ".join(text.casefold().split())
    return any(n in text for n in (OLD_EMAIL, NEW_EMAIL, "ada lovelace", "4155550132"))


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (k, *strings(v))]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def build_subject(client: TestClient, ws: WorkspaceHandle) -> str:
    """The person as the findings met them: events written with the old email, then the
    email changed through the API (rectification and upsert alike), then a Segment page call."""
    created = client.post(
        "/api/v1/profiles",
        json={
            "email": OLD_EMAIL,
            "phone": OLD_PHONE,
            "external_id": "c-1815",
            "first_name": FIRST,
            "last_name": LAST,
        },
        headers=ws.member,
    )
    assert created.status_code == 201, created.text
    profile_id: str = created.json()["id"]
    events = [
        {"type": "Viewed Page", "profile": {"id": profile_id}, "properties": p} for p in PAYLOADS
    ]
    events.append(
        {"type": "Viewed Page", "profile": {"email": BYSTANDER}, "properties": {"sku": "B"}}
    )
    batch = client.post("/api/v1/events/batch", json={"events": events}, headers=ws.member)
    assert batch.status_code == 202, batch.text
    changed = client.patch(
        f"/api/v1/profiles/{profile_id}", json={"email": NEW_EMAIL}, headers=ws.member
    )
    assert changed.status_code == 200, changed.text
    moved = client.post(
        "/api/v1/profiles",
        json={"external_id": "c-1815", "phone": "+14155550199"},
        headers=ws.member,
    )
    assert moved.status_code == 200 and moved.json()["id"] == profile_id
    page = client.post(
        "/v1/page",
        json={
            "userId": "c-1815",
            "name": "Account",
            "context": {"page": {"url": "https://shop.example/hi?n=Ada+Lovelace"}},
            "properties": {"search": "ada%2520lovelace"},
        },
        auth=(ws.write_key, ""),
    )
    assert page.status_code == 200, page.text
    return profile_id


def delete(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> str:
    response = client.post(
        f"/api/v1/profiles/{profile_id}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def event_properties(client: TestClient, ws: WorkspaceHandle, profile_id: str) -> list[Any]:
    response = client.get(
        f"/api/v1/profiles/{profile_id}/events", params={"limit": 500}, headers=ws.admin
    )
    assert response.status_code == 200, response.text
    return [e["properties"] for e in response.json()["data"]]


def test_the_old_email_and_every_encoded_form_are_erased_and_verified(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = build_subject(client, ws)
    before = event_properties(client, ws, profile_id)
    assert len(before) == len(PAYLOADS) + 1
    assert sum(any(map(reveals_the_subject, strings(p))) for p in before) == len(PAYLOADS) + 1

    deletion_id = delete(client, ws, profile_id)
    run_jobs(runtime)
    record = client.get(f"/api/v1/compliance/deletions/{deletion_id}", headers=ws.admin).json()
    assert record["status"] == "completed"
    assert record["summary"]["verified"] is True
    assert record["summary"]["events_scrubbed"] == len(PAYLOADS) + 1
    # The old email (PATCH) and the old phone (upsert): two previous identifiers.
    assert record["summary"]["identifiers_deleted"] == 2

    after = event_properties(client, ws, profile_id)
    for properties in after:
        assert not any(map(reveals_the_subject, strings(properties))), properties
    # Non-personal data stays.
    kept = {s for p in after for s in strings(p)}
    assert {"TENT-2P", "EUR", "19.90"} <= kept
    with runtime.sessionmaker() as session:
        left = session.scalar(
            select(func.count())
            .select_from(ProfileIdentifier)
            .where(ProfileIdentifier.profile_id == profile_id)
        )
    assert left == 0  # the identifier history went with the profile
    # The bystander is untouched.
    bystander = client.get("/api/v1/profiles", params={"query": BYSTANDER}, headers=ws.admin)
    assert bystander.json()["data"][0]["email"] == BYSTANDER


@pytest.mark.parametrize(
    "planted",
    [
        f"note from {OLD_EMAIL}",  # finding (a): a previous identifier, as is
        f"https://shop.example/?e={OLD_EMAIL.replace('@', '%2540')}",
        "https://shop.example/?to=Ada+Lovelace",  # finding (b)
        "https://shop.example/?to=ada%2520LOVELACE",
        f"<p>{OLD_EMAIL.replace('@', '&#x40;')}</p>",
        '{"to": "Ada\\u0020Lovelace"}',
    ],
)
def test_a_form_planted_after_the_scrub_is_reported_unverified(
    client: TestClient,
    runtime: Runtime,
    ws: WorkspaceHandle,
    monkeypatch: pytest.MonkeyPatch,
    planted: str,
) -> None:
    """Verification is honest: what slips in after the events step (on every pass, so the
    second pass cannot clean it either) is found, and the record says `verified: false`."""
    profile_id = build_subject(client, ws)

    class PlantAfterTheScrub(steps.ClearProfile):
        def run(self, ctx: StepContext) -> StepResult:
            make_event(
                ctx.session,
                profile=ctx.session.get_one(Profile, profile_id),
                properties={"context": {"page": {"url": planted}}},
                timestamp=utcnow() - timedelta(days=1),
            )
            ctx.session.flush()
            return super().run(ctx)

    monkeypatch.setattr(
        steps,
        "STEPS",
        tuple(PlantAfterTheScrub() if s.phase is Phase.PROFILE else s for s in steps.STEPS),
    )
    deletion_id = delete(client, ws, profile_id)
    run_jobs(runtime)
    record = client.get(f"/api/v1/compliance/deletions/{deletion_id}", headers=ws.admin).json()
    assert record["status"] == "completed"
    assert record["summary"]["verified"] is False


def test_nothing_of_the_findings_is_left_in_the_data_dir(
    debug_runtime: Runtime,  # noqa: F811
    data_dir: Path,  # noqa: F811
) -> None:
    runtime = debug_runtime
    ws = make_workspace(runtime, name="Acme Store")
    with TestClient(create_app(runtime)) as client:
        profile_id = build_subject(client, ws)
        runtime.queue.drain()
        before = find_residue(data_dir, NEEDLES)
        assert any(r.startswith("veil.db") and OLD_EMAIL in r for r in before), before
        assert any("Ada+Lovelace" in r for r in before) and any("%2540" in r for r in before)
        deletion_id = delete(client, ws, profile_id)
        assert runtime.queue.drain() == 2  # the erasure, then its privacy request's check
        record = client.get(f"/api/v1/compliance/deletions/{deletion_id}", headers=ws.admin)
        assert record.json()["summary"]["verified"] is True
    # Searched while the app still runs (connections, -wal and -shm in place), then after.
    assert find_residue(data_dir, NEEDLES) == []
    assert find_residue(data_dir, [BYSTANDER]) != []  # the search looks at live data
    runtime.dispose()
    assert find_residue(data_dir, NEEDLES) == []
