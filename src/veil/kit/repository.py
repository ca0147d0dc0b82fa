"""The one workspace-scoped repository base: every query of a feature goes through a subclass.

After Polar's `kit/repository/base.py`: the workspace filter is applied in exactly one place
(`statement()`), so another workspace's row is simply not found.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import Delete, Select, Update, delete, select, update
from sqlalchemy.orm import Session

M = TypeVar("M")


class WorkspaceRepository(Generic[M]):
    """Queries on `model`, scoped to one workspace. Subclasses set `model`."""

    model: ClassVar[type[Any]]

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def statement(self, *columns: Any) -> Select[Any]:
        """`SELECT model (or these columns) WHERE workspace_id = :ws`: the start of every
        scoped query."""
        model = self.model
        return select(*(columns or (model,))).where(model.workspace_id == self.workspace_id)

    def update_statement(self) -> Update:
        """`UPDATE model WHERE workspace_id = :ws` (bulk: the session's objects are not synced)."""
        model = self.model
        return (
            update(model)
            .where(model.workspace_id == self.workspace_id)
            .execution_options(synchronize_session=False)
        )

    def delete_statement(self) -> Delete:
        """`DELETE FROM model WHERE workspace_id = :ws` (bulk, as update_statement)."""
        model = self.model
        return (
            delete(model)
            .where(model.workspace_id == self.workspace_id)
            .execution_options(synchronize_session=False)
        )

    def get(self, object_id: str, *, for_update: bool = False) -> M | None:
        stmt = self.statement().where(self.model.id == object_id)
        if for_update:
            # A locked read must see the row as it is now, not as this session last loaded it.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        result: M | None = self.session.scalar(stmt)
        return result
