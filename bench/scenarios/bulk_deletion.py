"""Scenario 3: bulk deletion — N profiles with ~50 events each, each deletion requested in its
own transaction and erased by the job, deletions/s end to end. Floor: the same UPDATE pass as
scenario 2, one transaction per profile (each deletion commits on its own).

Two ways to run the jobs: in the requesting process from an in-memory queue (the row the
earlier rounds measured), and in `bulk_workers` separate worker processes, as `veil worker`
does (a row per process count: how it scales). The worker processes read the queue of the
layout docs/deploy.md gives the backend (`bulk_queue=auto`): the SQLite queue file beside an
SQLite database, Redis beside PostgreSQL. Their rows time the requests (made one by one before
the workers start) plus the drain; a second row per count times the drain alone: N queued
erasures, from the start signal to the last worker finding the queue empty."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.datagen import Generator, seed_population
from bench.measure import Row, mib, run_child
from bench.scenarios import Context


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    ws = inst.create_workspace("bench bulk deletion")
    gen = Generator(ws.id, seed=303)
    sizes = ctx.sizes
    env = inst.env(queue_url="memory://")
    row = ctx.row(
        "3 bulk deletion",
        f"{sizes.bulk_profiles:,} profiles × ~{sizes.bulk_events} events",
        units=sizes.bulk_profiles,
        unit="deletions",
    )
    rss: list[int] = []
    for run_no in range(sizes.runs):
        ctx.log(f"  seeding {sizes.bulk_profiles:,} profiles (run {run_no + 1})")
        crowd = seed_population(
            inst.engine,
            gen,
            profiles=sizes.bulk_profiles,
            events_per_profile=sizes.bulk_events,
            tag=f"b{run_no}",
        )
        inst.analyze()
        ids = [p.profile_id for p in crowd.people]
        floor = run_child("deletion_floor", env, workspace_id=ws.id, profile_ids=ids)
        profile = ctx.profile and run_no == sizes.runs - 1
        erased = run_child(
            "bulk_deletion",
            env,
            workspace_id=ws.id,
            profile_ids=ids,
            **(
                {"profile_out": str(ctx.work / f"profile-bulk-deletion-{ctx.backend}.txt")}
                if profile
                else {}
            ),
        )
        if erased["deletions"] != len(ids):
            raise RuntimeError("not every deletion completed")
        row.runs.append(erased["seconds"])
        row.floor_runs.append(floor["seconds"])
        if not profile:  # the profiler's samples would count as the job's memory
            rss.append(erased["rss"])
        row.extra.setdefault("requests_s", []).append(round(erased["requests_s"], 3))
        row.extra["events"] = crowd.events
        ctx.log(
            f"  bulk deletion: {erased['seconds']:.1f}s "
            f"({len(ids) / erased['seconds']:.0f}/s; requests {erased['requests_s']:.1f}s), "
            f"floor {floor['seconds']:.2f}s"
        )
    row.peak_rss_mib = mib(max(rss)) if rss else None
    rows = [row]
    for workers in sizes.bulk_workers:
        rows += _in_worker_processes(ctx, ws.id, gen, workers)
    return rows


# The Redis database the benchmark's queue uses (the test suite's are 11 to 14).
_REDIS_DB = 15


def _queue_kind(ctx: Context) -> str:
    kind = ctx.sizes.bulk_queue
    if kind == "auto":
        return "redis" if ctx.backend == "postgresql" else "sqlite"
    if kind not in ("sqlite", "redis"):
        raise ValueError("bulk_queue must be auto, sqlite or redis")
    return kind


@contextmanager
def _queue(ctx: Context, kind: str, name: str) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{ctx.work / f'bulk-queue-{name}.db'}"
        return
    import redis

    # The test suite's helper: the database number held under a file lock, flushed around.
    from tests.fixtures.redis import redis_database

    try:
        redis.Redis(host="127.0.0.1", port=6379, db=_REDIS_DB).ping()
    except redis.ConnectionError as exc:
        raise RuntimeError(
            "scenario 3's worker processes use Redis on 127.0.0.1:6379 beside PostgreSQL "
            "(docs/deploy.md's layout): start it, or pass --set bulk_queue=sqlite"
        ) from exc
    with redis_database(_REDIS_DB) as url:
        yield url


def _in_worker_processes(ctx: Context, ws: str, gen: Generator, workers: int) -> list[Row]:
    sizes = ctx.sizes
    kind = _queue_kind(ctx)
    case = (
        f"{sizes.bulk_profiles:,} profiles × ~{sizes.bulk_events} events, "
        f"{workers} worker process{'es' if workers > 1 else ''}, {kind} queue"
    )
    row = ctx.row("3 bulk deletion", case, units=sizes.bulk_profiles, unit="deletions")
    drain = ctx.row("3 bulk deletion: drain", case, units=sizes.bulk_profiles, unit="deletions")
    rss: list[int] = []
    for run_no in range(sizes.runs):
        with _queue(ctx, kind, f"{workers}-{run_no}") as queue_url:
            drained, floor_s, asked_s = _one_run(ctx, ws, gen, workers, run_no, queue_url, rss)
        row.runs.append(asked_s + drained)
        row.floor_runs.append(floor_s)
        drain.runs.append(drained)
        drain.floor_runs.append(floor_s)
        row.extra.setdefault("requests_s", []).append(round(asked_s, 3))
        ctx.log(
            f"  {workers} worker(s), {kind} queue: "
            f"{sizes.bulk_profiles / (asked_s + drained):.0f}/s "
            f"(requests {asked_s:.1f}s, jobs {drained:.1f}s: "
            f"{sizes.bulk_profiles / drained:.0f}/s)"
        )
    row.peak_rss_mib = drain.peak_rss_mib = mib(max(rss))
    return [row, drain]


def _one_run(
    ctx: Context,
    ws: str,
    gen: Generator,
    workers: int,
    run_no: int,
    queue_url: str,
    rss: list[int],
) -> tuple[float, float, float]:
    """One pass: seed, request every deletion onto the queue, start the workers, time the
    drain; (drain seconds, floor seconds, requests seconds)."""
    crowd = seed_population(
        ctx.inst.engine,
        gen,
        profiles=ctx.sizes.bulk_profiles,
        events_per_profile=ctx.sizes.bulk_events,
        tag=f"w{workers}r{run_no}",
    )
    ctx.inst.analyze()
    ids = [p.profile_id for p in crowd.people]
    env = ctx.inst.env()
    floor = run_child(
        "deletion_floor", ctx.inst.env(queue_url="memory://"), workspace_id=ws, profile_ids=ids
    )
    asked = run_child("bulk_request", env, workspace_id=ws, profile_ids=ids, queue_url=queue_url)
    go = ctx.work / f"go-{workers}-{run_no}"
    ready = [ctx.work / f"ready-{workers}-{run_no}-{n}" for n in range(workers)]
    procs = [
        _start_worker(env, queue_url, ready[n], go, ctx.sizes.bulk_threads) for n in range(workers)
    ]
    while not all(path.exists() for path in ready):
        if any(proc.poll() is not None for proc in procs):
            raise RuntimeError("a bench worker died before it was ready")
        time.sleep(0.01)
    started = time.time()
    go.touch()
    answers = [_answer(proc) for proc in procs]
    drained = max(answer["ended"] for answer in answers) - started
    checked = run_child(
        "bulk_check", ctx.inst.env(queue_url="memory://"), request_ids=asked["request_ids"]
    )
    if checked["deletions"] != len(ids):
        raise RuntimeError("not every deletion completed")
    rss.extend(answer["rss"] for answer in answers)
    return drained, floor["seconds"], asked["seconds"]


def _start_worker(env: dict[str, str], queue_url: str, ready: Path, go: Path, threads: int) -> Any:
    import json

    args = {"queue_url": queue_url, "ready": str(ready), "go": str(go), "threads": threads}
    return subprocess.Popen(
        [sys.executable, "-m", "bench.child", "bulk_work", json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )


def _answer(proc: Any) -> dict[str, Any]:
    import json

    out, err = proc.communicate(timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker failed:\n{err[-4000:]}")
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer
