"""The one workspace-scoped repository base: every query of a feature goes through a subclass.

After Polar's `kit/repository/base.py`: the workspace filter is applied in exactly one place
(`statement()`), so another workspace's row is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from veil.errors import NotFound
from veil.kit.pagination import newest_first

M = TypeVar("M")


class _Filterable(Protocol):
    """A statement that takes a WHERE clause: a SELECT of some columns, an UPDATE, a DELETE."""

    def where(self, *whereclause: Any) -> Self: ...


S = TypeVar("S", bound=_Filterable)


class WorkspaceRepository(Generic[M]):
    """Queries on `model`, scoped to one workspace. Subclasses set `model`, and `not_found`:
    the message of `get_one`'s NotFound."""

    model: ClassVar[type[Any]]
    not_found: ClassVar[str] = "Not found."

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def statement(self) -> Select[Any]:
        """`SELECT model WHERE workspace_id = :ws`: the start of every scoped query."""
        model = self.model
        return select(model).where(model.workspace_id == self.workspace_id)

    def scoped(self, stmt: S, model: type[Any] | None = None) -> S:
        """`stmt` restricted to this workspace's rows of `model` (default: the repository's):
        for statements that select columns, update or delete, or filter a joined table."""
        scoped_model = self.model if model is None else model
        return stmt.where(scoped_model.workspace_id == self.workspace_id)

    def get(self, object_id: str, *, for_update: bool = False) -> M | None:
        stmt = self.statement().where(self.model.id == object_id)
        if for_update:
            # A locked read must see the row as it is now, not as this session last loaded it.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        result: M | None = self.session.scalar(stmt)
        return result

    def get_one(self, object_id: str, *, for_update: bool = False) -> M:
        """`get`, or NotFound (`not_found`) when this workspace has no such row."""
        found = self.get(object_id, for_update=for_update)
        if found is None:
            raise NotFound(self.not_found)
        return found

    def newest_first(
        self,
        *,
        by: Sequence[InstrumentedAttribute[Any]],
        limit: int | None,
        cursor: str | None,
    ) -> tuple[list[M], str | None]:
        """A page of this workspace's rows, newest first by `by` (time column, id)."""
        return newest_first(self.session, self.statement(), by=by, limit=limit, cursor=cursor)
