"""Scenario 2: deletion of one profile with N events and R recipient records (request →
completed and verified) against the floor: one bare UPDATE pass over the same rows.

A template history is seeded once per size; each run erases a fresh copy of it (same
identifiers, copied inside the database), so every run does the whole erasure."""

from __future__ import annotations

from bench.datagen import Generator, seed_campaigns
from bench.measure import Row, mib, run_child
from bench.scenarios import Context, fresh_copy, retire, seed_history


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    ws = inst.create_workspace("bench deletion")
    gen = Generator(ws.id, seed=202)
    campaigns = seed_campaigns(inst.engine, gen, 50)
    recipients = ctx.sizes.deletion_recipients
    env = inst.env(queue_url="memory://")
    # The profile is taken on the last of several runs (its overhead must not be the one
    # number reported): the largest size that runs more than once on this backend.
    limit = ctx.sizes.deletion_pg_max if ctx.backend == "postgresql" else 10**12
    profiled = max(
        (s for s in ctx.sizes.deletion_events if s < ctx.sizes.deletion_single_run_from),
        default=0,
    )
    profiled = min(profiled, limit)
    rows: list[Row] = []
    for index, size in enumerate(ctx.sizes.deletion_events):
        case = f"{size:,} events, {recipients:,} recipients"
        if ctx.backend == "postgresql" and size > ctx.sizes.deletion_pg_max:
            rows.append(
                ctx.row(
                    "2 deletion: request → completed",
                    case,
                    skipped="left out of this run's time budget (see BENCHMARKS.md)",
                )
            )
            continue
        runs = 1 if size >= ctx.sizes.deletion_single_run_from else ctx.sizes.runs
        ctx.log(f"  seeding a template contact with {size:,} events, {recipients:,} messages")
        template = seed_history(
            ctx, gen, index=index, events=size, recipients=recipients, campaigns=campaigns
        )
        retire(ctx, ws.id, template.profile_id)
        row = ctx.row("2 deletion: request → completed", case, units=size)
        rss: list[int] = []
        for run_no in range(runs):
            subject = fresh_copy(ctx, gen, template, tag=f"d{index}r{run_no}")
            if run_no == 0:
                inst.analyze()
            args = {"workspace_id": ws.id, "profile_id": subject.profile_id}
            floor = run_child("deletion_floor", env, **args)
            profile = ctx.profile and size == profiled and run_no == runs - 1
            erased = run_child(
                "deletion",
                env,
                **args,
                **(
                    {"profile_out": str(ctx.work / f"profile-deletion-{ctx.backend}.txt")}
                    if profile
                    else {}
                ),
            )
            summary = erased["summary"]
            if summary["recipients_redacted"] != recipients:
                raise RuntimeError(f"deletion redacted {summary['recipients_redacted']} records")
            row.runs.append(erased["seconds"])
            row.floor_runs.append(floor["seconds"])
            if not profile:  # the profiler's samples would count as the job's memory
                rss.append(erased["rss"])
            row.extra["events_scrubbed"] = summary["events_scrubbed"]
            row.extra["floor_peak_rss_mib"] = mib(floor["rss"])
            ctx.log(
                f"  deletion {size:,}: {erased['seconds']:.2f}s "
                f"(floor {floor['seconds']:.2f}s, {summary['events_scrubbed']:,} events scrubbed)"
            )
        row.peak_rss_mib = mib(max(rss)) if rss else None
        rows.append(row)
    return rows
