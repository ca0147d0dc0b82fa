"""UI logins: verify a password, open a session, resolve it on each request, switch workspace.

The browser holds a random token in an HttpOnly cookie; the `web_sessions` row holds only its
SHA-256, so a copy of the database cannot be replayed as a login. Each session carries its own
CSRF token and the workspace the user is looking at; the role is read from the membership on
every request, so a demotion or a removed membership takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from veil.auth.passwords import verify_password
from veil.auth.principal import Principal
from veil.db import read_only_session
from veil.errors import NotFound, ValidationFailed
from veil.kit.crypto import hash_token
from veil.kit.ids import new_id, new_token
from veil.kit.time import utcnow
from veil.models import Membership, User, WebSession, Workspace
from veil.profiles.identifiers import normalize_email

SESSION_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class WorkspaceChoice:
    id: str
    name: str
    role: str


@dataclass(frozen=True)
class SignedIn:
    """Who is looking at the UI, in which workspace, with which role."""

    session_id: str
    user_id: str
    email: str
    workspace_id: str
    workspace_name: str
    role: str
    csrf_token: str
    workspaces: tuple[WorkspaceChoice, ...]

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def principal(self) -> Principal:
        # The same shape the API builds from a key, so services cannot tell the two apart.
        return Principal(
            workspace_id=self.workspace_id,
            role=self.role,
            actor=f"user:{self.user_id}",
            label=self.email,
            user_id=self.user_id,
        )


@dataclass(frozen=True)
class OpenedSession:
    token: str
    session: WebSession


def check_password(factory: sessionmaker[Session], *, email: str, password: str) -> str | None:
    """The user's id if the password matches; the same work is done for unknown emails.

    The user is looked up in a read-only snapshot (it never takes SQLite's write lock) that is
    closed before the slow argon2 check, so failed logins cannot stall anybody's writes.
    """
    try:
        login = normalize_email(email)
    except ValidationFailed:
        login = None
    found = None
    if login:
        with read_only_session(factory) as session:
            found = session.execute(
                select(User.id, User.password_hash).where(User.email == login)
            ).first()
    ok = verify_password(found.password_hash if found else None, password)
    return found.id if ok and found is not None else None


def workspaces_of(session: Session, *, user_id: str) -> list[WorkspaceChoice]:
    rows = session.execute(
        select(Workspace.id, Workspace.name, Membership.role)
        .join(Membership, Membership.workspace_id == Workspace.id)
        .where(Membership.user_id == user_id)
        .order_by(Workspace.name, Workspace.id)
    ).all()
    return [WorkspaceChoice(id=r.id, name=r.name, role=r.role) for r in rows]


def open_session(session: Session, *, user: User) -> OpenedSession | None:
    """A fresh session in the user's first workspace; None if they belong to none."""
    choices = workspaces_of(session, user_id=user.id)
    if not choices:
        return None
    now = utcnow()
    # Housekeeping: this user's stale sessions go whenever they sign in again.
    session.execute(
        delete(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at <= now)
    )
    token = new_token(32)
    row = WebSession(
        id=new_id("ses"),
        token_hash=hash_token(token),
        user_id=user.id,
        workspace_id=choices[0].id,
        csrf_token=new_token(32),
        created_at=now,
        expires_at=now + SESSION_TTL,
    )
    session.add(row)
    user.last_login_at = now
    session.flush()
    return OpenedSession(token=token, session=row)


def resolve_session(session: Session, *, token: str | None) -> SignedIn | None:
    """The signed-in user behind a cookie token, or None (unknown, expired, no workspace)."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(token)))
    if row is None or row.expires_at <= utcnow():
        return None
    user = session.get(User, row.user_id)
    if user is None:
        return None
    choices = workspaces_of(session, user_id=user.id)
    if not choices:
        return None
    current = next((c for c in choices if c.id == row.workspace_id), None)
    if current is None:
        # The membership of the workspace in view was removed: fall back to another one
        # (not stored: this runs on reads; switching workspaces stores the choice).
        current = choices[0]
    return SignedIn(
        session_id=row.id,
        user_id=user.id,
        email=user.email,
        workspace_id=current.id,
        workspace_name=current.name,
        role=current.role,
        csrf_token=row.csrf_token,
        workspaces=tuple(choices),
    )


def switch_workspace(session: Session, *, signed_in: SignedIn, workspace_id: str) -> None:
    if not any(c.id == workspace_id for c in signed_in.workspaces):
        raise NotFound("Workspace not found.")
    row = session.get(WebSession, signed_in.session_id)
    if row is None:
        raise NotFound("Session not found.")
    row.workspace_id = workspace_id


def close_session(session: Session, *, token: str | None) -> None:
    if token:
        session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
