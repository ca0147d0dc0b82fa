"""Compliance requests are rate limited per workspace (API and UI share the budget):
`429 rate_limited` in SPEC's error shape with Retry-After, nothing stored for a refused one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.compliance.export_support import make_subject, runtime_with
from tests.fixtures.factories import WorkspaceHandle, make_profile, make_workspace
from tests.fixtures.http import assert_error
from tests.web.conftest import add_user, sign_in
from veil.app import create_app
from veil.models import DeletionRequest, ExportRequest
from veil.runtime import Runtime

LIMIT = 3


@pytest.fixture
def limited(runtime: Runtime) -> Iterator[tuple[Runtime, TestClient]]:
    rt = runtime_with(runtime, compliance_rate_per_minute=LIMIT)
    with TestClient(create_app(rt), raise_server_exceptions=False) as client:
        yield rt, client


def count(rt: Runtime, model: type) -> int:
    with rt.sessionmaker() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def contacts(rt: Runtime, ws: WorkspaceHandle, n: int) -> list[str]:
    with rt.sessionmaker.begin() as session:
        return [
            make_profile(session, workspace_id=ws.id, email=f"c{i}@example.com").id
            for i in range(n)
        ]


def test_exports_and_deletions_share_a_per_workspace_limit(
    limited: tuple[Runtime, TestClient], ws: WorkspaceHandle
) -> None:
    rt, client = limited
    other = make_workspace(rt, name="Other")
    ids = contacts(rt, ws, 5)
    assert client.post(f"/api/v1/profiles/{ids[0]}/export", headers=ws.admin).status_code == 202
    assert client.post(f"/api/v1/profiles/{ids[1]}/export", headers=ws.admin).status_code == 202
    gone = client.post(
        f"/api/v1/profiles/{ids[2]}/delete", json={"confirm": True}, headers=ws.admin
    )
    assert gone.status_code == 202

    for response in (
        client.post(f"/api/v1/profiles/{ids[3]}/export", headers=ws.admin),
        client.post(f"/api/v1/profiles/{ids[4]}/delete", json={"confirm": True}, headers=ws.admin),
    ):
        assert "wait a minute" in assert_error(response, 429, "rate_limited")
        assert 1 <= int(response.headers["retry-after"]) <= 60
    assert count(rt, ExportRequest) == 2 and count(rt, DeletionRequest) == 1

    # Another workspace has its own budget; reads are not limited.
    [theirs] = contacts(rt, other, 1)
    assert client.post(f"/api/v1/profiles/{theirs}/export", headers=other.admin).status_code == 202
    assert client.get("/api/v1/compliance/exports", headers=ws.admin).status_code == 200


def test_refused_attempts_count_too(
    limited: tuple[Runtime, TestClient], ws: WorkspaceHandle
) -> None:
    rt, client = limited
    subject = make_subject(rt, ws)
    answers = [
        client.post(f"/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin).status_code
        for _ in range(LIMIT + 1)
    ]
    assert answers == [202, 409, 409, 429]


def test_the_ui_forms_count_against_the_same_limit(
    limited: tuple[Runtime, TestClient], ws: WorkspaceHandle
) -> None:
    rt, client = limited
    ids = contacts(rt, ws, LIMIT + 1)
    for profile_id in ids[:LIMIT]:
        assert (
            client.post(f"/api/v1/profiles/{profile_id}/export", headers=ws.admin).status_code
            == 202
        )
    add_user(rt, workspace_id=ws.id, email="owner@acme.test", role="admin")
    assert sign_in(client, "owner@acme.test").status_code == 303
    page = client.get(f"/profiles/{ids[LIMIT]}")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        f"/profiles/{ids[LIMIT]}/export", data={"csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 429
    assert "wait a minute" in response.text and "<html" in response.text.lower()
    assert count(rt, ExportRequest) == LIMIT
