"""A privacy request's free text is never in clear at rest (SPEC §5.3): the requester's
`reference`, the Idempotency-Key and the extension's reason may name the person, so the first
and the last are sealed and the key is kept as its digest. The API, the UI and the callbacks
show them as before; rows stored before this keep working and the sweep seals them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text, update

from tests.compliance.privacy_requests.support import URL, by_email, create, settle
from tests.compliance.privacy_requests.test_migration import fresh_engine  # noqa: F401
from tests.fixtures.callback_receiver import Receiver, verify_signature
from tests.fixtures.factories import WorkspaceHandle, insert_bare_workspace, make_profile
from veil.compliance.privacy_requests import free_text
from veil.compliance.privacy_requests.repository import PrivacyRequestRepository
from veil.models import PrivacyCallback, PrivacyRequest
from veil.runtime import Runtime
from veil.schema import alembic_config
from veil.worker.queue import sweep

EMAIL = "gina.gifford@example.com"
REFERENCE = f"ticket for {EMAIL}"
KEY = f"erase-{EMAIL}"
REASON = f"Gina Gifford ({EMAIL}) sent 40 GB of order history to review"


def stored_text(runtime: Runtime) -> str:
    """Every column of every privacy request and delivery, as the database holds them."""
    with runtime.sessionmaker() as session:
        rows = [
            *session.execute(text("SELECT * FROM privacy_requests")).all(),
            *session.execute(text("SELECT * FROM privacy_request_callbacks")).all(),
        ]
    return "\n".join(repr(tuple(row)) for row in rows)


@pytest.fixture
def allow_private(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime.settings, "callback_allow_private", True)


@pytest.mark.usefixtures("allow_private")
def test_the_reference_key_and_reason_are_not_stored_in_clear(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email=EMAIL)
    body = by_email(EMAIL, type="access", reference=REFERENCE, callback_urls=[receiver.url])
    first = create(client, ws, body, **{"Idempotency-Key": KEY})
    assert first.status_code == 202, first.text
    request_id = first.json()["id"]
    extended = client.post(f"{URL}/{request_id}/extend", json={"reason": REASON}, headers=ws.admin)
    assert extended.status_code == 200, extended.text
    settle(runtime)

    # Shown as before: the API, the replay of the key, the request page and the callbacks.
    shown = client.get(f"{URL}/{request_id}", headers=ws.admin).json()
    assert shown["reference"] == REFERENCE and shown["extension_reason"] == REASON
    again = create(client, ws, body, **{"Idempotency-Key": KEY})
    assert again.status_code == 200 and again.json()["id"] == request_id
    other = create(client, ws, {**body, "reference": "T-2"}, **{"Idempotency-Key": KEY})
    assert other.status_code == 409
    assert receiver.received, "no callback was delivered"
    secret = client.get("/api/v1/workspace", headers=ws.admin).json()["callback_signing_secret"]
    for headers, raw, _path in receiver.received:
        verify_signature(secret, headers, raw)
        assert json.loads(raw)["reference"] == REFERENCE

    # Stored: no column of the request or its deliveries holds the email, in any of them.
    stored = stored_text(runtime)
    assert EMAIL not in stored and "Gina Gifford" not in stored
    with runtime.sessionmaker() as session:
        row = session.get_one(PrivacyRequest, request_id)
        assert row.reference is None and row.extension_reason is None
        assert row.reference_sealed and row.extension_reason_sealed
        assert row.idempotency_key == free_text.idempotency_digest(KEY)
        by_key = PrivacyRequestRepository(session, ws.id).by_idempotency_key(KEY)
        assert by_key is not None and by_key.id == request_id


def test_a_sealed_text_opens_only_for_its_own_request_and_field(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """Bound to workspace, request and field: a sealed reference copied onto another request
    (or into the reason column) does not open there."""
    ids = [
        create(client, ws, by_email(f"p{i}@example.com", reference=f"R-{i}")).json()["id"]
        for i in range(2)
    ]
    keyring = runtime.seal_keyring
    with runtime.sessionmaker.begin() as session:
        one, two = (session.get_one(PrivacyRequest, i) for i in ids)
        two.reference_sealed = one.reference_sealed
        one.extension_reason_sealed = one.reference_sealed
        session.flush()
        assert free_text.reference_of(keyring, one) == "R-0"
        assert free_text.reference_of(keyring, two) is None
        assert free_text.extension_reason_of(keyring, one) is None


@pytest.mark.usefixtures("allow_private")
def test_rows_stored_before_the_seal_are_read_and_then_sealed_by_the_sweep(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, receiver: Receiver
) -> None:
    receiver.script = [500] * 10  # the deliveries stay pending: one is sent after the seal
    body = by_email(EMAIL, reference="old", callback_urls=[receiver.url])
    request_id = create(client, ws, body).json()["id"]
    runtime.queue.drain()
    # As an earlier version stored them: plain columns, the reference inside the bodies.
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == request_id)
            .values(
                reference=REFERENCE,
                reference_sealed=None,
                extended=True,
                extension_reason=REASON,
                extension_reason_sealed=None,
            )
        )
        for delivery in session.scalars(select(PrivacyCallback)):
            document: dict[str, Any] = json.loads(delivery.body)
            delivery.body = json.dumps({**document, "reference": REFERENCE}, separators=(",", ":"))
    assert EMAIL in stored_text(runtime)
    shown = client.get(f"{URL}/{request_id}", headers=ws.admin).json()
    assert shown["reference"] == REFERENCE and shown["extension_reason"] == REASON

    with runtime.sessionmaker() as session:
        stored_bodies = len(session.scalars(select(PrivacyCallback)).all())
    assert stored_bodies >= 1
    assert free_text.seal_plain_text(runtime) == 1 + stored_bodies  # the request, its bodies
    assert EMAIL not in stored_text(runtime)
    shown = client.get(f"{URL}/{request_id}", headers=ws.admin).json()
    assert shown["reference"] == REFERENCE and shown["extension_reason"] == REASON
    assert free_text.seal_plain_text(runtime) == 0  # nothing left: not searched again

    receiver.script = []
    received = len(receiver.received)
    with runtime.sessionmaker.begin() as session:
        session.execute(update(PrivacyCallback).values(next_attempt_at=None))
    sweep(runtime)
    runtime.queue.drain()
    assert len(receiver.received) > received
    assert json.loads(receiver.received[-1][1])["reference"] == REFERENCE


def test_the_migration_keeps_stored_keys_only_as_their_digest(
    fresh_engine: Engine,  # noqa: F811
) -> None:
    """A key stored before the upgrade is replaced by its digest, and found again by it."""
    config = alembic_config()
    before = ScriptDirectory.from_config(config).get_revision("privacy_request_free_text")
    with fresh_engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, str(before.down_revision))
        insert_bare_workspace(conn)
        conn.execute(
            text(
                "INSERT INTO privacy_requests (id, workspace_id, type, status, regulation, "
                "source, identities_sealed, received_at, due_at, extended, requested_by, "
                "suppress, profile_ids, export_ids, deletion_ids, callback_urls, "
                "idempotency_key, steps_started, attempts, created_at, updated_at) VALUES "
                "('prq_1', 'ws_1', 'access', 'completed', 'gdpr', 'api', 'x', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false, 'ops', false, '[]', '[]', '[]', "
                "'[]', :key, true, 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
            ),
            {"key": KEY},
        )
        command.upgrade(config, "head")
        stored = conn.execute(text("SELECT idempotency_key FROM privacy_requests")).scalar_one()
    assert stored == free_text.idempotency_digest(KEY) and EMAIL not in stored
