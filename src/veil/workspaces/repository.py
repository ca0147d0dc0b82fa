"""Queries of a workspace's own records (API keys), scoped to that workspace."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from veil.models import ApiKey


class WorkspaceRepository:
    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def api_keys(self) -> Select[ApiKey]:
        return select(ApiKey).where(ApiKey.workspace_id == self.workspace_id)
