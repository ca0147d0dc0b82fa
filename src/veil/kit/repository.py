"""The one workspace-scoped repository base: every query of a feature goes through a subclass.

After Polar's `kit/repository/base.py`: the workspace filter is applied in exactly one place
(`statement()`), so another workspace's row is simply not found.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Generic, Protocol, Self, TypeVar

from sqlalchemy import ARRAY, ColumnElement, Select, String, any_, bindparam, func, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from veil.errors import NotFound
from veil.kit.pagination import PageParams, paginate

M = TypeVar("M")


class _Filterable(Protocol):
    """A statement that takes a WHERE clause: a SELECT of some columns, an UPDATE, a DELETE."""

    def where(self, *whereclause: Any) -> Self: ...


S = TypeVar("S", bound=_Filterable)


class WorkspaceRepository(Generic[M]):
    """Queries on `model`, scoped to one workspace. Subclasses set `model`, `not_found`: the
    message of `get_one`'s NotFound, and, if they list rows, `newest_by`."""

    model: ClassVar[type[Any]]
    not_found: ClassVar[str] = "Not found."
    # What "newest" means in `newest_first`: (time column, id), the tail of the table's
    # (workspace_id, …) index where it has one.
    newest_by: ClassVar[tuple[InstrumentedAttribute[Any], ...]]

    def __init__(self, session: Session, workspace_id: str) -> None:
        self.session = session
        self.workspace_id = workspace_id

    def statement(self) -> Select[Any]:
        """`SELECT model WHERE workspace_id = :ws`: the start of every scoped query (`get`
        builds the same scope once per model, with the workspace bound at execution)."""
        model = self.model
        return select(model).where(model.workspace_id == self.workspace_id)

    def scoped(self, stmt: S, model: type[Any] | None = None) -> S:
        """`stmt` restricted to this workspace's rows of `model` (default: the repository's):
        for statements that select columns, update or delete, or filter a joined table."""
        scoped_model = self.model if model is None else model
        return stmt.where(scoped_model.workspace_id == self.workspace_id)

    def by_unique_key(
        self,
        columns: Sequence[Any],
        key: InstrumentedAttribute[Any],
        values: Sequence[str],
        *criteria: Any,
    ) -> Select[Any]:
        """`columns` of this workspace's rows whose `key` is one of `values`, where
        (workspace_id, key) is unique among the rows `criteria` select (a unique, maybe partial,
        index). On PostgreSQL one probe of that index per value (unnest + LATERAL ... LIMIT 1):
        with `key IN (...)` its planner may read every row of the workspace in the index and
        filter them, which it does whenever its statistics think the workspace small (a new
        workspace's first import, before autovacuum's ANALYZE), so each batch of an import
        read all the rows stored so far. Elsewhere: `IN`."""
        if self.session.get_bind().dialect.name != "postgresql":
            return self.scoped(select(*columns)).where(
                *criteria, key.is_not(None), key.in_(list(values))
            )
        wanted = (
            func.unnest(bindparam("wanted", list(values), type_=ARRAY(String)))
            .table_valued("value")
            .render_derived(name="wanted")
        )
        found = (
            self.scoped(select(*columns))
            .where(*criteria, key == wanted.c.value)
            .limit(1)
            .lateral("found")
        )
        return select(*found.c).select_from(wanted).join(found, true())

    def one_of(
        self, column: InstrumentedAttribute[str], values: Sequence[str]
    ) -> ColumnElement[bool]:
        """`column IN (values)` for a batch of string values. On PostgreSQL `column =
        ANY(:values)`, one array parameter: the statement's text is the same whatever the
        number of values, so SQLAlchemy's compiled cache and the driver's prepared statements
        serve every batch, where an expanded IN is rendered, converted and parsed anew for each
        count (a sixth of a batch of events' Python time on the suppression lookup and the
        profiles' touch). The planner probes an index on `column` with either form."""
        if self.session.get_bind().dialect.name == "postgresql":
            return column == any_(bindparam(None, list(values), type_=ARRAY(String)))
        return column.in_(list(values))

    def get(self, object_id: str, *, for_update: bool = False) -> M | None:
        """This workspace's row with this id: `statement()` and the id, built once per model
        (every request reads a row or two by id), the workspace and id bound at execution."""
        params = {_BY_ID_WORKSPACE: self.workspace_id, _BY_ID: object_id}
        result: M | None = self.session.scalar(_by_id(self.model, for_update), params)
        return result

    def get_one(self, object_id: str, *, for_update: bool = False) -> M:
        """`get`, or NotFound (`not_found`) when this workspace has no such row."""
        found = self.get(object_id, for_update=for_update)
        if found is None:
            raise NotFound(self.not_found)
        return found

    def newest_first(
        self, page: PageParams, stmt: Select[Any] | None = None
    ) -> tuple[list[M], str | None]:
        """A page of this workspace's rows, or of `stmt` (one of this repository's scoped
        statements, filtered), newest first by `newest_by`: the lists of SPEC §3."""
        listed = self.statement() if stmt is None else stmt
        return paginate(self.session, listed, keys=self.newest_by, descending=True, page=page)


_BY_ID_WORKSPACE, _BY_ID = "by_id_workspace", "by_id"
_BY_ID_STATEMENTS: dict[tuple[type[Any], bool], Select[Any]] = {}


def _by_id(model: type[Any], for_update: bool) -> Select[Any]:
    """`WorkspaceRepository.get`'s statement: what `statement()` selects, and the id (made
    on first use per model; a race makes the same statement twice, harmlessly)."""
    stmt = _BY_ID_STATEMENTS.get((model, for_update))
    if stmt is None:
        stmt = select(model).where(
            model.workspace_id == bindparam(_BY_ID_WORKSPACE), model.id == bindparam(_BY_ID)
        )
        if for_update:
            # A locked read must see the row as it is now, not as this session last loaded it.
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        _BY_ID_STATEMENTS[(model, for_update)] = stmt
    return stmt
