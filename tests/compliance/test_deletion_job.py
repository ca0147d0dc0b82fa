"""The erasure job: bounded batches, resumable progress, leases, retries, idempotency, verify."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, text, update

from tests.compliance import realistic
from tests.conftest import run_jobs
from tests.fixtures.factories import WorkspaceHandle, make_event, make_profile
from veil.compliance.deletions import erasure
from veil.compliance.deletions.compaction import TOUCHED_TABLES, compact
from veil.compliance.deletions.erasure import job, steps
from veil.compliance.deletions.erasure import storage as erasure_storage
from veil.compliance.deletions.erasure.steps import Step, StepContext, StepResult
from veil.compliance.deletions.progress import Phase
from veil.compliance.deletions.scrubber import Prefilter, Scrubber, Subject, SubjectMatcher
from veil.compliance.erasure_rules import PiiKeys
from veil.kit.time import utcnow
from veil.models import DeletionRequest, Event, Profile, ProfileIdentifier, Recipient
from veil.profiles.history import change_identifier
from veil.runtime import Runtime
from veil.worker.queue import sweep

EMAIL = "ada@example.com"


def profile_with_events(runtime: Runtime, ws: WorkspaceHandle, count: int) -> str:
    with runtime.sessionmaker.begin() as session:
        profile = make_profile(session, workspace_id=ws.id, email=EMAIL)
        start = utcnow() - timedelta(days=1)
        for n in range(count):
            make_event(
                session,
                profile=profile,
                properties={"n": n, "email": EMAIL, "sku": f"SKU-{n}"},
                # Equal timestamps in pairs: the keyset must order by (timestamp, id).
                timestamp=start + timedelta(seconds=n // 2),
            )
        return profile.id


def request(runtime: Runtime, ws: WorkspaceHandle, profile_id: str) -> str:
    return realistic.request_deletion(runtime, workspace_id=ws.id, profile_id=profile_id)


def replace_step(monkeypatch: pytest.MonkeyPatch, step: Step) -> None:
    """The job runs `step` for its phase instead of the real one."""
    monkeypatch.setattr(
        steps, "STEPS", tuple(step if s.phase is step.phase else s for s in steps.STEPS)
    )


def load(runtime: Runtime, request_id: str) -> DeletionRequest:
    with runtime.sessionmaker() as session:
        return session.get_one(DeletionRequest, request_id)


def make_due(runtime: Runtime, request_id: str) -> None:
    """Time passes: the backoff / lease of a request is over."""
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == request_id)
            .values(next_attempt_at=utcnow() - timedelta(seconds=1), lease_until=None)
        )


def retry_now(runtime: Runtime, request_id: str) -> None:
    """Its backoff over, the sweep re-enqueues the request and the worker runs it."""
    make_due(runtime, request_id)
    sweep(runtime)
    run_jobs(runtime)


def snapshot(runtime: Runtime, profile_id: str) -> list[Any]:
    with runtime.sessionmaker() as session:
        events = session.execute(
            select(Event.id, Event.type, Event.properties, Event.message_id)
            .where(Event.profile_id == profile_id)
            .order_by(Event.id)
        ).all()
        recipients = session.execute(
            select(Recipient.id, Recipient.email, Recipient.phone, Recipient.redacted_at)
            .where(Recipient.profile_id == profile_id)
            .order_by(Recipient.id)
        ).all()
        profile = session.get_one(Profile, profile_id)
        return [
            [tuple(r) for r in events],
            [tuple(r) for r in recipients],
            (profile.email, profile.properties, profile.updated_at),
        ]


def test_events_are_erased_in_bounded_batches(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.erasure_batch_size = 4
    profile_id = profile_with_events(runtime, ws, 10)
    sizes: list[int] = []

    class Counting(steps.ScrubEvents):
        def run(self, ctx: StepContext) -> StepResult:
            result = super().run(ctx)
            sizes.append(result.counts["events_scrubbed"])
            return result

    replace_step(monkeypatch, Counting())
    request_id = request(runtime, ws, profile_id)
    run_jobs(runtime)
    assert sizes == [4, 4, 2]  # three transactions, never more than a batch in memory
    assert load(runtime, request_id).summary["events_scrubbed"] == 10


def test_a_failure_mid_way_resumes_after_the_last_committed_batch(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.erasure_batch_size = 2
    profile_id = profile_with_events(runtime, ws, 9)
    calls = {"n": 0}

    class DiesOnThirdBatch(steps.ScrubEvents):
        def run(self, ctx: StepContext) -> StepResult:
            calls["n"] += 1
            result = super().run(ctx)
            if calls["n"] == 3:
                raise OSError("disk went away")  # after the work, before the commit
            return result

    replace_step(monkeypatch, DiesOnThirdBatch())
    request_id = request(runtime, ws, profile_id)
    run_jobs(runtime)

    failed = load(runtime, request_id)
    assert failed.status == "processing" and failed.last_error == "OSError"
    assert failed.lease_until is None and failed.next_attempt_at is not None
    assert failed.progress["phase"] == "events"
    assert failed.progress["counts"]["events_scrubbed"] == 4  # two batches committed
    with runtime.sessionmaker() as session:
        ordered = session.execute(
            select(Event.id, Event.properties)
            .where(Event.profile_id == profile_id)
            .order_by(Event.timestamp, Event.id)
        ).all()
    assert failed.progress["cursor"]["id"] == ordered[3].id
    assert ["email" in p for _, p in ordered] == [False] * 4 + [True] * 5

    replace_step(monkeypatch, steps.ScrubEvents())
    retry_now(runtime, request_id)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.attempts == 2
    assert done.summary["events_scrubbed"] == 9 and done.summary["verified"] is True


def test_running_the_job_again_changes_nothing(runtime: Runtime, ws: WorkspaceHandle) -> None:
    with runtime.sessionmaker.begin() as session:
        subject = realistic.build(runtime, session, workspace_id=ws.id)
    request_id = request(runtime, ws, subject.profile_id)
    run_jobs(runtime)
    before = snapshot(runtime, subject.profile_id)
    record = load(runtime, request_id)
    runtime.queue.enqueue("deletion", request_id)
    runtime.queue.enqueue("deletion", request_id)
    run_jobs(runtime)
    assert erasure.run_deletion(runtime, request_id) is False
    assert snapshot(runtime, subject.profile_id) == before
    again = load(runtime, request_id)
    assert (again.summary, again.completed_at, again.attempts) == (
        record.summary,
        record.completed_at,
        record.attempts,
    )


def test_repeating_every_phase_after_a_crash_changes_nothing_more(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of two: the history is longer than one, so the steps commit before verification
    # (a shorter one is verified in the last batch's transaction: the next test).
    runtime.settings.erasure_batch_size = 2
    with runtime.sessionmaker.begin() as session:
        subject = realistic.build(runtime, session, workspace_id=ws.id)
    request_id = request(runtime, ws, subject.profile_id)

    def crash(ctx: Any, **_: Any) -> list[str]:
        raise OSError("killed")

    monkeypatch.setattr(job, "verify", crash)
    run_jobs(runtime)
    first = load(runtime, request_id)
    assert first.progress["phase"] == "verify"
    after_first_run = snapshot(runtime, subject.profile_id)

    # The worker restarts from the very first phase (as if progress had not been saved).
    with runtime.sessionmaker.begin() as session:
        row = session.get_one(DeletionRequest, request_id)
        row.progress = {**row.progress, "phase": "exports", "cursor": None}
    monkeypatch.undo()
    retry_now(runtime, request_id)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.summary["verified"] is True
    assert done.summary == {**first.progress["counts"], "verified": True}
    events, recipients, profile = snapshot(runtime, subject.profile_id)
    assert events == after_first_run[0] and recipients == after_first_run[1]
    assert profile[:2] == after_first_run[2][:2]


def test_a_request_leased_by_another_worker_is_left_alone(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))
    with runtime.sessionmaker.begin() as session:
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == request_id)
            .values(status="processing", lease_until=utcnow() + timedelta(minutes=5))
        )
    assert erasure.run_deletion(runtime, request_id) is False
    assert load(runtime, request_id).progress["phase"] == "exports"


def test_a_worker_whose_lease_was_taken_over_stops_without_writing(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = profile_with_events(runtime, ws, 3)
    request_id = request(runtime, ws, profile_id)
    claim = erasure.claim_request(runtime, request_id)
    assert claim is not None
    with runtime.sessionmaker.begin() as session:  # another worker claimed after a lease ran out
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == request_id)
            .values(attempts=DeletionRequest.attempts + 1)
        )
    with pytest.raises(erasure.LeaseLost):
        erasure.erase(runtime, claim)
    assert load(runtime, request_id).progress["phase"] == "exports"
    with runtime.sessionmaker() as session:
        assert all(
            "email" in p
            for p in session.scalars(select(Event.properties).where(Event.profile_id == profile_id))
        )


def test_the_claim_sets_the_start_time_once_stored_as_the_orm_stores_it(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    profile_id = profile_with_events(runtime, ws, 3)
    request_id = request(runtime, ws, profile_id)
    before = utcnow()
    assert load(runtime, request_id).started_at is None
    assert erasure.claim_request(runtime, request_id) is not None
    first = load(runtime, request_id).started_at
    assert first is not None and before <= first <= utcnow()
    with runtime.sessionmaker.begin() as session:  # the lease ran out: claimed again
        session.execute(
            update(DeletionRequest)
            .where(DeletionRequest.id == request_id)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    claim = erasure.claim_request(runtime, request_id)
    assert claim is not None and claim.token == 2
    assert load(runtime, request_id).started_at == first  # the first attempt's start stays
    with runtime.engine.connect() as connection:
        started, requested = connection.execute(
            text("SELECT started_at, requested_at FROM deletion_requests WHERE id = :id"),
            {"id": request_id},
        ).one()
    # The same stored form as a column the ORM wrote (SQLite keeps text: same layout).
    assert type(started) is type(requested)
    if isinstance(started, str):
        assert len(started) == len(requested) and started[10] == requested[10]


def test_a_job_that_keeps_failing_is_marked_failed_and_still_retried(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime.settings.job_max_attempts = 2
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("boom ada@example.com")

    monkeypatch.setattr(job, "unseal_subject", broken)
    run_jobs(runtime)
    assert load(runtime, request_id).status == "processing"  # backing off, not failed yet
    retry_now(runtime, request_id)
    failed = load(runtime, request_id)
    assert failed.status == "failed" and failed.attempts == 2
    assert failed.last_error == "ValueError"  # the class, never the message
    assert failed.next_attempt_at is not None
    assert failed.next_attempt_at > utcnow() + timedelta(minutes=50)

    monkeypatch.undo()
    retry_now(runtime, request_id)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.last_error is None


def test_the_sweep_enqueues_a_request_whose_message_was_lost(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))
    runtime.queue.flush()  # the message is gone (crash, queue wiped)
    sweep(runtime)
    assert runtime.queue.pending_count() == 0  # not yet: the first message may still come
    make_due(runtime, request_id)
    sweep(runtime)
    assert runtime.queue.pending_count() == 1
    run_jobs(runtime)
    assert load(runtime, request_id).status == "completed"


def test_a_write_that_slips_in_behind_the_cursor_is_caught_by_verification(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    profile_id = profile_with_events(runtime, ws, 3)
    inserted: list[str] = []

    class ConcurrentWrite(steps.ClearProfile):
        def run(self, ctx: StepContext) -> StepResult:
            if not inserted:  # an event lands behind the events cursor, after that phase
                profile = ctx.session.get_one(Profile, profile_id)
                event = make_event(
                    ctx.session,
                    profile=profile,
                    properties={"note": f"late {EMAIL}"},
                    timestamp=utcnow() - timedelta(days=400),
                )
                ctx.session.flush()
                inserted.append(event.id)
            return super().run(ctx)

    replace_step(monkeypatch, ConcurrentWrite())
    request_id = request(runtime, ws, profile_id)
    run_jobs(runtime)
    done = load(runtime, request_id)
    assert done.summary["verified"] is True and done.progress["pass"] == 2
    with runtime.sessionmaker() as session:
        assert session.get_one(Event, inserted[0]).properties == {"note": "[redacted]"}


def test_residue_that_cannot_be_erased_is_reported_unverified(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    class SkipEvents(Step):
        phase = Phase.EVENTS

        def run(self, ctx: StepContext) -> StepResult:
            return StepResult()

    replace_step(monkeypatch, SkipEvents())
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))
    run_jobs(runtime)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.summary["verified"] is False


@pytest.mark.parametrize(
    ("phase", "table"),
    [
        (Phase.EXPORTS, "exports"),
        (Phase.EVENTS, "events"),
        (Phase.RECIPIENTS, "recipients"),
        (Phase.CONSENTS, "consents"),
        (Phase.IDENTIFIERS, "identifiers"),
        (Phase.PROFILE, "profile"),
    ],
)
@pytest.mark.parametrize("batch_size", [2_000, 2], ids=["one-transaction", "batched"])
def test_verification_names_each_table_a_step_left_untouched(
    runtime: Runtime,
    ws: WorkspaceHandle,
    monkeypatch: pytest.MonkeyPatch,
    phase: Phase,
    table: str,
    batch_size: int,
) -> None:
    """Whichever step does nothing, the final search finds the person exactly there — in
    the transaction of the last batch (a small subject) as in the read-only snapshots."""
    runtime.settings.erasure_batch_size = batch_size

    class Skipped(Step):
        def run(self, ctx: StepContext) -> StepResult:
            return StepResult()

    Skipped.phase = phase
    replace_step(monkeypatch, Skipped())
    with runtime.sessionmaker.begin() as session:
        subject = realistic.build(runtime, session, workspace_id=ws.id)
    request_id = request(runtime, ws, subject.profile_id)
    run_jobs(runtime)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.summary["verified"] is False
    assert done.summary["residue"] == [table]


def test_a_small_subject_is_erased_verified_and_completed_in_one_transaction(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fewer events than a batch: the steps, the verification and the completion commit
    together — so a crash in the verification rolls the steps back with it, and the retry
    starts from the first phase and completes."""
    profile_id = profile_with_events(runtime, ws, 3)
    request_id = request(runtime, ws, profile_id)
    fenced: list[int] = []
    real_fenced = job._fenced

    def counted(ctx: Any) -> Any:
        fenced.append(1)
        return real_fenced(ctx)

    monkeypatch.setattr(job, "_fenced", counted)
    run_jobs(runtime)
    done = load(runtime, request_id)
    assert done.status == "completed" and done.summary["verified"] is True
    assert done.summary["events_scrubbed"] == 3
    assert fenced == [1]  # one write transaction after the claim

    other = request(runtime, ws, profile_with_events(runtime, ws, 3))

    def crash(ctx: Any, **_: Any) -> list[str]:
        raise OSError("killed")

    monkeypatch.setattr(job, "verify", crash)
    run_jobs(runtime)
    failed = load(runtime, other)
    assert failed.status == "processing" and failed.last_error == "OSError"
    assert failed.progress["phase"] == "exports"  # the steps rolled back with the verification
    with runtime.sessionmaker() as session:
        properties = session.scalars(
            select(Event.properties).where(Event.profile_id == failed.profile_id)
        ).all()
    assert all(p.get("email") == EMAIL for p in properties)
    monkeypatch.undo()
    retry_now(runtime, other)
    done = load(runtime, other)
    assert done.status == "completed" and done.summary["verified"] is True
    assert done.summary["events_scrubbed"] == 3 and done.attempts == 2


def test_storage_is_settled_after_the_job(runtime: Runtime, ws: WorkspaceHandle) -> None:
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))
    run_jobs(runtime)
    done = load(runtime, request_id)
    assert done.storage_settled_at is not None and done.completed_at is not None
    assert done.storage_settled_at >= done.completed_at
    if (
        runtime.engine.dialect.name == "postgresql"
        and not runtime.settings.pg_rewrite_after_erasure
    ):
        # Nothing to do after a PostgreSQL erasure: settled in the completing transaction.
        assert done.storage_settled_at == done.completed_at


def test_a_blocked_checkpoint_is_retried_by_the_sweep(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(erasure_storage.db, "checkpoint_sqlite", lambda engine: False)
    monkeypatch.setattr(runtime.settings, "pg_rewrite_after_erasure", False)
    request_id = request(runtime, ws, profile_with_events(runtime, ws, 2))
    run_jobs(runtime)
    settled = load(runtime, request_id).storage_settled_at is not None
    assert settled is (runtime.engine.dialect.name != "sqlite")
    with runtime.sessionmaker() as session:
        assert (request_id in erasure.storage_pending(session)) is not settled
    monkeypatch.undo()
    sweep(runtime)
    assert load(runtime, request_id).storage_settled_at is not None
    with runtime.sessionmaker() as session:
        assert request_id not in erasure.storage_pending(session)


def test_compaction_rewrites_the_touched_tables(runtime: Runtime, is_postgres: bool) -> None:
    if is_postgres:
        with runtime.engine.connect() as conn:
            before = conn.execute(text("SELECT pg_relation_filenode('events')")).scalar()
    lines = compact(runtime.engine)
    if is_postgres:
        with runtime.engine.connect() as conn:
            after = conn.execute(text("SELECT pg_relation_filenode('events')")).scalar()
        assert before != after  # a fresh file: the old one, dead tuples and all, is gone
        assert len(lines) == len(TOUCHED_TABLES) == 6
    else:
        assert "checkpoint" in lines[0]


def test_pg_rewrite_after_erasure_runs_compaction(
    runtime: Runtime, ws: WorkspaceHandle, monkeypatch: pytest.MonkeyPatch, is_postgres: bool
) -> None:
    ran: list[object] = []
    monkeypatch.setattr(erasure_storage, "compact", lambda engine: ran.append(engine) or [])
    monkeypatch.setattr(runtime.settings, "pg_rewrite_after_erasure", True)
    request(runtime, ws, profile_with_events(runtime, ws, 1))
    run_jobs(runtime)
    assert ran == ([runtime.engine] if is_postgres else [])


def test_the_identifier_history_step_deletes_the_subjects_rows_only(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """DeleteIdentifierHistory alone: the subject's previous identifiers go, nobody else's;
    running it again deletes nothing more."""
    with runtime.sessionmaker.begin() as session:
        ada = make_profile(session, workspace_id=ws.id, email="ada@example.com")
        grace = make_profile(session, workspace_id=ws.id, email="grace@example.com")
        for profile, new in ((ada, "ada@new.example"), (grace, "grace@new.example")):
            change_identifier(session, profile, "email", new, at=utcnow())
        change_identifier(session, ada, "phone", None, at=utcnow())  # held none: no row
        ids = (ada.id, grace.id)
    claim = steps.Claim("del_test", ws.id, ids[0], 1)
    scrubber = Scrubber(PiiKeys(), SubjectMatcher(Subject()))
    erasure_ctx = steps.ErasureContext(runtime, claim, scrubber, Prefilter(scrubber), 10)
    for expected in (1, 0):
        with runtime.sessionmaker.begin() as session:
            result = steps.DeleteIdentifierHistory().run(StepContext(erasure_ctx, session, None))
        assert (dict(result.counts), result.done) == ({"identifiers_deleted": expected}, True)
    with runtime.sessionmaker() as session:
        left = session.scalars(select(ProfileIdentifier.profile_id)).all()
    assert left == [ids[1]]
