"""Signing in and out, session cookies, CSRF, rate limiting and switching workspace."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.conftest import make_settings
from tests.fixtures.factories import make_profile, make_workspace
from tests.web.conftest import PASSWORD, add_user, sign_in
from veil.app import create_app
from veil.kit.time import utcnow
from veil.models import WebSession
from veil.runtime import Runtime


def test_pages_need_a_login(client, ws):
    for path in (
        "/profiles",
        "/profiles/prf_x",
        "/campaigns",
        "/settings/workspace",
        "/settings/compliance",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    assert client.get("/", follow_redirects=True).url.path == "/login"


def test_sign_in_sets_an_httponly_lax_cookie_holding_a_token_stored_only_hashed(
    runtime, client, ws
):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    response = sign_in(client, "Owner@Acme.test ")
    assert response.status_code == 303
    assert response.headers["location"] == "/profiles"
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith("veil_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain HTTP, cookie_secure unset
    token = client.cookies.get("veil_session")
    with runtime.sessionmaker() as session:
        row = session.scalar(select(WebSession))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.token_hash, row.csrf_token, row.id)
    page = client.get("/profiles")
    assert page.status_code == 200
    assert "owner@acme.test" in page.text


def test_cookie_is_secure_over_https_or_when_forced(runtime, ws, tmp_path, database_url):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    with TestClient(create_app(runtime), base_url="https://veil.test") as https:
        response = sign_in(https, "owner@acme.test")
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()
    forced = Runtime(
        make_settings(tmp_path / "forced", database_url, cookie_secure=True), engine=runtime.engine
    )
    with TestClient(create_app(forced)) as plain:
        response = sign_in(plain, "owner@acme.test")
        assert "secure" in response.headers["set-cookie"].lower()


def test_wrong_password_and_unknown_user_are_refused_alike(runtime, client, ws):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    wrong = sign_in(client, "owner@acme.test", "not the password")
    unknown = sign_in(client, "nobody@acme.test", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
        assert "veil_session" not in response.headers.get("set-cookie", "")


def test_login_form_without_its_csrf_token_is_refused(runtime, client, ws):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    client.get("/login")
    response = client.post(
        "/login", data={"email": "owner@acme.test", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "veil_session" not in client.cookies


def test_sign_in_is_rate_limited(runtime, ws, tmp_path, database_url):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    limited = Runtime(
        make_settings(tmp_path / "rl", database_url, login_rate_per_minute=3), engine=runtime.engine
    )
    with TestClient(create_app(limited)) as client:
        codes = [sign_in(client, "owner@acme.test", "bad password").status_code for _ in range(3)]
        assert codes == [401, 401, 401]
        blocked = sign_in(client, "owner@acme.test")  # even the right password waits
        assert blocked.status_code == 429
        assert "Too many sign-in attempts" in blocked.text


def test_next_only_redirects_within_the_site(runtime, client, ws):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    assert 'value="/profiles"' in client.get("/login?next=//evil.example/x").text
    response = sign_in(client, "owner@acme.test", next="https://evil.example/")
    assert response.headers["location"] == "/profiles"
    assert client.get("/campaigns?x=1", follow_redirects=False).status_code == 200


def test_login_returns_to_the_page_asked_for(runtime, client, ws):
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    first = client.get("/campaigns", follow_redirects=False)
    assert first.headers["location"] == "/login?next=/campaigns"
    assert 'name="next" value="/campaigns"' in client.get(first.headers["location"]).text
    response = sign_in(client, "owner@acme.test", next="/campaigns")
    assert response.headers["location"] == "/campaigns"


def test_sign_out_needs_csrf_and_ends_the_session(runtime, admin):
    refused = admin.post("/logout", csrf=False)
    assert refused.status_code == 403
    assert admin.client.get("/profiles", follow_redirects=False).status_code == 200
    response = admin.post("/logout")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    with runtime.sessionmaker() as session:
        assert session.scalar(select(WebSession)) is None
    assert admin.client.get("/profiles", follow_redirects=False).status_code == 303
    assert "You are signed out." in admin.client.get("/login").text


def test_an_expired_session_goes_back_to_the_login(runtime, admin):
    with runtime.sessionmaker.begin() as session:
        session.execute(update(WebSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = admin.client.get("/profiles", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_a_stolen_cookie_value_from_another_session_does_not_carry_its_csrf(
    runtime, ws, browser_for
):
    add_user(runtime, workspace_id=ws.id, email="a@acme.test", role="admin")
    add_user(runtime, workspace_id=ws.id, email="b@acme.test", role="admin")
    alice, bob = browser_for("a@acme.test"), browser_for("b@acme.test")
    response = alice.client.post("/logout", data={"csrf_token": bob.csrf()}, follow_redirects=False)
    assert response.status_code == 403


def test_user_without_workspace_cannot_sign_in(runtime, client, ws):
    add_user(runtime, workspace_id=ws.id, email="gone@acme.test", role="member")
    from veil.models import Membership

    with runtime.sessionmaker.begin() as session:
        session.query(Membership).delete()
    response = sign_in(client, "gone@acme.test")
    assert response.status_code == 403
    assert "not a member of any workspace" in response.text


def test_switching_workspace_changes_data_and_role(runtime, ws, browser_for):
    other = make_workspace(runtime, name="Outlet Store")
    add_user(runtime, workspace_id=ws.id, email="owner@acme.test", role="admin")
    add_user(runtime, workspace_id=other.id, email="owner@acme.test", role="member")
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="main@x.test", first_name="Mainly")
        outlet = make_profile(
            session, workspace_id=other.id, email="outlet@x.test", first_name="Outletta"
        )
        outlet_id = outlet.id
    me = browser_for("owner@acme.test")
    page = me.client.get("/profiles")
    assert "Mainly" in page.text and "Outletta" not in page.text
    assert "Outlet Store" in page.text  # the switcher lists both workspaces
    assert me.client.get(f"/profiles/{outlet_id}").status_code == 404

    response = me.post("/workspace/switch", {"workspace_id": other.id})
    assert response.status_code == 303
    page = me.client.get("/profiles")
    assert "Outletta" in page.text and "Mainly" not in page.text
    assert "Switched to Outlet Store." in page.text
    profile_page = me.client.get(f"/profiles/{outlet_id}")
    assert profile_page.status_code == 200
    assert "profile-actions" not in profile_page.text  # a member here: no ⋯ menu
    assert me.client.get("/settings/workspace").status_code == 403


def test_cannot_switch_to_a_workspace_without_membership(runtime, admin, other_ws):
    response = admin.post("/workspace/switch", {"workspace_id": other_ws.id})
    assert response.status_code == 404
    assert "Acme Store" in admin.client.get("/profiles").text


def test_pages_carry_security_headers_and_are_not_cached(admin):
    response = admin.client.get("/profiles")
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "<script>" not in response.text  # no inline scripts: CSP forbids them
    assert 'style="' not in response.text


def test_static_files_are_served(client):
    css = client.get("/static/veil.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert client.get("/static/veil.js").status_code == 200
    assert client.get("/static/../app.py").status_code == 404
