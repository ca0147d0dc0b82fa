"""Hostile UI forms (issue 16 item 3 and the UI's fuzz): a NUL in any field, urlencoded or
multipart, is refused by the input guard before a handler runs; and arbitrary fields (NULs,
odd Unicode, either body encoding) posted with a valid session and CSRF token to every UI
form route never answer 500."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.compliance.export_support import make_subject
from tests.fixtures.factories import WorkspaceHandle
from tests.web.conftest import _CSRF, Browser
from veil.models import ApiKey, Workspace
from veil.runtime import Runtime
from veil.web import auth, campaigns, compliance, profiles, rights
from veil.web import settings as settings_pages

# What each UI form route reads (its Form() fields): a new route fails
# test_every_ui_form_route_is_fuzzed until it is added here.
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "/login": ("email", "password", "next"),
    "/logout": (),
    "/workspace/switch": ("workspace_id",),
    "/profiles/search": ("q",),
    "/profiles/{profile_id}/export": (),
    "/profiles/{profile_id}/delete": ("confirm", "suppress"),
    "/profiles/{profile_id}/restrict": ("reason",),
    "/profiles/{profile_id}/unrestrict": (),
    "/settings/compliance/suppressions/{suppression_id}/lift": (),
    "/settings/compliance/exports/{export_id}/download": (),
    "/settings/compliance/exports/{export_id}/retry": (),
    "/settings/workspace/general": ("name", "default_phone_region"),
    "/settings/workspace/pii-keys": ("pii_keys",),
    "/settings/workspace/retention": (
        "retention_events",
        "retention_inactive_profiles",
        "suppress_on_delete",
    ),
    "/settings/workspace/shopify-secret": ("secret", "remove"),
    "/settings/workspace/write-key/reveal": (),
    "/settings/workspace/keys": ("name", "role"),
    "/settings/workspace/keys/{key_id}/revoke": (),
}


def _ui_post_routes() -> list[str]:
    return sorted(
        route.path
        for module in (auth, profiles, compliance, rights, campaigns, settings_pages)
        for route in module.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    )


def test_every_ui_form_route_is_fuzzed() -> None:
    assert _ui_post_routes() == sorted(FORM_FIELDS)


def _multipart(client: TestClient, path: str, data: dict[str, str]) -> Any:
    # A file part forces multipart/form-data even for a form without files.
    return client.post(
        path, data=data, files={"attachment": ("a.txt", b"x")}, follow_redirects=False
    )


# -- NUL characters: 422 from the guard, nothing stored ------------------------------------------

NUL_FORMS = [
    ("/profiles/search", {"q": "ada\x00"}),
    ("/settings/workspace/general", {"name": "Acme\x00Store", "default_phone_region": "US"}),
    ("/settings/workspace/keys", {"name": "sync\x00key", "role": "member"}),
    ("/settings/workspace/pii-keys", {"pii_keys": "loyalty\x00id"}),
    ("/settings/workspace/shopify-secret", {"secret": "shpss_\x00"}),
]


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize(("path", "form"), NUL_FORMS, ids=[p for p, _ in NUL_FORMS])
def test_a_nul_in_any_ui_form_is_refused_before_the_handler(
    runtime: Runtime,
    ws: WorkspaceHandle,
    admin: Browser,
    path: str,
    form: dict[str, str],
    encoding: str,
) -> None:
    data = {**form, "csrf_token": admin.csrf()}
    if encoding == "multipart":
        response = _multipart(admin.client, path, data)
    else:
        response = admin.client.post(path, data=data, follow_redirects=False)
    assert response.status_code == 422, response.text
    with runtime.sessionmaker() as session:
        assert session.scalar(select(Workspace.name).where(Workspace.id == ws.id)) == "Acme Store"
        assert all("\x00" not in name for name in session.scalars(select(ApiKey.name)))


def test_a_nul_in_a_multipart_field_name_or_file_is_refused(admin: Browser) -> None:
    token = admin.csrf()
    # Written by hand: httpx would percent-encode the NUL in a part's name.
    body = (
        b'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--b\r\nContent-Disposition: form-data; name="q\x00"\r\n\r\nx\r\n--b--\r\n'
    )
    named = admin.client.post(
        "/profiles/search",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert named.status_code == 422, named.text
    in_file = admin.client.post(
        "/profiles/search",
        data={"csrf_token": token, "q": "ada"},
        files={"f": ("a.csv", b"email\nada\x00@example.com\n")},
    )
    assert in_file.status_code == 422


def test_a_form_without_nul_still_goes_through(admin: Browser) -> None:
    token = admin.csrf()
    ok = _multipart(admin.client, "/profiles/search", {"csrf_token": token, "q": "ada"})
    assert ok.status_code in (200, 303), ok.text
    ok = admin.client.post("/profiles/search", data={"csrf_token": token, "q": "ada%00"})
    assert ok.status_code in (200, 303), ok.text  # the text "%00" typed by a person


# -- the fuzz -------------------------------------------------------------------------------------

_ODD = st.sampled_from(
    ["\x00", "\u202e", "\ufeff", "\u0301", "𝔘𝔫𝔦", "\U0001f600", "\r\n", "%00", "\\u0000", "'\"<>&"]
)
_VALUE = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=60),
    st.lists(
        st.one_of(
            _ODD,
            st.text(max_size=5).filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t)),
        ),
        max_size=6,
    ).map("".join),
)
_FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
    database=None,
)


@pytest.fixture
def ids(runtime: Runtime, ws: WorkspaceHandle, client: TestClient) -> dict[str, str]:
    subject = make_subject(runtime, ws)
    export = client.post(f"/api/v1/profiles/{subject.profile_id}/export", headers=ws.admin)
    assert export.status_code == 202, export.text
    key = client.post("/api/v1/workspace/keys", json={"role": "member"}, headers=ws.admin)
    return {
        "suppression_id": "sup_unknown",
        "profile_id": subject.profile_id,
        "export_id": export.json()["id"],
        "key_id": key.json()["id"],
    }


def _fill(path: str, ids: dict[str, str], choice: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return ids[name] if choice == "known" else "x" + name

    return re.sub(r"\{(\w+)\}", value, path)


@pytest.mark.parametrize("route", sorted(FORM_FIELDS))
def test_arbitrary_ui_form_fields_never_answer_500(
    route: str,
    ids: dict[str, str],
    browser_for: Callable[[str], Browser],
    admin: Browser,
) -> None:
    token = admin.csrf()

    @given(
        values=st.fixed_dictionaries({name: _VALUE for name in FORM_FIELDS[route]}),
        extra=st.dictionaries(_VALUE.filter(bool), _VALUE, max_size=2),
        multipart=st.booleans(),
        which=st.sampled_from(["known", "unknown"]),
    )
    @_FUZZ
    def posts(values: dict[str, str], extra: dict[str, str], multipart: bool, which: str) -> None:
        path = _fill(route, ids, which)
        data = {**extra, **values}
        if route == "/login":
            page = admin.client.get("/login")
            match = _CSRF.search(page.text)
            data["csrf_token"] = match.group(1) if match else ""
        else:
            data["csrf_token"] = token
        if multipart:
            response = _multipart(admin.client, path, data)
        else:
            response = admin.client.post(path, data=data, follow_redirects=False)
        assert response.status_code < 500, (path, response.status_code, response.text[:300])

    posts()
