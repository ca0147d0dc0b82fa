"""Export requests (SPEC §4): request, list, download, retry. Services never commit.

One open (pending/ready) request per profile is guaranteed by the partial unique index
uq_export_requests_open_profile: the insert runs in a savepoint and a unique violation
becomes `409 already_requested`. There is no check-then-insert: 20 concurrent requests for
one profile store exactly one row, on SQLite and on PostgreSQL.

The job that builds the file is enqueued only after the commit that stored the row
(veil.db.enqueue_after_commit), with the request id as its only argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from veil.audit import service as audit
from veil.compliance.exports.lifecycle import destroy_export
from veil.compliance.exports.repository import ExportRepository
from veil.compliance.exports.schemas import ExportPage, ExportRead
from veil.compliance.exports.writer import file_owner, filename_of
from veil.compliance.profile_request import Contact
from veil.db import add_if_unique, enqueue_after_commit
from veil.errors import (
    AlreadyRequested,
    Conflict,
    ExportExpired,
    ExportNotReady,
    NotAContact,
)
from veil.kit.crypto import DecryptionError
from veil.kit.ids import new_id
from veil.kit.pagination import PageParams
from veil.kit.time import add_months, rfc3339, utcnow
from veil.models import ExportRequest, Profile
from veil.models.export_request import EXPIRING_STATUSES, UNFULFILLED_STATUSES, ExportStatus
from veil.models.profile import ACTIVE
from veil.profiles.service import get_active_profile
from veil.runtime import Runtime

EXPORT_JOB = "export"
TARGET = "export_request"
_DOWNLOADABLE = (ExportStatus.READY, ExportStatus.DOWNLOADED)


def request_export(
    session: Session,
    *,
    runtime: Runtime,
    workspace_id: str,
    profile_id: str,
    requested_by: str,
    actor: str,
    source: str = "api",
) -> ExportRequest:
    """Store a `pending` export request for a contact and enqueue its job after commit.

    Raises NotFound (not in this workspace), ProfileDeleted (409), NotAContact (422),
    AlreadyRequested (409) while the profile has a pending or ready request.
    `requested_by` is the human label shown in the tables; `actor` the audit log's id.
    """
    profile = _exportable_profile(session, workspace_id=workspace_id, profile_id=profile_id)
    now = utcnow()
    repo = ExportRepository(session, workspace_id)
    # A request whose TTL ran out still blocks the index until the sweep expires it: do
    # that now, so "after expiry a new request is allowed" holds between sweeps too.
    for stale in repo.open_past_expiry(profile.id, now=now):
        expire_export(session, runtime=runtime, export=stale)

    export = ExportRequest(
        id=new_id("exp"),
        workspace_id=workspace_id,
        profile_id=profile.id,
        status=ExportStatus.PENDING,
        requested_at=now,
        requested_by=requested_by[:320],
        source=source[:16],
        due_at=add_months(now, 1),
        expires_at=now + runtime.settings.export_ttl,
        # The message enqueued below is on its way: the sweep must not send a second one
        # unless this one is lost (no claim within one lease).
        next_attempt_at=now + runtime.settings.job_lease,
        attempts=0,
        download_count=0,
    )
    if not add_if_unique(session, export):
        raise AlreadyRequested()
    audit_export(session, export, "export.requested", actor=actor, source=export.source)
    enqueue_after_commit(session, EXPORT_JOB, export.id)
    return export


def retry_export(
    session: Session, *, runtime: Runtime, workspace_id: str, export_id: str, actor: str
) -> ExportRequest:
    """An admin's retry of a `failed` request: back to `pending` with fresh attempts."""
    export = _get(session, workspace_id, export_id, for_update=True)
    if export.status != ExportStatus.FAILED:
        raise Conflict("Only a failed export request can be retried.")
    now = utcnow()
    if export.expires_at <= now:
        raise ExportExpired("This export request has expired. Request a new export.")
    _exportable_profile(session, workspace_id=workspace_id, profile_id=export.profile_id)
    try:
        with session.begin_nested():
            export.status = ExportStatus.PENDING
            export.attempts = 0
            export.last_error = None
            export.lease_until = None
            export.next_attempt_at = now + runtime.settings.job_lease
            session.flush()
    except IntegrityError:
        # A newer request for the same profile is open: that one is the one to wait for.
        raise AlreadyRequested() from None
    audit_export(session, export, "export.retried", actor=actor)
    enqueue_after_commit(session, EXPORT_JOB, export.id)
    return export


def _exportable_profile(session: Session, *, workspace_id: str, profile_id: str) -> Profile:
    profile = get_active_profile(session, workspace_id=workspace_id, profile_id=profile_id)
    if not profile.is_contact:
        raise NotAContact()
    return profile


def _get(
    session: Session, workspace_id: str, export_id: str, *, for_update: bool = False
) -> ExportRequest:
    return ExportRepository(session, workspace_id).get_one(export_id, for_update=for_update)


def get_export(session: Session, *, workspace_id: str, export_id: str) -> ExportRead:
    export = _get(session, workspace_id, export_id)
    return read_export(session, workspace_id=workspace_id, export=export)


def list_exports(
    session: Session,
    *,
    workspace_id: str,
    page: PageParams,
    profile_id: str | None = None,
) -> ExportPage:
    """The "Downloaded" table: newest first, keyset pages by (requested_at, id)."""
    repo = ExportRepository(session, workspace_id)
    rows, next_cursor = repo.newest_first(page, repo.listing(profile_id=profile_id))
    profiles = repo.profiles_by_id([e.profile_id for e in rows])
    now = utcnow()
    return ExportPage(
        data=[_read(e, profiles.get(e.profile_id), now) for e in rows], next_cursor=next_cursor
    )


def read_export(session: Session, *, workspace_id: str, export: ExportRequest) -> ExportRead:
    """The API/UI shape of one request, with the live profile's name, email and phone."""
    profiles = ExportRepository(session, workspace_id).profiles_by_id([export.profile_id])
    return _read(export, profiles.get(export.profile_id), utcnow())


def effective_status(export: ExportRequest, now: datetime) -> str:
    """The stored status, except that a request past its TTL is `expired` even before the
    sweep (or a download attempt) has destroyed its file."""
    if export.status in EXPIRING_STATUSES and export.expires_at <= now:
        return ExportStatus.EXPIRED
    return export.status


def _read(export: ExportRequest, profile: Profile | None, now: datetime) -> ExportRead:
    live = profile if profile is not None and profile.status == ACTIVE else None
    contact = Contact(live.full_name, live.email, live.phone) if live else Contact()
    status = effective_status(export, now)
    return ExportRead(
        **ExportRead.shared_fields(export, contact),
        status=status,
        expires_at=rfc3339(export.expires_at) or "",
        downloaded_at=rfc3339(export.downloaded_at),
        due_at=rfc3339(export.due_at) or "",
        overdue=status in UNFULFILLED_STATUSES and export.due_at <= now,
        ready_at=rfc3339(export.ready_at),
        download_count=export.download_count,
        event_count=export.event_count,
        source=export.source,
        attempts=export.attempts,
        last_error=export.last_error if status in UNFULFILLED_STATUSES else None,
        download_url=(
            f"/api/v1/compliance/exports/{export.id}/download" if status in _DOWNLOADABLE else None
        ),
    )


# -- download ---------------------------------------------------------------------------------


@dataclass
class ExportDownload:
    """A verified, decrypting stream of one export file; iterate `chunks` exactly once."""

    export_id: str
    profile_id: str
    filename: str
    size: int
    chunks: Iterator[bytes]


def download(
    session: Session, *, runtime: Runtime, workspace_id: str, export_id: str, actor: str
) -> ExportDownload:
    """Open a ready (or already downloaded) file, mark it `downloaded` and audit the download.

    The whole file is authenticated (decrypted and discarded) before anything is returned,
    so a caller never starts a response it cannot finish: a damaged file, or one sealed
    under a secret no longer configured, is never served partially.

    ExportExpired (410) and ExportNotReady (409) may come with a state change the caller
    must COMMIT before answering: a file found past its TTL is destroyed there and then, and
    an unreadable file is discarded and its request queued to be built again.
    """
    export = _get(session, workspace_id, export_id, for_update=True)
    now = utcnow()
    if export.status in EXPIRING_STATUSES and export.expires_at <= now:
        expire_export(session, runtime=runtime, export=export)
        raise ExportExpired()
    if export.status == ExportStatus.EXPIRED:
        raise ExportExpired()
    if export.status not in _DOWNLOADABLE or not export.file_key:
        raise ExportNotReady()

    owner = file_owner(workspace_id, export.id)
    try:
        source = runtime.export_store.open(export.file_key)
    except FileNotFoundError:
        _rebuild(session, runtime, export)
        raise ExportNotReady(_REBUILDING) from None
    try:
        size = _verify(runtime, source, owner=owner)
        source.seek(0)
        chunks = runtime.file_keyring.decrypt_stream(source, owner=owner)
    except DecryptionError:
        source.close()
        _rebuild(session, runtime, export)
        raise ExportNotReady(_REBUILDING) from None

    export.status = ExportStatus.DOWNLOADED
    if export.downloaded_at is None:
        export.downloaded_at = now
    export.download_count += 1
    audit_export(session, export, "export.downloaded", actor=actor, download=export.download_count)
    session.flush()
    return ExportDownload(
        export_id=export.id,
        profile_id=export.profile_id,
        filename=filename_of(export.profile_id),
        size=size,
        chunks=_closing(chunks, source),
    )


_REBUILDING = "The export file could not be read; it is being built again. Try again shortly."


def _verify(runtime: Runtime, source: BinaryIO, *, owner: str) -> int:
    """Authenticate every chunk (constant memory); the plaintext size."""
    return sum(len(chunk) for chunk in runtime.file_keyring.decrypt_stream(source, owner=owner))


def _closing(chunks: Iterator[bytes], source: BinaryIO) -> Iterator[bytes]:
    try:
        yield from chunks
    finally:
        source.close()


def _rebuild(session: Session, runtime: Runtime, export: ExportRequest) -> None:
    """A file that is missing or does not authenticate is worthless: discard it and build
    the request again (it stays within its original TTL)."""
    if export.file_key:
        runtime.export_store.delete(export.file_key)
    export.file_key = None
    export.file_size = None
    export.status = ExportStatus.PENDING
    export.ready_at = None
    export.attempts = 0
    export.lease_until = None
    export.last_error = "file_unreadable"
    export.next_attempt_at = utcnow() + runtime.settings.job_lease
    audit_export(session, export, "export.rebuilding", reason="file_unreadable")
    session.flush()
    enqueue_after_commit(session, EXPORT_JOB, export.id)


def expire_export(
    session: Session, *, runtime: Runtime, export: ExportRequest, actor: str = "system"
) -> None:
    """TTL expiry: file destroyed, status `expired`, audited (ids only)."""
    had_file = destroy_export(runtime, export)
    audit_export(session, export, "export.expired", actor=actor, file_destroyed=had_file)


def audit_export(
    session: Session,
    export: ExportRequest,
    action: str,
    *,
    actor: str = "system",
    **details: str | int | bool,
) -> None:
    """One audit entry about an export request: ids and counts only, never personal data."""
    audit.record_about(
        session,
        export,
        TARGET,
        action,
        actor=actor,
        details={"profile_id": export.profile_id, **details},
    )
