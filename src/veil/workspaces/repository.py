"""Queries of a workspace's own records (API keys, write keys, memberships), scoped to it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from veil.kit.repository import WorkspaceRepository
from veil.models import ApiKey, Membership, WriteKey


class ApiKeyRepository(WorkspaceRepository[ApiKey]):
    model = ApiKey
    not_found = "API key not found."

    def api_keys(self) -> Select[Any]:
        return self.statement()


class WriteKeyRepository(WorkspaceRepository[WriteKey]):
    model = WriteKey

    def active(self) -> WriteKey | None:
        """The newest write key not revoked."""
        stmt = self.statement().where(WriteKey.revoked_at.is_(None)).order_by(WriteKey.id.desc())
        result: WriteKey | None = self.session.scalar(stmt)
        return result


class MembershipRepository(WorkspaceRepository[Membership]):
    model = Membership

    def of_user(self, user_id: str) -> Membership | None:
        result: Membership | None = self.session.scalar(
            self.statement().where(Membership.user_id == user_id)
        )
        return result
