"""Scenario 3: bulk deletion — N profiles with ~50 events each, each deletion requested in its
own transaction and erased by the job, deletions/s end to end. Floor: the same UPDATE pass as
scenario 2, one transaction per profile (each deletion commits on its own).

Two ways to run the jobs: in the requesting process from an in-memory queue (the row the
earlier rounds measured), and in `bulk_workers` separate worker processes reading one SQLite
queue file, as `veil worker` does (a row per process count: how it scales)."""

from __future__ import annotations

import subprocess
import sys
import time
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
        rows.append(_in_worker_processes(ctx, ws.id, gen, workers))
    return rows


def _in_worker_processes(ctx: Context, ws: str, gen: Generator, workers: int) -> Row:
    sizes = ctx.sizes
    row = ctx.row(
        "3 bulk deletion",
        f"{sizes.bulk_profiles:,} profiles × ~{sizes.bulk_events} events, "
        f"{workers} worker process{'es' if workers > 1 else ''}",
        units=sizes.bulk_profiles,
        unit="deletions",
    )
    rss: list[int] = []
    for run_no in range(sizes.runs):
        crowd = seed_population(
            ctx.inst.engine,
            gen,
            profiles=sizes.bulk_profiles,
            events_per_profile=sizes.bulk_events,
            tag=f"w{workers}r{run_no}",
        )
        ctx.inst.analyze()
        ids = [p.profile_id for p in crowd.people]
        queue = ctx.work / f"bulk-queue-{workers}-{run_no}.db"
        env = ctx.inst.env()
        floor = run_child(
            "deletion_floor", ctx.inst.env(queue_url="memory://"), workspace_id=ws, profile_ids=ids
        )
        asked = run_child(
            "bulk_request", env, workspace_id=ws, profile_ids=ids, queue_url=f"sqlite:///{queue}"
        )
        go = ctx.work / f"go-{workers}-{run_no}"
        ready = [ctx.work / f"ready-{workers}-{run_no}-{n}" for n in range(workers)]
        procs = [_start_worker(env, queue, ready[n], go) for n in range(workers)]
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
        row.runs.append(asked["seconds"] + drained)
        row.floor_runs.append(floor["seconds"])
        rss.extend(answer["rss"] for answer in answers)
        row.extra.setdefault("requests_s", []).append(round(asked["seconds"], 3))
        row.extra.setdefault("jobs_per_worker", []).append([a["ran"] for a in answers])
        ctx.log(
            f"  {workers} worker(s): {len(ids) / (asked['seconds'] + drained):.0f}/s "
            f"(requests {asked['seconds']:.1f}s, jobs {drained:.1f}s)"
        )
    row.peak_rss_mib = mib(max(rss))
    return row


def _start_worker(env: dict[str, str], queue: Path, ready: Path, go: Path) -> Any:
    import json

    args = {"queue_url": f"sqlite:///{queue}", "ready": str(ready), "go": str(go)}
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
