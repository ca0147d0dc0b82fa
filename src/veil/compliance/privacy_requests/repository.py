"""Every privacy-request query, scoped to one workspace (the job's few id lookups at the bottom)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    func,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from veil import db
from veil.compliance.privacy_requests.free_text import idempotency_digest
from veil.compliance.privacy_requests.schemas import RequestFilters
from veil.kit.repository import WorkspaceRepository
from veil.models import PrivacyCallback, PrivacyRequest
from veil.models.base import Base
from veil.models.privacy_callback import DeliveryStatus
from veil.models.privacy_request import (
    CLOSED_STATUSES,
    PrivacyRequestStatus,
)


def _bulk_update(
    model: type[PrivacyRequest | PrivacyCallback], *where: ColumnElement[bool]
) -> Update:
    """UPDATE the rows of `model` that match `where`, in bulk (the session's loaded objects
    are not synchronised)."""
    return update(model).where(*where).execution_options(synchronize_session=False)


def overdue_clause(now: datetime) -> Any:
    """SQL for SPEC's `overdue`: past due_at and neither completed nor cancelled."""
    return and_(
        PrivacyRequest.due_at < now,
        PrivacyRequest.status.not_in([s.value for s in CLOSED_STATUSES]),
    )


class PrivacyRequestRepository(WorkspaceRepository[PrivacyRequest]):
    model = PrivacyRequest
    not_found = "Privacy request not found."
    newest_by = (PrivacyRequest.created_at, PrivacyRequest.id)

    def by_idempotency_key(self, key: str) -> PrivacyRequest | None:
        """The request stored with this Idempotency-Key (kept as its digest only)."""
        found: PrivacyRequest | None = self.session.scalar(
            self.statement().where(PrivacyRequest.idempotency_key == idempotency_digest(key))
        )
        return found

    def listing(self, filters: RequestFilters, *, now: datetime) -> Select[Any]:
        stmt = self.statement()
        if filters.status is not None:
            stmt = stmt.where(PrivacyRequest.status == filters.status)
        if filters.type is not None:
            stmt = stmt.where(PrivacyRequest.type == filters.type)
        if filters.source is not None:
            stmt = stmt.where(PrivacyRequest.source == filters.source)
        if filters.overdue is True:
            stmt = stmt.where(overdue_clause(now))
        elif filters.overdue is False:
            stmt = stmt.where(not_(overdue_clause(now)))
        return stmt

    def cancel_if_pending(self, request_id: str, *, now: datetime) -> bool:
        """The one conditional UPDATE that races the worker's start: exactly one of them wins."""
        result = self.session.execute(
            _bulk_update(
                PrivacyRequest,
                PrivacyRequest.workspace_id == self.workspace_id,
                PrivacyRequest.id == request_id,
                PrivacyRequest.status == PrivacyRequestStatus.PENDING,
            ).values(
                status=PrivacyRequestStatus.CANCELLED,
                cancelled_at=now,
                updated_at=now,
                next_attempt_at=None,
            )
        )
        return db.rowcount(result) == 1

    def deliveries(self, request_ids: Sequence[str]) -> list[PrivacyCallback]:
        if not request_ids:
            return []
        return list(
            self.session.scalars(
                select(PrivacyCallback)
                .where(
                    PrivacyCallback.workspace_id == self.workspace_id,
                    PrivacyCallback.request_id.in_(list(request_ids)),
                )
                .order_by(PrivacyCallback.request_id, PrivacyCallback.seq)
            )
        )

    def next_delivery_seq(self, request_id: str) -> int:
        current = self.session.scalar(
            select(func.max(PrivacyCallback.seq)).where(
                PrivacyCallback.workspace_id == self.workspace_id,
                PrivacyCallback.request_id == request_id,
            )
        )
        return int(current or 0) + 1


# -- unscoped lookups by id (the worker acts on ids from the queue) -----------------------------


def request_by_id(session: Session, request_id: str) -> PrivacyRequest | None:
    return session.get(PrivacyRequest, request_id, populate_existing=True)


def start_if_pending(session: Session, request_id: str, *, now: datetime) -> bool:
    """pending → in_progress, only if no cancel got there first."""
    result = session.execute(_START, {"started_id": request_id, "now": now})
    return db.rowcount(result) == 1


# Every pass of the job runs it: built once, its values bound at execution.
_REQUESTS = Base.metadata.tables[PrivacyRequest.__tablename__]
_START = (
    update(_REQUESTS)
    .where(
        _REQUESTS.c.id == bindparam("started_id"),
        _REQUESTS.c.status == PrivacyRequestStatus.PENDING,
    )
    .values(
        status=PrivacyRequestStatus.IN_PROGRESS,
        updated_at=bindparam("now", type_=_REQUESTS.c.updated_at.type),
    )
)


def extend_lease(session: Session, request_id: str, *, until: datetime) -> None:
    session.execute(
        _bulk_update(PrivacyRequest, PrivacyRequest.id == request_id).values(lease_until=until)
    )


def batch_request_ids(session: Session, batch_id: str) -> list[str]:
    return list(
        session.scalars(
            select(PrivacyRequest.id)
            .where(PrivacyRequest.batch_id == batch_id)
            .order_by(PrivacyRequest.id)
        )
    )


def delivery_by_id(session: Session, delivery_id: str) -> PrivacyCallback | None:
    return session.get(PrivacyCallback, delivery_id, populate_existing=True)


def earlier_pending_delivery(session: Session, delivery: PrivacyCallback) -> bool:
    """Whether a delivery to the same URL announcing an earlier status is still pending.

    Locks what it finds (PostgreSQL; SQLite's writers are serialised anyway): an earlier
    delivery being settled right now is read once its record commits, and a delivery that
    defers here is seen deferred by that record (see `deferred_next_delivery`)."""
    found = session.scalar(
        select(PrivacyCallback.id)
        .where(
            PrivacyCallback.request_id == delivery.request_id,
            PrivacyCallback.url == delivery.url,
            PrivacyCallback.seq < delivery.seq,
            PrivacyCallback.status == DeliveryStatus.PENDING,
        )
        .limit(1)
        .with_for_update()
    )
    return found is not None


def deferred_next_delivery(session: Session, delivery: PrivacyCallback) -> str | None:
    """The next pending delivery to the same URL if it must be enqueued now that `delivery` is
    settled: one that has been tried or deferred (`next_attempt_at` set). One never tried has
    its job still queued (or lost, and then due to the sweep), so it is left alone: no
    duplicate job per delivery on the way to the receiver."""
    found: str | None = session.scalar(
        select(PrivacyCallback.id)
        .where(
            PrivacyCallback.request_id == delivery.request_id,
            PrivacyCallback.url == delivery.url,
            PrivacyCallback.seq > delivery.seq,
            PrivacyCallback.status == DeliveryStatus.PENDING,
            PrivacyCallback.next_attempt_at.is_not(None),
        )
        .order_by(PrivacyCallback.seq)
        .limit(1)
    )
    return found


def claim_delivery(session: Session, delivery_id: str, *, now: datetime, until: datetime) -> bool:
    result = session.execute(
        _bulk_update(
            PrivacyCallback,
            PrivacyCallback.id == delivery_id,
            PrivacyCallback.status == DeliveryStatus.PENDING,
            or_(PrivacyCallback.lease_until.is_(None), PrivacyCallback.lease_until < now),
        ).values(lease_until=until)
    )
    return db.rowcount(result) == 1


def due_deliveries(session: Session, *, now: datetime, limit: int = 500) -> list[str]:
    return list(
        session.scalars(
            select(PrivacyCallback.id)
            .where(
                PrivacyCallback.status == DeliveryStatus.PENDING,
                or_(PrivacyCallback.lease_until.is_(None), PrivacyCallback.lease_until < now),
                or_(
                    PrivacyCallback.next_attempt_at.is_(None),
                    PrivacyCallback.next_attempt_at <= now,
                ),
            )
            .order_by(PrivacyCallback.request_id, PrivacyCallback.seq)
            .limit(limit)
        )
    )


def hold_deliveries(session: Session, ids: Sequence[str], *, until: datetime) -> None:
    if ids:
        session.execute(
            _bulk_update(PrivacyCallback, PrivacyCallback.id.in_(list(ids))).values(
                next_attempt_at=until
            )
        )


def first_deliveries_of_batch(session: Session, batch_id: str) -> list[str]:
    """Deliveries of a bulk upload's requests that were never tried (completed at creation)."""
    return list(
        session.scalars(
            select(PrivacyCallback.id)
            .join(PrivacyRequest, PrivacyRequest.id == PrivacyCallback.request_id)
            .where(
                PrivacyRequest.batch_id == batch_id,
                PrivacyCallback.status == DeliveryStatus.PENDING,
                PrivacyCallback.attempts == 0,
            )
        )
    )
