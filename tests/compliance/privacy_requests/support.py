"""Shared helpers for the privacy-request tests."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.fixtures.factories import WorkspaceHandle
from veil.compliance.privacy_requests import service
from veil.models import PrivacyCallback, PrivacyRequest
from veil.runtime import Runtime
from veil.worker.queue import sweep

URL = "/api/v1/privacy-requests"


def create(client: TestClient, ws: WorkspaceHandle, body: dict[str, Any], **headers: str) -> Any:
    return client.post(URL, json=body, headers={**ws.admin, **headers})


def by_email(email: str, type: str = "access", **extra: Any) -> dict[str, Any]:
    return {"type": type, "identities": [{"type": "email", "value": email}], **extra}


def count_requests(runtime: Runtime, workspace_id: str | None = None) -> int:
    with runtime.sessionmaker() as session:
        stmt = select(func.count()).select_from(PrivacyRequest)
        if workspace_id is not None:
            stmt = stmt.where(PrivacyRequest.workspace_id == workspace_id)
        return int(session.scalar(stmt) or 0)


def deliveries(runtime: Runtime) -> list[PrivacyCallback]:
    """Every callback delivery, in announcement order."""
    with runtime.sessionmaker() as session:
        return list(session.scalars(select(PrivacyCallback).order_by(PrivacyCallback.seq)))


def settle(runtime: Runtime, rounds: int = 4) -> None:
    """Run queued jobs and sweeps until nothing is left to do (the worker, in this thread)."""
    for _ in range(rounds):
        runtime.queue.drain()
        sweep(runtime)
    runtime.queue.drain()


def create_in_service(runtime: Runtime, workspace_id: str, email: str, **fields: Any) -> str:
    """An access request for `email`, straight through the service (no HTTP); its id."""
    with runtime.sessionmaker.begin() as session:
        request, _ = service.create_request(
            session,
            runtime=runtime,
            workspace_id=workspace_id,
            new=service.NewRequest(
                type=service.PrivacyRequestType.ACCESS, identities=[("email", email)], **fields
            ),
            source=service.PrivacyRequestSource.API,
            requested_by="ops",
            actor="test",
        )
        return request.id
