"""Sizes of `make bench` (quick) and `make bench-full` (everything the issue asks for)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    runs: int
    export_events: tuple[int, ...]
    deletion_events: tuple[int, ...]
    deletion_recipients: int
    bulk_profiles: int
    bulk_events: int
    ingest_events: int
    ingest_batch: int
    load_profiles: int
    load_seconds: float
    load_concurrency: int
    e2e_contacts: int
    e2e_max_events: int
    # Scenario 7: one profile of each size exported and erased over HTTP, `runs` times.
    http_events: tuple[int, ...] = (1_000, 10_000)
    # A cap on the Segment calls (min with ingest_events); it records in bulk like
    # /api/v1/events/batch since the second round, so it gets the same count.
    segment_events: int = 10**9
    # Erasing 10^6 events takes minutes per run: sizes from here on run once, and are left
    # out on PostgreSQL above `deletion_pg_max` (BENCHMARKS.md says what did not fit).
    deletion_single_run_from: int = 10**9
    deletion_pg_max: int = 10**9
    # Which endpoints the API load test drives (the /healthz floor always runs), e.g.
    # `--set load_kinds=post_event` to measure one of them on its own.
    load_kinds: str = "get_profile,post_event,post_export"
    # Privacy requests (SPEC §8): a bulk of this many subjects over HTTP; this many erasure
    # requests queued and drained (memory read after the first `pr_drain_reference`
    # deletions), each profile with `pr_events` events; this many requests with a callback
    # and as many without.
    pr_bulk_subjects: int = 5_000
    pr_drain_requests: int = 1_000
    pr_drain_reference: int = 100
    pr_events: int = 20
    pr_callback_requests: int = 50
    # Scenario 3 also runs the erasures in this many `veil worker`-like processes, each count
    # its own row (how throughput scales with processes), on this queue: `auto` is the layout
    # docs/deploy.md gives each backend (SQLite: the queue file beside the database, one
    # machine; PostgreSQL: a Redis queue, as on several hosts), or `sqlite` / `redis`.
    bulk_workers: tuple[int, ...] = (1, 2)
    bulk_queue: str = "auto"
    # Consumer threads per worker process (`veil worker --threads N`).
    bulk_threads: int = 1


QUICK = Sizes(
    runs=3,
    export_events=(1_000, 10_000),
    deletion_events=(1_000, 10_000),
    deletion_recipients=1_000,
    bulk_profiles=100,
    bulk_events=50,
    ingest_events=5_000,
    ingest_batch=1_000,
    load_profiles=2_000,
    load_seconds=3,
    load_concurrency=8,
    e2e_contacts=20,
    e2e_max_events=1_000,
    pr_drain_requests=250,
    pr_callback_requests=20,
)

FULL = Sizes(
    runs=3,
    export_events=(10_000, 100_000, 1_000_000),
    deletion_events=(10_000, 100_000, 1_000_000),
    deletion_recipients=10_000,
    bulk_profiles=1_000,
    bulk_events=50,
    ingest_events=50_000,
    ingest_batch=1_000,
    load_profiles=100_000,
    load_seconds=10,
    load_concurrency=8,
    e2e_contacts=100,
    e2e_max_events=1_000,
    deletion_single_run_from=1_000_000,
    deletion_pg_max=100_000,
)

# The smoke test's sizes: everything runs, nothing is worth timing.
TINY = Sizes(
    runs=1,
    export_events=(50,),
    deletion_events=(50,),
    deletion_recipients=5,
    bulk_profiles=3,
    bulk_events=5,
    ingest_events=20,
    ingest_batch=10,
    load_profiles=10,
    load_seconds=0.5,
    load_concurrency=2,
    e2e_contacts=2,
    e2e_max_events=20,
    http_events=(50,),
    bulk_threads=2,  # the threaded drain runs too
    pr_bulk_subjects=20,
    pr_drain_requests=8,
    pr_drain_reference=3,
    pr_events=3,
    pr_callback_requests=2,
)
