"""Email identity (issue 16 item 6): email-validator decides syntax and IDNA, offline; an
address with an internationalised domain is one person in either spelling, erasure finds both
spellings, and the migration re-normalises stored emails without merging anybody."""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.errors import ValidationFailed
from veil.models import Event, Profile, User
from veil.profiles.identifiers import email_forms, normalize_email
from veil.runtime import Runtime

UNICODE = "ada@bücher.de"
ASCII = "ada@xn--bcher-kva.de"
MIGRATION = next(
    (Path(__file__).parents[2] / "src/veil/migrations/versions").glob("*_renormalise_emails.py")
)


@pytest.mark.parametrize("text", [UNICODE, ASCII, "ADA@XN--BCHER-KVA.DE", " Ada@Bücher.DE "])
def test_both_spellings_of_an_idn_address_are_one_canonical_email(text: str) -> None:
    # The canonical stored form: lower-cased, the domain in Unicode (docs/api.md).
    assert normalize_email(text) == UNICODE
    assert set(email_forms(text)) == {UNICODE, ASCII}


@pytest.mark.parametrize(
    "text",
    ["a@b..com", "a@b", "ada@@example.com", ".ada@example.com", "ada@-bücher.de", "a b@c.de"],
)
def test_malformed_addresses_are_refused_without_echoing_them(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        normalize_email(text)
    assert text not in refused.value.message


def test_normalising_never_asks_the_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    import dns.resolver

    def no_network(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("normalize_email must not resolve names")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(dns.resolver.Resolver, "resolve", no_network)
    assert normalize_email("someone@veil-unregistered-domain-for-tests.com") is not None


def test_an_idn_address_in_either_spelling_resolves_to_one_profile(
    client: TestClient, ws: WorkspaceHandle
) -> None:
    first = client.post("/api/v1/profiles", json={"email": UNICODE}, headers=ws.admin)
    assert first.status_code == 201, first.text
    assert first.json()["email"] == UNICODE
    event = client.post(
        "/api/v1/events", json={"type": "Viewed", "profile": {"email": ASCII}}, headers=ws.admin
    )
    assert event.status_code == 202, event.text
    assert event.json()["profile_id"] == first.json()["id"]
    refused = client.post("/api/v1/profiles", json={"email": "a@b..com"}, headers=ws.admin)
    assert refused.status_code == 422


def test_erasure_removes_both_spellings_from_event_history(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile = client.post("/api/v1/profiles", json={"email": ASCII}, headers=ws.admin).json()
    for note in (f"reply to {ASCII} please", f"mail {UNICODE.upper()} today"):
        response = client.post(
            "/api/v1/events",
            json={"type": "Note", "profile": {"id": profile["id"]}, "properties": {"note": note}},
            headers=ws.admin,
        )
        assert response.status_code == 202, response.text
    deleted = client.post(
        f"/api/v1/profiles/{profile['id']}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert deleted.status_code == 202, deleted.text
    run_jobs(runtime)
    with runtime.sessionmaker() as session:
        notes = session.scalars(select(Event.properties).where(Event.profile_id == profile["id"]))
        text = " ".join(str(p) for p in notes).lower()
    assert "bücher" not in text and "xn--bcher-kva" not in text, text


# -- the migration ---------------------------------------------------------------------------


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("renormalise_emails", MIGRATION)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_renormalises_and_reports_collisions_without_merging(
    runtime: Runtime,
    ws: WorkspaceHandle,
    other_ws: WorkspaceHandle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Rows written as the old code stored them (only lower-cased), then the migration's step."""
    with runtime.sessionmaker.begin() as session:
        lone = make_profile(session, workspace_id=ws.id, email=ASCII).id
        twin_a = make_profile(session, workspace_id=ws.id, email="bob@xn--bcher-kva.de").id
        twin_b = make_profile(session, workspace_id=ws.id, email="bob@bücher.de").id
        elsewhere = make_profile(session, workspace_id=other_ws.id, email=UNICODE).id
        broken = make_profile(session, workspace_id=ws.id, email="eve@b..com").id
        deleted = make_profile(session, workspace_id=ws.id, email="zoe@xn--bcher-kva.de")
        deleted.status = "deleted"
        session.add(User(id="usr_idn", email="owner@xn--bcher-kva.de", password_hash="x"))
    migration = _migration()
    with caplog.at_level(logging.INFO, logger="veil.migrations"), runtime.engine.begin() as conn:
        report = migration.renormalise(conn, "profiles", scope="workspace_id")
        users = migration.renormalise(conn, "users", scope=None)
    assert (report.updated, report.invalid, report.collisions) == (1, 1, sorted([twin_a, twin_b]))
    assert users.updated == 1
    with runtime.sessionmaker() as session:
        email = {p.id: p.email for p in session.scalars(select(Profile))}
        assert session.get(User, "usr_idn").email == "owner@bücher.de"  # type: ignore[union-attr]
    assert email[lone] == UNICODE
    assert email[elsewhere] == UNICODE  # another workspace: no collision
    assert (email[twin_a], email[twin_b]) == ("bob@xn--bcher-kva.de", "bob@bücher.de")
    assert email[broken] == "eve@b..com"
    assert email[deleted.id] == "zoe@xn--bcher-kva.de"  # only active profiles are touched


def test_the_migration_logs_ids_and_counts_never_an_address(
    runtime: Runtime, ws: WorkspaceHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with runtime.sessionmaker.begin() as session:
        twin = make_profile(session, workspace_id=ws.id, email="bob@xn--bcher-kva.de").id
        make_profile(session, workspace_id=ws.id, email="bob@bücher.de")
    migration = _migration()
    with caplog.at_level(logging.INFO, logger="veil.migrations"), runtime.engine.begin() as conn:
        original = migration.op
        migration.op = type("Op", (), {"get_bind": staticmethod(lambda: conn)})
        try:
            migration.upgrade()
        finally:
            migration.op = original
    records = [r for r in caplog.records if r.name == "veil.migrations"]
    assert records
    logged = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in records)
    assert twin in logged and "collisions_left_unchanged" in logged
    assert "bücher" not in logged and "xn--bcher" not in logged and "bob" not in logged
