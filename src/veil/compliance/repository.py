"""One data subject's rows, scoped to a workspace and a profile: what export and erasure read
and write. Every query starts from `rows()` (or the scoped UPDATE / DELETE), so neither job
can reach another workspace's or another person's rows by a forgotten condition."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from veil.kit.repository import WorkspaceRepository
from veil.models import Consent, Event, ExportRequest, Profile, ProfileIdentifier, Recipient

M = TypeVar("M")

# The bind parameters of `SubjectRows.bound_scope()`.
SUBJECT_WORKSPACE = "subject_workspace"
SUBJECT_PROFILE = "subject_profile"


class SubjectRows(WorkspaceRepository[M]):
    """`model`'s rows of one profile in one workspace."""

    # The column naming the profile ("id" on the profile itself).
    subject_column: ClassVar[str] = "profile_id"

    def __init__(self, session: Session, workspace_id: str, profile_id: str) -> None:
        super().__init__(session, workspace_id)
        self.profile_id = profile_id

    def _of_subject(self) -> Any:
        return getattr(self.model, self.subject_column) == self.profile_id

    # -- statements built once ------------------------------------------------------------------
    # A hot path (the erasure runs the same dozen statements for every subject) builds its
    # statement once, scoped by `bound_scope()`, whose workspace and profile are bind
    # parameters, and runs it with `params`. Running it without them fails ("A value is
    # required for bind parameter"): it cannot reach rows outside the subject silently.

    @classmethod
    def bound_scope(cls) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """The scope of `rows()`, with the workspace and the profile bound at execution."""
        return (
            cls.model.workspace_id == bindparam(SUBJECT_WORKSPACE),
            getattr(cls.model, cls.subject_column) == bindparam(SUBJECT_PROFILE),
        )

    @property
    def params(self) -> dict[str, Any]:
        """The values of `bound_scope()`'s parameters for this subject."""
        return {SUBJECT_WORKSPACE: self.workspace_id, SUBJECT_PROFILE: self.profile_id}

    def rows(self, *columns: Any) -> Select[Any]:
        """SELECT the model (or these columns) of the subject's rows."""
        return self.scoped(select(*(columns or (self.model,)))).where(self._of_subject())


class SubjectProfile(SubjectRows[Profile]):
    model = Profile
    subject_column = "id"


class SubjectEvents(SubjectRows[Event]):
    model = Event


class SubjectRecipients(SubjectRows[Recipient]):
    model = Recipient


class SubjectConsents(SubjectRows[Consent]):
    model = Consent


class SubjectExports(SubjectRows[ExportRequest]):
    model = ExportRequest


class SubjectIdentifiers(SubjectRows[ProfileIdentifier]):
    """The subject's previous identifiers (SPEC §9 identifier history)."""

    model = ProfileIdentifier
