"""Deletion requests (SPEC §5): ask for an erasure, read the permanent record.

`request_deletion` is the one entry point for every caller (API, UI, CLI, Shopify
customers/redact). In ONE transaction it stores the request with the subject's contact details
sealed, marks the profile deleted — so identity resolution stops matching it at once and the
next event for the same person lands on a new profile — writes the audit entry, and enqueues
the erasure job once that transaction commits. The erasure itself is veil.compliance.deletions
.erasure, run by the worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from veil import db
from veil.audit import service as audit
from veil.compliance.deletions.progress import Progress
from veil.compliance.deletions.repository import DeletionRepository
from veil.compliance.deletions.scrubber import Subject
from veil.compliance.erasure_rules import ADDRESS_KEYS, EMAIL_KEYS, PHONE_KEYS, key_in
from veil.compliance.profile_request import Contact
from veil.compliance.repository import SubjectRecipients
from veil.compliance.suppressions import service as suppressions
from veil.errors import ProfileDeleted, ValidationFailed
from veil.kit.crypto import DecryptionError, Keyring
from veil.kit.ids import new_id
from veil.kit.pagination import PageParams
from veil.kit.time import add_months, utcnow
from veil.models import DeletionRequest, IdentifierType, Profile, Recipient
from veil.models.deletion_request import DeletionStatus
from veil.models.profile import DELETED
from veil.profiles.history import previous_identifiers
from veil.profiles.identifiers import email_forms, normalize_phone
from veil.profiles.repository import ProfileRepository
from veil.profiles.service import workspace_region
from veil.runtime import Runtime

JOB = "deletion"


def _aad(workspace_id: str, request_id: str, field: str) -> str:
    """Binds a sealed value to its workspace, its request and its column."""
    return f"deletion:{workspace_id}:{request_id}:{field}"


def sealed_contact(
    keyring: Keyring,
    *,
    workspace_id: str,
    request_id: str,
    name: str | None,
    email: str | None,
    phone: str | None,
) -> dict[str, str | None]:
    """The record's contact columns, each sealed and bound to its request and column."""
    return {
        f"{field}_sealed": keyring.seal_optional(value, aad=_aad(workspace_id, request_id, field))
        for field, value in (("name", name), ("email", email), ("phone", phone))
    }


def request_deletion(
    session: Session,
    *,
    runtime: Runtime,
    workspace_id: str,
    profile_id: str,
    requested_by: str,
    actor: str,
    source: str = "api",
    suppress: bool | None = None,
    privacy_request_id: str | None = None,
) -> DeletionRequest:
    """Store a deletion request and stop the profile from matching, in the caller's transaction.

    `suppress` (default: the workspace's `suppress_on_delete`) also keeps the person out from
    now on (SPEC §9, veil.compliance.suppressions).

    Raises NotFound (no such profile in this workspace) and ProfileDeleted (already deleted).
    The erasure job is enqueued only after the caller commits.
    """
    profile = ProfileRepository(session, workspace_id).get_active(profile_id, for_update=True)

    now = utcnow()
    request_id = new_id("del")
    subject = subject_of(session, profile=profile, region=workspace_region(session, workspace_id))
    keyring = runtime.seal_keyring
    request = DeletionRequest(
        id=request_id,
        workspace_id=workspace_id,
        profile_id=profile.id,
        status=DeletionStatus.PENDING,
        requested_at=now,
        requested_by=(requested_by or actor)[:320],
        source=source[:16],
        due_at=add_months(now, 1),  # GDPR Art. 12(3): without undue delay, within one month
        **sealed_contact(
            keyring,
            workspace_id=workspace_id,
            request_id=request_id,
            name=profile.full_name,
            email=profile.email,
            phone=profile.phone,
        ),
        subject_sealed=keyring.seal(
            subject.to_json(), aad=_aad(workspace_id, request_id, "subject")
        ),
        summary={},
        progress=Progress().dump(),
        # The message is on its way; the sweep re-enqueues only if it was lost.
        next_attempt_at=now + runtime.settings.job_lease,
    )
    # Same transaction: from the commit on, identity resolution no longer sees this profile.
    profile.status = DELETED
    profile.restriction_reason = None  # free text about the person: gone with them
    profile.deleted_at = now
    profile.updated_at = now
    if not db.add_if_unique(session, request):
        # A concurrent request for the same profile won (one deletion per profile, ever).
        raise ProfileDeleted()
    audit.record_about(
        session,
        profile,
        "profile",
        "deletion.requested",
        actor=actor,
        details={"deletion_request_id": request_id, "source": source},
    )
    if suppressions.suppresses_by_default(session, workspace_id) if suppress is None else suppress:
        suppressions.suppress_identifiers(
            session,
            runtime,
            workspace_id,
            [*suppressions.profile_identifiers(profile), *_previous_unclaimed(session, profile)],
            request_id,
            privacy_request_id,
            actor=actor,
        )
    db.enqueue_after_commit(session, JOB, request_id)
    return request


def _previous_unclaimed(session: Session, profile: Profile) -> list[tuple[str, str]]:
    """The profile's previous identifiers (SPEC §9) that no other active profile holds now:
    suppressing a value somebody else has since taken would keep that person out."""
    repo = ProfileRepository(session, profile.workspace_id)
    return [
        (row.type, row.value)
        for row in previous_identifiers(
            session, workspace_id=profile.workspace_id, profile_id=profile.id
        )
        if repo.find_active(row.type, row.value) is None
    ]


def subject_of(session: Session, *, profile: Profile, region: str) -> Subject:
    """Every identifier the erasure must search for: the profile's own and those it had before
    (SPEC §9 identifier history), the emails and phones its messages went to, and addresses
    and extra emails/phones kept in its properties."""
    emails: list[str] = [profile.email] if profile.email else []
    phones: list[str] = [profile.phone] if profile.phone else []
    identifiers = [i for i in (profile.external_id, profile.anonymous_id) if i]
    previous = {IdentifierType.EMAIL: emails, IdentifierType.PHONE: phones}
    for row in previous_identifiers(
        session, workspace_id=profile.workspace_id, profile_id=profile.id
    ):
        previous.get(IdentifierType(row.type), identifiers).append(row.value)
    addresses: list[str] = []
    for key, value in _leaves(profile.properties or {}):
        if key_in(key, EMAIL_KEYS):
            emails.extend(email_forms(value))
        elif key_in(key, PHONE_KEYS):
            phones.extend(_valid(lambda v: normalize_phone(v, region=region), value))
        elif key_in(key, ADDRESS_KEYS):
            addresses.append(value.strip())
    sent_to = session.execute(
        _SENT_TO, SubjectRecipients(session, profile.workspace_id, profile.id).params
    ).all()
    for email, phone in sent_to:
        emails.extend(email_forms(email) if email else [])
        phones.extend([phone] if phone else [])
    return Subject(
        # Both forms of an internationalised domain (bücher.de, xn--bcher-kva.de).
        emails=tuple(dict.fromkeys(form for email in emails for form in email_forms(email))),
        phones=tuple(dict.fromkeys(phones)),
        first_name=profile.first_name,
        last_name=profile.last_name,
        identifiers=tuple(dict.fromkeys(identifiers)),
        addresses=tuple(dict.fromkeys(a for a in addresses if a)),
    )


# The addresses the subject's messages went to (not redacted yet), read for every deletion
# request: built once, the workspace and profile bound at execution.
_SENT_TO = (
    select(Recipient.email, Recipient.phone)
    .where(*SubjectRecipients.bound_scope(), Recipient.redacted_at.is_(None))
    .distinct()
)


def _leaves(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    """(nearest key, string) for every string leaf of a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, key)
    elif isinstance(value, str) and key:
        yield key, value


def _valid(normalize: Any, value: str) -> list[str]:
    try:
        normalized = normalize(value)
    except ValidationFailed:
        return []
    return [normalized] if normalized else []


def unseal_subject(keyring: Keyring, request: DeletionRequest) -> Subject:
    if request.subject_sealed is None:
        raise RuntimeError("the deletion request no longer holds its subject")
    text = keyring.unseal(
        request.subject_sealed, aad=_aad(request.workspace_id, request.id, "subject")
    )
    return Subject.from_json(text)


# -- reading the record ------------------------------------------------------------------------


def unseal_contact(keyring: Keyring, request: DeletionRequest) -> Contact:
    """The sealed name, email and phone of a deletion record, opened for an admin."""

    def opened(token: str | None, field: str) -> str | None:
        try:
            return keyring.unseal_optional(token, aad=_aad(request.workspace_id, request.id, field))
        except DecryptionError:
            # Sealed under a secret that is no longer configured (VEIL_OLD_SECRET_KEYS).
            return None

    return Contact(
        name=opened(request.name_sealed, "name"),
        email=opened(request.email_sealed, "email"),
        phone=opened(request.phone_sealed, "phone"),
    )


def is_overdue(request: DeletionRequest, *, now: datetime | None = None) -> bool:
    """Not erased by its legal deadline (still open past due_at, or completed after it)."""
    finished = request.completed_at if request.status == DeletionStatus.COMPLETED else None
    return (finished or now or utcnow()) > request.due_at


def get_deletion(session: Session, *, workspace_id: str, deletion_id: str) -> DeletionRequest:
    return DeletionRepository(session, workspace_id).get_one(deletion_id)


def page_deletions(
    session: Session, *, workspace_id: str, page: PageParams
) -> tuple[list[DeletionRequest], str | None]:
    """The "Deleted" table, newest first: the permanent record of every erasure."""
    return DeletionRepository(session, workspace_id).newest_first(page)
