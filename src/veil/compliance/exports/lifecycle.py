"""Destroying an export's file: shared by TTL expiry (sweep) and by erasure of the profile."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from veil.kit.time import utcnow
from veil.models import ExportRequest
from veil.models.export_request import DOWNLOADED, EXPIRED, FAILED, PENDING, READY
from veil.runtime import Runtime


def destroy_export(runtime: Runtime, export: ExportRequest) -> bool:
    """Delete the stored file (if any) and mark the request `expired`; True if a file went."""
    removed = False
    if export.file_key:
        removed = runtime.export_store.delete(export.file_key)
        export.file_key = None
    if export.status != EXPIRED:
        export.status = EXPIRED
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
    exports = session.scalars(
        select(ExportRequest).where(
            ExportRequest.workspace_id == workspace_id,
            ExportRequest.profile_id == profile_id,
            ExportRequest.status.in_((PENDING, READY, DOWNLOADED, FAILED, EXPIRED)),
        )
    ).all()
    requests = files = 0
    for export in exports:
        if export.status != EXPIRED or export.file_key:
            requests += 1
        if destroy_export(runtime, export):
            files += 1
    session.flush()
    return requests, files
