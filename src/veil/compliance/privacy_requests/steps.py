"""The steps of a privacy request (SPEC §8.2 to §8.4), run by the `privacy_request` job.

access: an export (§4) of each matched contact — an open export of that profile is reused,
not refused; completed when every export is built (ready, or downloaded/expired since).
erasure: a deletion (§5) of each matched profile — a profile already being erased links its
existing deletion; completed when every deletion completed, `verified` when each one was.

The steps are created once, in one transaction that also sets `steps_started` (so a crash
leaves either all of them or none); afterwards the job only checks whether they finished.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from veil.compliance.deletions.repository import DeletionRepository
from veil.compliance.deletions.service import request_deletion
from veil.compliance.exports.repository import ExportRepository
from veil.compliance.exports.service import request_export
from veil.errors import AlreadyRequested, NotAContact, NotFound, ProfileDeleted
from veil.kit.time import utcnow
from veil.models import DeletionRequest, ExportRequest, PrivacyRequest
from veil.models.deletion_request import DeletionStatus
from veil.models.export_request import OPEN_STATUSES, ExportStatus
from veil.models.privacy_request import PrivacyRequestType
from veil.runtime import Runtime

REQUESTED_BY = "privacy request"


class Outcome(Enum):
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"


def start_steps(session: Session, runtime: Runtime, request: PrivacyRequest) -> None:
    if request.type == PrivacyRequestType.ACCESS:
        request.export_ids = _exports(session, runtime, request)
    elif request.type == PrivacyRequestType.ERASURE:
        request.deletion_ids = _deletions(session, runtime, request)
    else:  # pragma: no cover - a restriction completes at creation (at_once.py), no steps
        raise NotImplementedError("restriction")
    request.steps_started = True


def _open_export(session: Session, workspace_id: str, profile_id: str) -> ExportRequest | None:
    found: ExportRequest | None = session.scalar(
        ExportRepository(session, workspace_id)
        .statement()
        .where(
            ExportRequest.profile_id == profile_id,
            ExportRequest.status.in_(OPEN_STATUSES),
            ExportRequest.expires_at > utcnow(),
        )
        .limit(1)
    )
    return found


def _as_requester(runtime: Runtime, request: PrivacyRequest) -> dict[str, Any]:
    """The keyword arguments the export and deletion services take, for this request."""
    return {
        "runtime": runtime,
        "workspace_id": request.workspace_id,
        "requested_by": REQUESTED_BY,
        "actor": f"privacy_request:{request.id}",
        "source": str(request.source),
    }


def _exports(session: Session, runtime: Runtime, request: PrivacyRequest) -> list[str]:
    ids: list[str] = []
    requester = _as_requester(runtime, request)
    for profile_id in request.profile_ids:
        export = _open_export(session, request.workspace_id, profile_id)
        if export is None:
            try:
                export = request_export(session, profile_id=profile_id, **requester)
            except (NotAContact, NotFound, ProfileDeleted):
                continue  # nothing to export: no contact details, or erased meanwhile
            except AlreadyRequested:
                export = _open_export(session, request.workspace_id, profile_id)
        if export is not None and export.id not in ids:
            ids.append(export.id)
    return ids


def _deletions(session: Session, runtime: Runtime, request: PrivacyRequest) -> list[str]:
    ids: list[str] = []
    repo = DeletionRepository(session, request.workspace_id)
    requester = _as_requester(runtime, request)
    for profile_id in request.profile_ids:
        try:
            deletion = request_deletion(
                session,
                profile_id=profile_id,
                suppress=request.suppress,
                privacy_request_id=request.id,
                **requester,
            )
        except ProfileDeleted:
            # Being (or already) erased: that deletion counts (one per profile, ever).
            found = session.scalar(repo.statement().where(DeletionRequest.profile_id == profile_id))
            if found is None:
                continue
            deletion = found
        except NotFound:
            continue
        if deletion.id not in ids:
            ids.append(deletion.id)
    return ids


def check_steps(session: Session, request: PrivacyRequest) -> Outcome:
    """Whether every step finished; sets `verified` for an erasure that completed."""
    if request.type == PrivacyRequestType.ACCESS:
        statuses = session.scalars(
            select(ExportRequest.status).where(
                ExportRequest.workspace_id == request.workspace_id,
                ExportRequest.id.in_(list(request.export_ids)),
            )
        ).all()
        if ExportStatus.FAILED in statuses:
            return Outcome.FAILED
        return Outcome.WAITING if ExportStatus.PENDING in statuses else Outcome.DONE
    deletions = list(
        session.scalars(
            select(DeletionRequest).where(
                DeletionRequest.workspace_id == request.workspace_id,
                DeletionRequest.id.in_(list(request.deletion_ids)),
            )
        )
    )
    # A failed deletion is retried by its own sweep (§5): the request waits for it.
    if any(d.status != DeletionStatus.COMPLETED for d in deletions):
        return Outcome.WAITING
    request.verified = all((d.summary or {}).get("verified") is True for d in deletions)
    return Outcome.DONE
