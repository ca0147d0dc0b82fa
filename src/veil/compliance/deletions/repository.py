"""Every deletion-request query, scoped to one workspace."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from veil.models import DeletionRequest


class DeletionRepository:
    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def statement(self) -> Select[DeletionRequest]:
        return select(DeletionRequest).where(DeletionRequest.workspace_id == self.workspace_id)

    def get(self, deletion_id: str) -> DeletionRequest | None:
        return self.session.scalar(self.statement().where(DeletionRequest.id == deletion_id))

    def for_profile(self, profile_id: str) -> DeletionRequest | None:
        return self.session.scalar(self.statement().where(DeletionRequest.profile_id == profile_id))
