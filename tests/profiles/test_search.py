"""Profile search (issue 16 item 5): exact about what was typed, case-insensitive in any
script, the same on SQLite and PostgreSQL, through the API and the UI's repository alike."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.runtime import Runtime


@pytest.fixture
def people(runtime: Runtime, ws: WorkspaceHandle) -> dict[str, str]:
    rows = {
        "john": ("john_doe@example.com", "John", "Doe"),
        "johnx": ("johnxdoe@example.com", "Johnny", "Xdoe"),
        "gabriel": ("gabriel@example.com", "Gabriel", "Garcia"),
        "asa": ("asa@example.se", "Åsa", "Ångström"),
        "omega": ("omega@example.gr", "Ωμέγα", "Δέλτα"),
        "percent": ("promo50@example.com", "Fifty", "Percent"),
    }
    ids: dict[str, str] = {}
    with runtime.sessionmaker.begin() as session:
        for key, (email, first, last) in rows.items():
            profile = make_profile(
                session, workspace_id=ws.id, email=email, first_name=first, last_name=last
            )
            ids[key] = profile.id
    return ids


def _found(client: TestClient, ws: WorkspaceHandle, query: str) -> set[str]:
    response = client.get("/api/v1/profiles", params={"query": query}, headers=ws.admin)
    assert response.status_code == 200, response.text
    return {p["id"] for p in response.json()["data"]}


def test_an_email_with_an_underscore_is_found_by_its_exact_address(
    client: TestClient, ws: WorkspaceHandle, people: dict[str, str]
) -> None:
    assert _found(client, ws, "john_doe@example.com") == {people["john"]}
    assert _found(client, ws, "JOHN_DOE@Example.com") == {people["john"]}


def test_underscore_and_percent_are_literal_not_wildcards(
    client: TestClient, ws: WorkspaceHandle, people: dict[str, str]
) -> None:
    assert _found(client, ws, "a_b") == set()  # not "Gabriel"
    assert _found(client, ws, "n_d") == {people["john"]}  # john_doe, not johnxdoe
    assert _found(client, ws, "50%") == set()
    assert _found(client, ws, "%") == set()
    assert _found(client, ws, "\\") == set()


@pytest.mark.parametrize("query", ["åsa", "ÅSA", "Åsa Ångström", "ångström", "ÅNGSTRÖM"])
def test_names_with_non_ascii_capitals_are_found_in_any_case(
    client: TestClient, ws: WorkspaceHandle, people: dict[str, str], query: str
) -> None:
    assert _found(client, ws, query) == {people["asa"]}


@pytest.mark.parametrize("query", ["ωμέγα", "ΩΜΈΓΑ", "δέλτα"])
def test_greek_names_are_found_in_any_case(
    client: TestClient, ws: WorkspaceHandle, people: dict[str, str], query: str
) -> None:
    assert _found(client, ws, query) == {people["omega"]}
