"""Scenario 3: bulk deletion — N profiles with ~50 events each, each deletion requested in its
own transaction and erased by the job, deletions/s end to end. Floor: the same UPDATE pass as
scenario 2, one transaction per profile (each deletion commits on its own)."""

from __future__ import annotations

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
        erased = run_child("bulk_deletion", env, workspace_id=ws.id, profile_ids=ids)
        if erased["deletions"] != len(ids):
            raise RuntimeError("not every deletion completed")
        row.runs.append(erased["seconds"])
        row.floor_runs.append(floor["seconds"])
        rss.append(erased["rss"])
        row.extra.setdefault("requests_s", []).append(round(erased["requests_s"], 3))
        row.extra["events"] = crowd.events
        ctx.log(
            f"  bulk deletion: {erased['seconds']:.1f}s "
            f"({len(ids) / erased['seconds']:.0f}/s; requests {erased['requests_s']:.1f}s), "
            f"floor {floor['seconds']:.2f}s"
        )
    row.peak_rss_mib = mib(max(rss))
    return [row]
