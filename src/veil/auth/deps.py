"""Typed FastAPI dependencies: SessionDep, RuntimeDep, CurrentPrincipal, AdminOnly.

Every API router depends on CurrentPrincipal unless it says it is public.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from veil.auth.principal import ADMIN, Principal
from veil.auth.service import principal_for_api_key
from veil.db import defers_write_lock, open_read_only, read_only_session, transaction
from veil.errors import Forbidden, Unauthorized, responses
from veil.runtime import Runtime


def runtime_of(request: Request) -> Runtime:
    """The app's runtime: the one way a request (API or UI) reaches it."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]


READ_METHODS = frozenset({"GET", "HEAD"})


def get_session(request: Request, runtime: RuntimeDep) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, before the response.

    GET and HEAD read a snapshot that never waits for the write lock (see veil.db); the
    database refuses writes in it. A GET that must write (the export download marks the
    request `downloaded`) asks for WriteSessionDep instead.
    """
    factory = runtime.sessionmaker
    session = open_read_only(factory) if request.method in READ_METHODS else factory()
    with transaction(session):
        yield session


def get_write_session(runtime: RuntimeDep) -> Iterator[Session]:
    """A write transaction whatever the method."""
    with transaction(runtime.sessionmaker()) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(get_write_session, scope="function")]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def get_principal(request: Request, session: SessionDep, runtime: RuntimeDep) -> Principal:
    token = _bearer(request)
    if token is None:
        raise Unauthorized(
            "Missing API key: send it as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if defers_write_lock(session):
        # The write transaction (and SQLite's writer lock) starts with the endpoint's first
        # statement, not here: the lock is then not held while the body is parsed and the
        # request hops between threads.
        with read_only_session(runtime.sessionmaker) as reader:
            principal = principal_for_api_key(reader, token, writer=session)
    else:
        principal = principal_for_api_key(session, token)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


_ADMINS_ONLY = "Only workspace admins can do this."


def require_admin(principal: CurrentPrincipal) -> Principal:
    if principal.role != ADMIN:
        raise Forbidden(_ADMINS_ONLY)
    return principal


AdminOnly = Annotated[Principal, Depends(require_admin)]

# `APIRouter(responses=ADMIN_RESPONSES)`: a router whose every route takes `AdminOnly` (or
# `ComplianceAdmin`, which builds on it) documents the 403 once, for all its routes.
ADMIN_RESPONSES = responses(Forbidden(_ADMINS_ONLY))
