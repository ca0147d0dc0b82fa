"""The erasure reads and writes events through the driver: its UPDATE stores exactly what
SQLAlchemy's UPDATE (the column's JSON bind processor) stored before, compared raw, column by
column; its pages hold what the ORM reads, and the keyset cursor is the ORM's timestamp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Table, bindparam, insert, select, text, update
from sqlalchemy.exc import StatementError

from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.deletions.erasure.steps import Claim, ErasureContext, update_events
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import REDACTED, PiiKeys
from veil.compliance.repository import SubjectProfile
from veil.kit.time import utcnow
from veil.models import Event, Profile
from veil.runtime import Runtime

SCRUBBED: list[dict[str, Any]] = [
    {},
    {"total": 39.95, "n": 2**62, "neg": -7, "ok": True, "none": None, "big": 2**70},
    {"name": "Zoë Ångström", "note": 'line\u2028sep "quoted" \\ back', "emoji": "🦉"},
    {"items": [{"sku": "A-1", "qty": 1}, {"sku": "[redacted]", "qty": [1, [2, {"d": "x"}]]}]},
    {"nan": float("nan"), "inf": float("inf")},
]
_EVENTS: Any = Event.__table__
_BY_ORM = (
    update(_EVENTS)
    .where(_EVENTS.c.id == bindparam("b_id"))
    .values(
        properties=bindparam("b_properties", type_=_EVENTS.c.properties.type),
        type=bindparam("b_type"),
        message_id=bindparam("b_message_id"),
    )
)


def _ids(tag: str) -> list[str]:
    return [f"evt_{tag}{n}" for n in range(len(SCRUBBED))]


def _stored(runtime: Runtime, tag: str) -> list[tuple[Any, ...]]:
    with runtime.engine.connect() as conn:
        # Raw driver values: a text() query applies no column type. The message ids carry
        # the tag; the rest must be equal as stored.
        return [
            (row[0], row[1], None if row[2] is None else row[2][len(tag) :])
            for row in conn.execute(
                text(
                    "SELECT CAST(properties AS TEXT), type, message_id FROM events "
                    "WHERE id LIKE :ids ORDER BY id"
                ),
                {"ids": f"evt_{tag}%"},
            )
        ]


def test_driver_update_stores_what_sqlalchemy_stores(runtime: Runtime, ws: WorkspaceHandle) -> None:
    assert isinstance(_EVENTS, Table)
    now = utcnow()
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        for tag in ("orm", "drv"):
            session.execute(
                insert(Event),
                [
                    {
                        "id": id_,
                        "workspace_id": ws.id,
                        "profile_id": profile.id,
                        "type": "Placed Order",
                        "timestamp": now,
                        "received_at": now,
                        "properties": {"email": "ada@example.com"},
                        "source": "api",
                        "message_id": f"m-{id_}",
                    }
                    for id_ in _ids(tag)
                ],
            )
        session.execute(
            _BY_ORM,
            [
                {
                    "b_id": id_,
                    "b_properties": props,
                    "b_type": REDACTED if n % 2 else "Placed Order",
                    "b_message_id": None if n % 2 else f"orm{n}",
                }
                for n, (id_, props) in enumerate(zip(_ids("orm"), SCRUBBED, strict=True))
            ],
        )
        update_events(
            session,
            [
                (
                    props,
                    REDACTED if n % 2 else "Placed Order",
                    None if n % 2 else f"drv{n}",
                    id_,
                )
                for n, (id_, props) in enumerate(zip(_ids("drv"), SCRUBBED, strict=True))
            ],
        )
    stored = _stored(runtime, "drv")
    assert len(stored) == len(SCRUBBED)
    assert stored == _stored(runtime, "orm")


def test_driver_pages_read_what_the_orm_reads(runtime: Runtime, ws: WorkspaceHandle) -> None:
    """fetch_events gives the rows of events_page, and event_cursor the ORM's timestamp."""
    moments = [
        datetime(2026, 12, 6, 10, 0, 0, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 600700, tzinfo=timezone(timedelta(hours=5, minutes=45))),
        datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
        datetime(2025, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id)
        session.execute(
            insert(Event),
            [
                {
                    "id": f"evt_page{n}",
                    "workspace_id": ws.id,
                    "profile_id": profile.id,
                    "type": f"Type {n}",
                    "timestamp": at,
                    "received_at": at,
                    "properties": {"n": n, "name": "Zoë"} if n % 2 else {},
                    "source": "api",
                    "message_id": f"m{n}" if n % 2 else None,
                }
                for n, at in enumerate(moments)
            ],
        )
        profile_id = profile.id
    scrubber = Scrubber(PiiKeys.for_workspace(None), SubjectMatcher(Subject()))
    ctx = ErasureContext(
        runtime=runtime,
        claim=Claim(request_id="r", workspace_id=ws.id, profile_id=profile_id, token=1),
        scrubber=scrubber,
        prefilter=Prefilter(scrubber),
        batch_size=2,
    )
    cursor = None
    pages = 0
    seen: list[str] = []
    while True:
        with runtime.sessionmaker() as session:
            orm = session.execute(ctx.events_page(session, cursor)).all()
            raw = ctx.fetch_events(session, cursor)
            seen += [r[0] for r in raw]
            assert [(r[0], r[2], r[3], r[4]) for r in raw] == [
                (r.id, r.type, r.message_id, r.properties_text) for r in orm
            ]
            if not orm:
                break
            cursor = ctx.event_cursor(session, raw[-1])
            assert cursor == {"timestamp": orm[-1].timestamp.isoformat(), "id": orm[-1].id}
            pages += 1
    assert pages == 3
    # Every event once, in (timestamp, id) order: the two at the same instant on either side
    # of a page boundary.
    order = sorted(range(len(moments)), key=lambda n: (moments[n], f"evt_page{n}"))
    assert seen == [f"evt_page{n}" for n in order]


def test_a_statement_built_once_reaches_only_the_subject_it_is_run_for(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """`SubjectRows.bound_scope()`: the workspace and profile are bound at execution, so one
    statement serves every subject; run without them it fails instead of reading every row."""
    with runtime.sessionmaker.begin() as session:
        mine, other = (
            make_profile(session, workspace_id=ws.id, email=f"p{n}@example.com") for n in range(2)
        )
        ids = (mine.id, other.id)
    stmt = select(Profile.id).where(*SubjectProfile.bound_scope())
    with runtime.sessionmaker() as session:
        for profile_id in ids:
            subject = SubjectProfile(session, ws.id, profile_id)
            assert session.scalars(stmt, subject.params).all() == [profile_id]
        assert session.scalars(stmt, SubjectProfile(session, "ws_other", ids[0]).params).all() == []
        with pytest.raises(StatementError, match="subject_workspace|subject_profile"):
            session.scalars(stmt).all()
