"""Tenant isolation and authorization, generated from tests/security/access_matrix.py: every route
of the app (the OpenAPI document's and the UI's) is called by every kind of caller — nobody, a
revoked key, the write key, a member, another workspace's admin, a session without its CSRF
token — and must give the documented answer (401/403/404, or the login page), never a byte of
another workspace's data, and leave that workspace unchanged. A route without an entry fails."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select
from starlette.routing import Mount, Route

from tests.compliance.export_support import make_subject
from tests.fixtures.factories import WorkspaceHandle, make_profile, make_workspace
from tests.fixtures.http import assert_error
from tests.security.access_matrix import MATRIX, Access
from veil.app import create_app
from veil.auth.service import create_api_key, create_write_key, revoke_api_key
from veil.compliance.deletions import service as deletions
from veil.compliance.exports import service as exports
from veil.compliance.privacy_requests import service as privacy_requests
from veil.kit.time import utcnow
from veil.models import (
    ApiKey,
    DeletionRequest,
    ExportRequest,
    PrivacyRequest,
    Profile,
    Recipient,
    Suppression,
    User,
    Workspace,
)
from veil.runtime import Runtime
from veil.web.sessions import open_session
from veil.workspaces.service import create_user, update_settings

VICTIM_EMAIL = "ada.lovelace@example.com"  # make_subject's contact
GONE_EMAIL = "victoria.gone@example.com"
MARKERS = [VICTIM_EMAIL, GONE_EMAIL, "Augusta", "Kingsbury", "Victim Store", "Winter Sale"]
SHOPIFY_SECRET = "shpss_victim_0123456789abcdef"
_PARAM = re.compile(r"{(\w+)}")


def app_routes(app: FastAPI) -> Iterator[tuple[str, str, bool]]:
    """(method, path, in the OpenAPI document) for every route the app serves."""

    def walk(routes: list[Any]) -> Iterator[tuple[Any, str, set[str], bool]]:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # FastAPI's included routers
                for context in route.effective_route_contexts():
                    original = context.original_route
                    methods = set(context.methods or getattr(original, "methods", None) or ())
                    path = context.path or getattr(original, "path", "")
                    yield original, path, methods, bool(context.include_in_schema)
            else:
                methods = set(getattr(route, "methods", None) or ())
                schema = bool(getattr(route, "include_in_schema", False))
                yield route, route.path, methods, schema

    for route, path, methods, in_schema in walk(list(app.router.routes)):
        if isinstance(route, Mount):
            yield "GET", f"{path}/{{path}}", False
        elif isinstance(route, Route) or methods:
            for method in sorted(methods - {"HEAD"}):
                yield method, path, in_schema


def test_every_route_has_an_entry_and_every_entry_a_route(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    served = {(method, path) for method, path, _ in app_routes(app)}
    documented = {
        (method.upper(), path)
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method in operations
    }
    assert documented <= served
    missing = sorted(served - set(MATRIX))
    assert not missing, f"routes without an entry in tests/security/access_matrix.py: {missing}"
    stale = sorted(set(MATRIX) - served)
    assert not stale, f"entries for routes that no longer exist: {stale}"


def test_a_new_route_without_an_entry_is_noticed(runtime: Runtime) -> None:
    app = create_app(runtime)

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    assert ("GET", "/api/v1/forgotten") in {(m, p) for m, p, _ in app_routes(app)} - set(MATRIX)


# -- the world: a victim workspace with one of everything, and an intruder workspace ---------


@dataclass
class Session:
    cookie: str
    csrf: str


@dataclass
class World:
    victim: WorkspaceHandle
    intruder: WorkspaceHandle
    revoked_key: str
    revoked_write_key: str
    ids: dict[str, str]
    victim_admin: Session
    victim_member: Session
    intruder_admin: Session


def _sign_in(runtime: Runtime, *, workspace_id: str, email: str, role: str) -> Session:
    with runtime.sessionmaker.begin() as session:
        create_user(session, workspace_id=workspace_id, email=email, password="x" * 12, role=role)
    with runtime.sessionmaker.begin() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        opened = open_session(session, user=user)
        assert opened is not None
        return Session(cookie=opened.token, csrf=opened.session.csrf_token)


@pytest.fixture
def world(runtime: Runtime) -> World:
    victim = make_workspace(runtime, name="Victim Store")
    intruder = make_workspace(runtime, name="Intruder Store")
    subject = make_subject(runtime, victim)
    with runtime.sessionmaker.begin() as session:
        export = exports.request_export(
            session,
            runtime=runtime,
            workspace_id=victim.id,
            profile_id=subject.profile_id,
            requested_by="ops",
            actor="test",
        )
        gone = make_profile(session, workspace_id=victim.id, email=GONE_EMAIL, first_name="Vic")
        deletion = deletions.request_deletion(
            session,
            runtime=runtime,
            workspace_id=victim.id,
            profile_id=gone.id,
            requested_by="ops",
            actor="test",
            suppress=True,
        )
        privacy_request, _ = privacy_requests.create_request(
            session,
            runtime=runtime,
            workspace_id=victim.id,
            new=privacy_requests.NewRequest(
                type=privacy_requests.PrivacyRequestType.ACCESS,
                identities=[("email", VICTIM_EMAIL)],
                reference="Victim Store case",
            ),
            source=privacy_requests.PrivacyRequestSource.API,
            requested_by="ops",
            actor="test",
        )
        subject_request_id = str(uuid.uuid4())
        privacy_requests.create_request(
            session,
            runtime=runtime,
            workspace_id=victim.id,
            new=privacy_requests.NewRequest(
                type=privacy_requests.PrivacyRequestType.ERASURE,
                identities=[("email", GONE_EMAIL)],
            ),
            source=privacy_requests.PrivacyRequestSource.OPENDSR,
            requested_by="ops",
            actor="test",
            idempotency_key=f"opendsr:{subject_request_id}",
        )
        suppression_id = session.scalars(
            select(Suppression.id).where(Suppression.workspace_id == victim.id)
        ).one()
        spare = create_api_key(session, workspace_id=victim.id, role="member", name="spare")
        revoked = create_api_key(session, workspace_id=victim.id, role="admin", name="old")
        revoke_api_key(session, workspace_id=victim.id, key_id=revoked.key.id)
        old_write_key, old_write_token = create_write_key(
            session, workspace_id=victim.id, keyring=runtime.seal_keyring
        )
        old_write_key.revoked_at = utcnow()
        update_settings(
            session,
            workspace_id=victim.id,
            actor="test",
            keyring=runtime.seal_keyring,
            shopify_webhook_secret=SHOPIFY_SECRET,
        )
        token = session.get_one(Recipient, subject.recipient_id).token
        ids = {
            "profile_id": subject.profile_id,
            "campaign_id": subject.campaign_id,
            "export_id": export.id,
            "deletion_id": deletion.id,
            "request_id": privacy_request.id,
            "subject_request_id": subject_request_id,
            "suppression_id": suppression_id,
            "key_id": spare.key.id,
            "workspace_id": victim.id,
            "token": token,
            "path": "veil.css",
            "name": "swagger-ui.css",
        }
    runtime.queue.drain()  # the export is ready, the deletion done
    return World(
        victim=victim,
        intruder=intruder,
        revoked_key=revoked.token,
        revoked_write_key=old_write_token,
        ids=ids,
        victim_admin=_sign_in(runtime, workspace_id=victim.id, email="a@victim.test", role="admin"),
        victim_member=_sign_in(
            runtime, workspace_id=victim.id, email="m@victim.test", role="member"
        ),
        intruder_admin=_sign_in(
            runtime, workspace_id=intruder.id, email="a@intruder.test", role="admin"
        ),
    )


def snapshot(runtime: Runtime, world: World) -> dict[str, Any]:
    """What an intruder must not be able to change in the victim's workspace."""
    victim = world.victim.id
    with runtime.sessionmaker() as session:

        def count(model: Any) -> int:
            stmt = select(func.count()).select_from(model).where(model.workspace_id == victim)
            return int(session.scalar(stmt) or 0)

        workspace = session.get_one(Workspace, victim)
        return {
            "profiles": session.execute(
                select(Profile.status, Profile.restricted_at)
                .where(Profile.workspace_id == victim)
                .order_by(Profile.id)
            ).all(),
            "exports": session.scalars(
                select(ExportRequest.status).where(ExportRequest.workspace_id == victim)
            ).all(),
            "deletions": count(DeletionRequest),
            "privacy_requests": [
                tuple(row)
                for row in session.execute(
                    select(PrivacyRequest.status, PrivacyRequest.due_at)
                    .where(PrivacyRequest.workspace_id == victim)
                    .order_by(PrivacyRequest.id)
                )
            ],
            "suppressions": count(Suppression),
            "recipients": count(Recipient),
            "revoked": session.scalars(
                select(ApiKey.id).where(
                    ApiKey.workspace_id == victim, ApiKey.revoked_at.is_not(None)
                )
            ).all(),
            "keys": count(ApiKey),
            "settings": (
                workspace.name,
                workspace.pii_keys,
                workspace.shopify_webhook_secret_sealed,
                workspace.callback_signing_secret_sealed,
                workspace.suppress_on_delete,
                workspace.retention_events,
                workspace.retention_inactive_profiles,
            ),
        }


# -- one generated test per route ------------------------------------------------------------


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return _PARAM.sub(lambda m: ids[m.group(1)], value)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


# Bodies that name the victim's objects from inside the payload, not the path.
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/api/v1/events"): {"type": "Viewed Product", "profile": {"id": "{profile_id}"}},
    ("POST", "/api/v1/events/batch"): {
        "events": [{"type": "Viewed Product", "profile": {"id": "{profile_id}"}}]
    },
    ("POST", "/api/v1/profiles/{profile_id}/delete"): {"confirm": True},
    ("PATCH", "/api/v1/profiles/{profile_id}"): {"first_name": "Vic"},
    ("POST", "/api/v1/profiles/{profile_id}/restrict"): {"reason": "legal claim"},
    ("POST", "/api/v1/campaigns/{campaign_id}/send"): {"profile_ids": ["{profile_id}"]},
    ("POST", "/profiles/{profile_id}/delete"): {"confirm": "yes"},  # UI form fields
    ("POST", "/profiles/{profile_id}/restrict"): {"reason": "legal claim"},
    ("POST", "/api/v1/privacy-requests"): {
        "type": "access",
        "identities": [{"type": "profile_id", "value": "{profile_id}"}],
    },
    ("POST", "/api/v1/privacy-requests/bulk"): {
        "type": "access",
        "subjects": [{"identities": [{"type": "profile_id", "value": "{profile_id}"}]}],
    },
    ("POST", "/api/v1/privacy-requests/{request_id}/extend"): {"reason": "complex case"},
    ("POST", "/opendsr/v1/requests"): {
        "subject_request_id": "0b8a1f0e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
        "subject_request_type": "access",
        "submitted_time": "2026-11-01T00:00:00Z",
        "subject_identities": [
            {"identity_type": "email", "identity_value": VICTIM_EMAIL, "identity_format": "raw"}
        ],
        "regulation": "gdpr",
    },
    ("POST", "/settings/compliance/requests/{request_id}/extend"): {"reason": "complex case"},
    ("POST", "/settings/compliance/requests/{request_id}/cancel"): {"confirm": "yes"},
}


class Caller:
    def __init__(self, client: TestClient, method: str, url: str, access: Access) -> None:
        self.client, self.method, self.url, self.access = client, method, url, access

    def call(
        self,
        *,
        bearer: str | None = None,
        basic: str | None = None,
        session: Session | None = None,
        csrf: str | None = None,
        json: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Response:
        sent = dict(headers or {})
        if bearer:
            sent["Authorization"] = f"Bearer {bearer}"
        if basic:
            sent["Authorization"] = "Basic " + base64.b64encode(f"{basic}:".encode()).decode()
        if session:
            sent["Cookie"] = f"veil_session={session.cookie}"
        kwargs: dict[str, Any] = {"headers": sent, "follow_redirects": False}
        if self.access.scheme in ("session", "login") and self.method == "POST":
            form = dict(json or {})
            kwargs["data"] = {**form, "csrf_token": csrf} if csrf else form
        elif content is not None:
            kwargs["content"] = content
        elif self.method in ("POST", "PATCH"):
            kwargs["json"] = json if json is not None else {}
        response = self.client.request(self.method, self.url, **kwargs)
        assert response.status_code < 500, (self.method, self.url, response.text[:500])
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "same-origin"
        return response


def allowed(response: Response) -> None:
    assert response.status_code not in (401, 403), response.text[:500]


def no_victim_data(response: Response) -> None:
    text = response.text
    for marker in MARKERS:
        assert marker not in text, (marker, text[:500])


def login_page(response: Response) -> None:
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def check_bearer(caller: Caller, access: Access, world: World, body: Any, has_ids: bool) -> None:
    for credentials in (
        {},
        {"bearer": world.revoked_key},
        {"bearer": world.victim.write_key},
        {"basic": world.victim.write_key},
        {"basic": world.victim.admin_key},
        {"session": world.victim_admin},  # cookies are not API credentials (no CSRF there)
    ):
        assert_error(caller.call(**credentials, json=body), 401, "unauthorized")
    member = caller.call(bearer=world.victim.member_key, json=body)
    if access.role == "admin":
        assert_error(member, 403, "forbidden")
    else:
        allowed(member)
    intruder = caller.call(bearer=world.intruder.admin_key, json=body)
    if has_ids:
        assert_error(intruder, 404, "not_found")
    else:
        allowed(intruder)
    no_victim_data(intruder)


def check_session(caller: Caller, access: Access, world: World, form: Any, has_ids: bool) -> None:
    post = caller.method == "POST"
    for credentials in (
        {},
        {"bearer": world.victim.admin_key},
        {"bearer": world.revoked_key},
        {"basic": world.victim.write_key},
    ):
        response = caller.call(**credentials, json=form)
        if post:
            assert response.status_code == 403, response.text[:300]
        else:
            login_page(response)
        no_victim_data(response)
    if post:  # a forged form: the session's cookie without its CSRF token, or another's token
        assert caller.call(session=world.victim_admin, json=form).status_code == 403
        forged = caller.call(session=world.victim_admin, csrf=world.intruder_admin.csrf, json=form)
        assert forged.status_code == 403
    member = caller.call(session=world.victim_member, csrf=world.victim_member.csrf, json=form)
    if access.role == "admin":
        assert member.status_code == 403, member.text[:300]
    else:
        allowed(member)
    intruder = caller.call(session=world.intruder_admin, csrf=world.intruder_admin.csrf, json=form)
    if has_ids:
        assert intruder.status_code == 404, intruder.text[:300]
    else:
        allowed(intruder)
    no_victim_data(intruder)


def _shopify_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def check_integration(caller: Caller, access: Access, world: World) -> None:
    """Routes that authenticate by their own scheme: API keys and sessions mean nothing there."""
    if access.scheme == "write_key":
        for credentials in (
            {},
            {"basic": world.revoked_write_key},
            {"basic": world.victim.admin_key},
            {"bearer": world.victim.admin_key},
            {"bearer": world.victim.write_key},
            {"session": world.victim_admin},
        ):
            response = caller.call(**credentials, json=access.body)
            assert_error(response, 401, "unauthorized")
        # Another workspace's write key ingests into that workspace (the snapshot shows not here).
        intruder = caller.call(basic=world.intruder.write_key, json=access.body)
        allowed(intruder)
        no_victim_data(intruder)
    elif access.scheme == "shopify_hmac":
        raw = _json_bytes(access.body)
        for headers in (
            {},
            {"X-Shopify-Hmac-Sha256": _shopify_signature("not the secret", raw)},
            {"X-Shopify-Hmac-Sha256": "not base64 at all"},
            {"Authorization": f"Bearer {world.victim.admin_key}"},
        ):
            response = caller.call(content=raw, headers={**_SHOPIFY, **headers})
            assert_error(response, 401, "unauthorized")
        # Signed for this workspace, sent to another workspace's webhook URL.
        other = caller.url.replace(world.victim.id, world.intruder.id)
        signed = {"X-Shopify-Hmac-Sha256": _shopify_signature(SHOPIFY_SECRET, raw)}
        foreign = Caller(caller.client, caller.method, other, access)
        assert foreign.call(content=raw, headers={**_SHOPIFY, **signed}).status_code == 401
    elif access.scheme == "tracking_token":
        unknown_url = caller.url.replace(world.ids["token"], "x" * 24)
        response = Caller(caller.client, caller.method, unknown_url, access).call()
        assert response.status_code == access.unknown_token_status, response.text[:300]
        no_victim_data(response)
        no_victim_data(caller.call(bearer=world.intruder.admin_key))
    else:  # pragma: no cover - a typo in the matrix
        raise AssertionError(f"unknown scheme {access.scheme}")


def admit_integration(caller: Caller, access: Access, world: World) -> None:
    if access.scheme == "write_key":
        allowed(caller.call(basic=world.victim.write_key, json=access.body))
    elif access.scheme == "shopify_hmac":
        raw = _json_bytes(access.body)
        signed = {"X-Shopify-Hmac-Sha256": _shopify_signature(SHOPIFY_SECRET, raw)}
        allowed(caller.call(content=raw, headers={**_SHOPIFY, **signed}))


_SHOPIFY = {"Content-Type": "application/json", "X-Shopify-Topic": "customers/update"}


def _json_bytes(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda v: str(v))
def test_route_answers_each_caller_as_documented(
    runtime: Runtime, client: TestClient, world: World, method: str, path: str
) -> None:
    access = MATRIX[(method, path)]
    url = _fill(path, world.ids)
    has_ids = "{" in path and path != "/static/{path}"
    caller = Caller(client, method, url, access)
    before = snapshot(runtime, world)
    body = _fill(BODIES.get((method, path)), world.ids)

    if access.scheme == "bearer":
        check_bearer(caller, access, world, body, has_ids)
    elif access.scheme == "session":
        check_session(caller, access, world, body, has_ids)
    elif access.scheme == "public":
        response = caller.call()
        allowed(response)
        no_victim_data(response)
    elif access.scheme == "login":
        assert caller.call().status_code == 403  # the form without its own CSRF token
    else:
        check_integration(caller, access, world)

    # Nothing the refused callers or the intruder did changed the victim's workspace.
    assert snapshot(runtime, world) == before

    # And the callers the matrix allows are let in (their effects are theirs to have).
    if access.scheme == "bearer":
        allowed(caller.call(bearer=world.victim.admin_key, json=body))
    elif access.scheme == "session":
        allowed(caller.call(session=world.victim_admin, csrf=world.victim_admin.csrf, json=body))
    else:
        admit_integration(caller, access, world)


def test_the_matrix_sees_a_route_that_forgets_its_check(runtime: Runtime, world: World) -> None:
    """The harness itself: a route that skips the workspace scoping is caught."""
    app = create_app(runtime)

    @app.get("/api/v1/leaky/{profile_id}")
    def leaky(profile_id: str) -> dict[str, Any]:
        with runtime.sessionmaker() as session:
            profile = session.get_one(Profile, profile_id)
            return {"email": profile.email}

    with TestClient(app) as client:
        caller = Caller(
            client, "GET", f"/api/v1/leaky/{world.ids['profile_id']}", Access("bearer", "member")
        )
        with pytest.raises(AssertionError):
            check_bearer(caller, Access("bearer", "member"), world, None, has_ids=True)
