"""Creating workspaces and users, and changing workspace settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from zoneinfo import available_timezones

import phonenumbers
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.auth import service as keys
from veil.auth.passwords import hash_password
from veil.auth.principal import ADMIN, ROLES
from veil.errors import Conflict, NotFound, ValidationFailed
from veil.kit.crypto import Keyring
from veil.kit.ids import new_id
from veil.kit.pagination import PageParams, paginate
from veil.kit.time import parse_strict_duration
from veil.models import ApiKey, Membership, User, Workspace
from veil.profiles.identifiers import normalize_email
from veil.workspaces import callback_secret
from veil.workspaces.repository import ApiKeyRepository, MembershipRepository

_PII_KEY = re.compile(r"^[A-Za-z0-9_.\- ]{1,64}$")
RETENTION_SETTINGS = ("retention_events", "retention_inactive_profiles")
# A century: longer is a typo, and timedelta arithmetic on it would overflow anyway.
LONGEST_RETENTION = timedelta(days=36500)


@dataclass
class CreatedWorkspace:
    workspace: Workspace
    admin_api_key: str
    write_key: str


def create_workspace(
    session: Session, *, name: str, keyring: Keyring, default_phone_region: str = "US"
) -> CreatedWorkspace:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationFailed("name must be 1 to 200 characters.")
    workspace = Workspace(
        id=new_id("ws"),
        name=name,
        default_phone_region=check_region(default_phone_region),
        pii_keys=[],
    )
    callback_secret.rotate(workspace, keyring)
    session.add(workspace)
    session.flush()
    admin = keys.create_api_key(
        session, workspace_id=workspace.id, role=ADMIN, name="initial admin"
    )
    _wk, write_token = keys.create_write_key(session, workspace_id=workspace.id, keyring=keyring)
    return CreatedWorkspace(workspace=workspace, admin_api_key=admin.token, write_key=write_token)


def get_workspace(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("Workspace not found.")
    return workspace


def check_region(region: str) -> str:
    region = (region or "").strip().upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationFailed(
            "default_phone_region must be a two-letter region code like US or DE."
        )
    return region


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """The IANA names zoneinfo can load (not a path on disk such as "localtime" or "../x")."""
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def check_timezone(name: str) -> str:
    name = (name or "").strip()
    if name not in time_zone_names():
        raise ValidationFailed("timezone must be an IANA time zone name like Europe/Berlin or UTC.")
    return name


def check_pii_keys(values: list[str]) -> list[str]:
    if len(values) > 200:
        raise ValidationFailed("pii_keys holds at most 200 keys.")
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str) or not _PII_KEY.match(value.strip()):
            raise ValidationFailed("pii_keys must be property names of 1 to 64 characters.")
        if value.strip() not in cleaned:
            cleaned.append(value.strip())
    return cleaned


def check_retention(field: str, value: str | None) -> str | None:
    """A retention setting: null (keep) or a duration like `30s`, `12h`, `400d`."""
    if value is None:
        return None
    try:
        parse_strict_duration(value, longest=LONGEST_RETENTION)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be null or a positive duration with one unit, like 30s, 12h, 400d "
            "or 8w (at most 36500d)."
        ) from None
    return value.strip().lower()


def retention_period(value: str | None) -> timedelta | None:
    """A stored retention setting as a period (None: keep forever)."""
    return None if value is None else parse_strict_duration(value, longest=LONGEST_RETENTION)


def update_settings(
    session: Session,
    *,
    workspace_id: str,
    actor: str,
    keyring: Keyring,
    name: str | None = None,
    default_phone_region: str | None = None,
    timezone: str | None = None,
    pii_keys: list[str] | None = None,
    shopify_webhook_secret: str | None = None,
    default_regulation: str | None = None,
    other_regulation_days: int | None = None,
    suppress_on_delete: bool | None = None,
    retention: Mapping[str, str | None] | None = None,
) -> Workspace:
    """Change the given settings; the audit entry names the fields that changed, not values.

    An empty `shopify_webhook_secret` removes the secret (Shopify webhooks are then refused).
    `retention` holds only the retention settings given (a null in it means keep forever).
    """
    workspace = get_workspace(session, workspace_id)
    changed: list[str] = []
    for field, value in (retention or {}).items():
        if field not in RETENTION_SETTINGS:
            raise ValidationFailed(f"{field} is not a retention setting.")
        period = check_retention(field, value)
        if getattr(workspace, field) != period:
            setattr(workspace, field, period)
            changed.append(field)
    if suppress_on_delete is not None and workspace.suppress_on_delete != suppress_on_delete:
        workspace.suppress_on_delete = suppress_on_delete
        changed.append("suppress_on_delete")
    if name is not None:
        if not name.strip() or len(name.strip()) > 200:
            raise ValidationFailed("name must be 1 to 200 characters.")
        if workspace.name != name.strip():
            workspace.name = name.strip()
            changed.append("name")
    if default_phone_region is not None:
        region = check_region(default_phone_region)
        if workspace.default_phone_region != region:
            workspace.default_phone_region = region
            changed.append("default_phone_region")
    if timezone is not None:
        zone = check_timezone(timezone)
        if workspace.timezone != zone:
            workspace.timezone = zone
            changed.append("timezone")
    if pii_keys is not None:
        cleaned = check_pii_keys(pii_keys)
        if list(workspace.pii_keys or []) != cleaned:
            workspace.pii_keys = cleaned
            changed.append("pii_keys")
    if shopify_webhook_secret is not None:
        secret = shopify_webhook_secret.strip()
        if len(secret) > 200:
            raise ValidationFailed("shopify_webhook_secret is longer than 200 characters.")
        workspace.shopify_webhook_secret_sealed = (
            keyring.seal(secret, aad=f"shopify-secret:{workspace_id}") if secret else None
        )
        changed.append("shopify_webhook_secret")
    privacy_settings: tuple[tuple[str, str | int | None], ...] = (
        ("default_regulation", default_regulation),
        ("other_regulation_days", other_regulation_days),
    )
    for setting, new_value in privacy_settings:
        if new_value is not None and getattr(workspace, setting) != new_value:
            setattr(workspace, setting, new_value)
            changed.append(setting)
    session.flush()
    if changed:
        audit.record(
            session,
            workspace_id=workspace_id,
            actor=actor,
            action="workspace.settings_changed",
            target_type="workspace",
            target_id=workspace_id,
            details={"fields": changed},
        )
    return workspace


def rotate_callback_secret(
    session: Session, *, workspace_id: str, actor: str, keyring: Keyring
) -> Workspace:
    """A new callback signing secret, audited (the value never is)."""
    workspace = get_workspace(session, workspace_id)
    callback_secret.rotate(workspace, keyring)
    session.flush()
    audit.record(
        session,
        workspace_id=workspace_id,
        actor=actor,
        action="workspace.callback_secret_rotated",
        target_type="workspace",
        target_id=workspace_id,
    )
    return workspace


def shopify_secret(workspace: Workspace, keyring: Keyring) -> str | None:
    return keyring.unseal_optional(
        workspace.shopify_webhook_secret_sealed, aad=f"shopify-secret:{workspace.id}"
    )


def create_user(
    session: Session, *, workspace_id: str, email: str, password: str, role: str
) -> User:
    """Create the user (or reuse an existing login) and give them a role in the workspace."""
    get_workspace(session, workspace_id)
    if role not in ROLES:
        raise ValidationFailed("role must be 'admin' or 'member'.")
    login = normalize_email(email)
    if login is None:
        raise ValidationFailed("email is required.")
    if len(password) < 8:
        raise ValidationFailed("password must be at least 8 characters.")
    user = session.scalar(select(User).where(User.email == login))
    if user is None:
        user = User(id=new_id("usr"), email=login, password_hash=hash_password(password))
        session.add(user)
        session.flush()
    membership = MembershipRepository(session, workspace_id).of_user(user.id)
    if membership is not None:
        if membership.role == role:
            raise Conflict("This user is already a member of the workspace.")
        membership.role = role
    else:
        session.add(
            Membership(id=new_id("mem"), workspace_id=workspace_id, user_id=user.id, role=role)
        )
    session.flush()
    return user


# -- API keys (audited) ----------------------------------------------------------------------


def issue_api_key(
    session: Session, *, workspace_id: str, actor: str, role: str, name: str = ""
) -> keys.IssuedKey:
    """A new API key (its token is returned here only), audited by id and role."""
    issued = keys.create_api_key(session, workspace_id=workspace_id, role=role, name=name)
    audit.record_about(
        session, issued.key, "api_key", "api_key.created", actor=actor, details={"role": role}
    )
    return issued


def revoke_api_key(session: Session, *, workspace_id: str, actor: str, key_id: str) -> ApiKey:
    """Revoke a key of this workspace (idempotent; audited only when it was still active)."""
    key = keys.revoke_api_key(session, workspace_id=workspace_id, key_id=key_id)
    if inspect(key).attrs.revoked_at.history.has_changes():
        audit.record_about(
            session, key, "api_key", "api_key.revoked", actor=actor, details={"role": key.role}
        )
    return key


DEMO_KEY_NAME = "demo"


def revoke_demo_keys(session: Session, *, workspace_id: str) -> int:
    """Revoke the active admin keys `veil demo` issued before (named "demo"); audited."""
    stmt = (
        ApiKeyRepository(session, workspace_id)
        .api_keys()
        .where(ApiKey.name == DEMO_KEY_NAME, ApiKey.revoked_at.is_(None))
    )
    stale = list(session.scalars(stmt))
    for key in stale:
        revoke_api_key(session, workspace_id=workspace_id, actor="cli", key_id=key.id)
    return len(stale)


def list_api_keys(
    session: Session, *, workspace_id: str, page: PageParams
) -> tuple[list[ApiKey], str | None]:
    """Newest first, revoked ones included (marked by revoked_at)."""
    return paginate(
        session,
        ApiKeyRepository(session, workspace_id).api_keys(),
        keys=[ApiKey.id],
        descending=True,
        page=page,
    )


def write_key_of(session: Session, *, workspace_id: str, keyring: Keyring) -> str | None:
    """The active write key in clear (admins paste it into their site's tracking code)."""
    key = keys.active_write_key(session, workspace_id=workspace_id)
    return keys.reveal_write_key(key, keyring) if key is not None else None
