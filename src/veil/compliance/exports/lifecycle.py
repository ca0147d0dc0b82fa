"""Destroying an export's file: shared by TTL expiry (sweep) and by erasure of the profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from veil.compliance.repository import SubjectExports
from veil.kit.time import utcnow
from veil.models import ExportRequest
from veil.models.export_request import ExportStatus
from veil.runtime import Runtime


def destroy_export(runtime: Runtime, export: ExportRequest) -> bool:
    """Delete the stored file (if any) and mark the request `expired`; True if a file went."""
    removed = False
    if export.file_key:
        removed = runtime.export_store.delete(export.file_key)
        export.file_key = None
    if export.status != ExportStatus.EXPIRED:
        export.status = ExportStatus.EXPIRED
        export.expired_at = utcnow()
    export.lease_until = None
    return removed


def destroy_exports_of_profile(
    session: Session, runtime: Runtime, *, workspace_id: str, profile_id: str
) -> tuple[int, int]:
    """Every export of a profile: files destroyed, requests `expired`. Returns (requests, files).

    A job building one of these files right now checks the status before it publishes the
    file, and deletes its own output when the request was expired under it.
    """
    subject = SubjectExports(session, workspace_id, profile_id)
    exports = session.scalars(_EXPORTS_OF_SUBJECT, subject.params).all()
    requests = files = 0
    for export in exports:
        if export.status != ExportStatus.EXPIRED or export.file_key:
            requests += 1
        if destroy_export(runtime, export):
            files += 1
    session.flush()
    return requests, files


# Every erasure runs it: built once, the workspace and profile bound at execution.
_EXPORTS_OF_SUBJECT = select(ExportRequest).where(*SubjectExports.bound_scope())
