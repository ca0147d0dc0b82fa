"""The per-profile doors of §4/§5 as privacy requests (SPEC §8): ⋯ → Export / Delete, the
`POST /profiles/{id}/export|delete` API and Shopify's GDPR topics each create a privacy request
(source `ui`, `api`, `shopify`) around the export or deletion they already made, so one list
shows every data-subject request. Their answers stay exactly what they were: the export or
deletion is created first, by the same service call, with the same errors.

`shop/redact` names a whole shop: it is answered at once and fanned out by the
`privacy_request` job (one parent request with `scope` `shop:<domain>`, then one erasure
request per profile, in batches), so 50,000 customers never time out the webhook.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.deletions.service import request_deletion
from veil.compliance.exports.service import request_export
from veil.compliance.privacy_requests import deadlines
from veil.compliance.privacy_requests.identities import Identity, seal_identities
from veil.compliance.privacy_requests.service import JOB, TARGET, audit_request
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import DeletionRequest, ExportRequest, PrivacyRequest, Workspace
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
    Regulation,
)
from veil.runtime import Runtime

SHOP_SCOPE = "shop:"


def _source(value: str) -> PrivacyRequestSource:
    try:
        return PrivacyRequestSource(value)
    except ValueError:
        return PrivacyRequestSource.API


def export_profile(session: Session, **step: Any) -> ExportRequest:
    """request_export (same keyword arguments, answer and errors), recorded as an access request."""
    export = request_export(session, **step)
    _record(session, step, type=PrivacyRequestType.ACCESS, step_id=export.id)
    return export


def delete_profile(session: Session, **step: Any) -> DeletionRequest:
    """request_deletion (same keyword arguments, answer and errors), recorded as an erasure."""
    deletion = request_deletion(session, **step)
    _record(session, step, type=PrivacyRequestType.ERASURE, step_id=deletion.id)
    return deletion


def _new(
    session: Session,
    runtime: Runtime,
    *,
    workspace_id: str,
    type: PrivacyRequestType,
    identities: list[Identity],
    source: PrivacyRequestSource,
    requested_by: str,
) -> PrivacyRequest:
    workspace = session.get_one(Workspace, workspace_id)
    regulation = Regulation(workspace.default_regulation)
    now = utcnow()
    request_id = new_id("prq")
    return PrivacyRequest(
        id=request_id,
        workspace_id=workspace_id,
        type=type,
        status=PrivacyRequestStatus.IN_PROGRESS,
        regulation=regulation,
        source=source,
        identities_sealed=seal_identities(
            runtime.seal_keyring, identities, workspace_id=workspace_id, request_id=request_id
        ),
        received_at=now,
        due_at=deadlines.due_at(regulation, now, other_days=workspace.other_regulation_days),
        requested_by=requested_by[:320],
        extended=False,
        suppress=False,
        profile_ids=[],
        export_ids=[],
        deletion_ids=[],
        callback_urls=[],
        steps_started=True,
        attempts=0,
        next_attempt_at=now + runtime.settings.job_lease,
        created_at=now,
        updated_at=now,
    )


def _record(
    session: Session, step: dict[str, Any], *, type: PrivacyRequestType, step_id: str
) -> PrivacyRequest:
    """The request around a step that already exists: started, checked by the job."""
    profile_id: str = step["profile_id"]
    request = _new(
        session,
        step["runtime"],
        workspace_id=step["workspace_id"],
        type=type,
        identities=[Identity("profile_id", profile_id)],
        source=_source(step.get("source", "api")),
        requested_by=step["requested_by"],
    )
    request.profile_ids = [profile_id]
    if type == PrivacyRequestType.ACCESS:
        request.export_ids = [step_id]
    else:
        request.deletion_ids = [step_id]
    session.add(request)
    session.flush()
    audit_request(
        session,
        request,
        "privacy_request.created",
        actor=step["actor"],
        type=str(type),
        source=str(request.source),
        regulation=str(request.regulation),
        profiles=1,
    )
    # Behind the step's own job on the queue: it usually finds the step done.
    db.enqueue_after_commit(session, JOB, request.id)
    return request


def schedule_shop_redact(
    session: Session, *, runtime: Runtime, workspace_id: str, shop_domain: str | None
) -> PrivacyRequest:
    """One parent erasure request for the whole shop; the job fans it out."""
    request = _new(
        session,
        runtime,
        workspace_id=workspace_id,
        type=PrivacyRequestType.ERASURE,
        identities=[],
        source=PrivacyRequestSource.SHOPIFY,
        requested_by="shopify",
    )
    request.steps_started = False
    request.scope = SHOP_SCOPE + (shop_domain or "")
    session.add(request)
    session.flush()
    audit.record_about(
        session,
        request,
        TARGET,
        "privacy_request.created",
        actor="shopify",
        details={"type": "erasure", "source": "shopify", "scope": "shop"},
    )
    db.enqueue_after_commit(session, JOB, request.id)
    return request
