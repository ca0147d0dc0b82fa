"""Who may call each route, and how it authenticates: one line per route (method, path).

tests/security/test_access_matrix.py tries every route against every kind of caller and
fails for a route of the app that has no line here (and for a line whose route is gone).

Schemes:
- `bearer`: the JSON API, `Authorization: Bearer <API key>` with a role (`admin`, `member`).
- `session`: the UI, the session cookie; every POST needs the session's CSRF token.
- `public`: anyone (login page, health, OpenAPI, static files).
- `login`: the sign-in form: public, but protected by its own double-submit CSRF token.
- `write_key`: Segment-compatible ingestion, the workspace's write key as HTTP Basic user name.
- `shopify_hmac`: Shopify webhooks, `X-Shopify-Hmac-Sha256` over the raw body with the
  workspace's webhook secret; `{workspace_id}` in the path names the workspace.
- `tracking_token`: campaign open/click links; the token in the path is the credential.

Adding a route is one line: `("POST", "/api/v1/things"): ADMIN_API,`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Access:
    scheme: str
    role: str | None = None
    # A body that a caller who may use the route sends (integrations: a valid payload).
    body: Any = field(default=None, compare=False)
    # tracking_token: the status an unknown token gets (e.g. 404, or 200 for the open pixel).
    unknown_token_status: int | None = None


ADMIN_API = Access("bearer", "admin")
MEMBER_API = Access("bearer", "member")  # members and admins
ADMIN_UI = Access("session", "admin")
MEMBER_UI = Access("session", "member")
PUBLIC = Access("public")
LOGIN = Access("login")


def write_key(body: dict[str, Any]) -> Access:
    return Access("write_key", body=body)


def shopify_hmac(body: dict[str, Any]) -> Access:
    return Access("shopify_hmac", body=body)


def tracking_token(unknown_token_status: int) -> Access:
    return Access("tracking_token", unknown_token_status=unknown_token_status)


MATRIX: dict[tuple[str, str], Access] = {
    # -- JSON API ---------------------------------------------------------------------------
    ("POST", "/api/v1/profiles"): MEMBER_API,
    ("GET", "/api/v1/profiles"): MEMBER_API,
    ("GET", "/api/v1/profiles/{profile_id}"): MEMBER_API,
    ("PATCH", "/api/v1/profiles/{profile_id}"): MEMBER_API,
    ("GET", "/api/v1/profiles/{profile_id}/events"): MEMBER_API,
    ("POST", "/api/v1/events"): MEMBER_API,
    ("POST", "/api/v1/events/batch"): MEMBER_API,
    ("POST", "/api/v1/campaigns"): ADMIN_API,
    ("GET", "/api/v1/campaigns"): MEMBER_API,
    ("GET", "/api/v1/campaigns/{campaign_id}"): MEMBER_API,
    ("POST", "/api/v1/campaigns/{campaign_id}/send"): ADMIN_API,
    ("GET", "/api/v1/campaigns/{campaign_id}/recipients"): MEMBER_API,
    ("POST", "/api/v1/profiles/{profile_id}/export"): ADMIN_API,
    ("GET", "/api/v1/compliance/exports"): ADMIN_API,
    ("GET", "/api/v1/compliance/exports/{export_id}"): ADMIN_API,
    ("GET", "/api/v1/compliance/exports/{export_id}/download"): ADMIN_API,
    ("POST", "/api/v1/compliance/exports/{export_id}/retry"): ADMIN_API,
    ("POST", "/api/v1/profiles/{profile_id}/delete"): ADMIN_API,
    ("GET", "/api/v1/compliance/deletions"): ADMIN_API,
    ("GET", "/api/v1/compliance/deletions/{deletion_id}"): ADMIN_API,
    ("GET", "/api/v1/compliance/suppressions"): ADMIN_API,
    ("GET", "/api/v1/compliance/retention/preview"): ADMIN_API,
    ("POST", "/api/v1/profiles/{profile_id}/restrict"): ADMIN_API,
    ("POST", "/api/v1/profiles/{profile_id}/unrestrict"): ADMIN_API,
    ("DELETE", "/api/v1/compliance/suppressions/{suppression_id}"): ADMIN_API,
    ("GET", "/api/v1/workspace"): ADMIN_API,
    ("PATCH", "/api/v1/workspace/settings"): ADMIN_API,
    ("POST", "/api/v1/workspace/keys"): ADMIN_API,
    ("GET", "/api/v1/workspace/keys"): ADMIN_API,
    ("DELETE", "/api/v1/workspace/keys/{key_id}"): ADMIN_API,
    ("GET", "/api/v1/audit"): ADMIN_API,
    ("POST", "/api/v1/workspace/callback-secret/rotate"): ADMIN_API,
    ("POST", "/api/v1/privacy-requests"): ADMIN_API,
    ("POST", "/api/v1/privacy-requests/bulk"): ADMIN_API,
    ("GET", "/api/v1/privacy-requests"): ADMIN_API,
    ("GET", "/api/v1/privacy-requests/{request_id}"): ADMIN_API,
    ("POST", "/api/v1/privacy-requests/{request_id}/extend"): ADMIN_API,
    ("POST", "/api/v1/privacy-requests/{request_id}/cancel"): ADMIN_API,
    ("GET", "/opendsr/v1/discovery"): ADMIN_API,
    ("POST", "/opendsr/v1/requests"): ADMIN_API,
    ("GET", "/opendsr/v1/requests/{subject_request_id}"): ADMIN_API,
    ("DELETE", "/opendsr/v1/requests/{subject_request_id}"): ADMIN_API,
    # -- UI ---------------------------------------------------------------------------------
    ("GET", "/"): PUBLIC,  # a redirect to /profiles
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): LOGIN,
    ("POST", "/logout"): MEMBER_UI,
    ("POST", "/workspace/switch"): MEMBER_UI,
    ("GET", "/profiles"): MEMBER_UI,
    ("POST", "/profiles/search"): MEMBER_UI,
    ("GET", "/profiles/{profile_id}"): MEMBER_UI,
    ("POST", "/profiles/{profile_id}/export"): ADMIN_UI,
    ("GET", "/profiles/{profile_id}/delete"): ADMIN_UI,
    ("POST", "/profiles/{profile_id}/delete"): ADMIN_UI,
    ("GET", "/profiles/{profile_id}/restrict"): ADMIN_UI,
    ("POST", "/profiles/{profile_id}/restrict"): ADMIN_UI,
    ("POST", "/profiles/{profile_id}/unrestrict"): ADMIN_UI,
    ("GET", "/settings/compliance/suppressions"): ADMIN_UI,
    ("POST", "/settings/compliance/suppressions/{suppression_id}/lift"): ADMIN_UI,
    ("GET", "/settings/compliance"): ADMIN_UI,
    ("GET", "/settings/compliance/downloaded"): ADMIN_UI,
    ("POST", "/settings/compliance/exports/{export_id}/download"): ADMIN_UI,
    ("POST", "/settings/compliance/exports/{export_id}/retry"): ADMIN_UI,
    ("GET", "/settings/compliance/deleted"): ADMIN_UI,
    ("GET", "/settings/compliance/requests"): ADMIN_UI,
    ("GET", "/settings/compliance/requests/{request_id}"): ADMIN_UI,
    ("POST", "/settings/compliance/requests/{request_id}/extend"): ADMIN_UI,
    ("POST", "/settings/compliance/requests/{request_id}/cancel"): ADMIN_UI,
    ("POST", "/settings/compliance/requests/bulk"): ADMIN_UI,
    ("GET", "/campaigns"): MEMBER_UI,
    ("GET", "/campaigns/{campaign_id}"): MEMBER_UI,
    ("GET", "/settings"): ADMIN_UI,
    ("GET", "/settings/workspace"): ADMIN_UI,
    ("POST", "/settings/workspace/general"): ADMIN_UI,
    ("POST", "/settings/workspace/pii-keys"): ADMIN_UI,
    ("POST", "/settings/workspace/retention"): ADMIN_UI,
    ("POST", "/settings/workspace/shopify-secret"): ADMIN_UI,
    ("POST", "/settings/workspace/write-key/reveal"): ADMIN_UI,
    ("POST", "/settings/workspace/keys"): ADMIN_UI,
    ("POST", "/settings/workspace/keys/{key_id}/revoke"): ADMIN_UI,
    # -- public -----------------------------------------------------------------------------
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    # Public unless VEIL_METRICS_TOKEN is set (tests/ops/test_operability.py); no workspace data.
    ("GET", "/metrics"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/api/docs"): PUBLIC,
    ("GET", "/api/docs/assets/{name}"): PUBLIC,
    ("GET", "/static/{path}"): PUBLIC,
    # -- integrations (their own schemes) ---------------------------------------------------
    ("POST", "/v1/identify"): write_key({"userId": "u1", "traits": {"plan": "pro"}}),
    ("POST", "/v1/track"): write_key({"userId": "u1", "event": "Viewed Product"}),
    ("POST", "/v1/page"): write_key({"userId": "u1", "name": "Home"}),
    ("POST", "/v1/screen"): write_key({"userId": "u1", "name": "Home"}),
    ("POST", "/v1/alias"): write_key({"userId": "u1", "previousId": "u0"}),
    ("POST", "/v1/group"): write_key({"userId": "u1", "groupId": "g1"}),
    ("POST", "/v1/batch"): write_key({"batch": [{"type": "track", "userId": "u1", "event": "x"}]}),
    ("POST", "/integrations/shopify/{workspace_id}/webhooks"): shopify_hmac({"id": 1}),
    ("GET", "/t/o/{token}"): tracking_token(200),  # the pixel, whatever the token
    ("GET", "/t/c/{token}"): tracking_token(400),  # no valid signature, no redirect
}
