"""One data subject's rows, scoped to a workspace and a profile: what export and erasure read
and write. Every query starts from `rows()` (or the scoped UPDATE / DELETE), so neither job
can reach another workspace's or another person's rows by a forgotten condition."""

from __future__ import annotations

from typing import Any, ClassVar, TypeVar

from sqlalchemy import Delete, Select, Update, delete, select, update
from sqlalchemy.orm import Session

from veil.kit.repository import WorkspaceRepository
from veil.models import Consent, Event, ExportRequest, Profile, ProfileIdentifier, Recipient

M = TypeVar("M")


class SubjectRows(WorkspaceRepository[M]):
    """`model`'s rows of one profile in one workspace."""

    # The column naming the profile ("id" on the profile itself).
    subject_column: ClassVar[str] = "profile_id"

    def __init__(self, session: Session, workspace_id: str, profile_id: str) -> None:
        super().__init__(session, workspace_id)
        self.profile_id = profile_id

    def _of_subject(self) -> Any:
        return getattr(self.model, self.subject_column) == self.profile_id

    def rows(self, *columns: Any) -> Select[Any]:
        """SELECT the model (or these columns) of the subject's rows."""
        return self.scoped(select(*(columns or (self.model,)))).where(self._of_subject())

    def update_rows(self) -> Update:
        """UPDATE the subject's rows (bulk: the session's objects are not synced)."""
        stmt = update(self.model).execution_options(synchronize_session=False)
        return self.scoped(stmt).where(self._of_subject())

    def delete_rows(self) -> Delete:
        """DELETE the subject's rows (bulk, as update_rows)."""
        stmt = delete(self.model).execution_options(synchronize_session=False)
        return self.scoped(stmt).where(self._of_subject())


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
