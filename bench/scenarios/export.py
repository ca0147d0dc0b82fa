"""Scenario 1: export of one profile with N events — request → ready, and the download —
against the floor: a bare SELECT of the same rows + orjson to a file."""

from __future__ import annotations

from bench.datagen import Generator, seed_campaigns
from bench.measure import Row, mib, run_child
from bench.scenarios import Context, seed_history


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    ws = inst.create_workspace("bench export")
    gen = Generator(ws.id, seed=101)
    campaigns = seed_campaigns(inst.engine, gen, 20)
    subjects = []
    for index, size in enumerate(ctx.sizes.export_events):
        ctx.log(f"  seeding a contact with {size:,} events")
        person = seed_history(
            ctx, gen, index=index, events=size, recipients=50, campaigns=campaigns
        )
        subjects.append((size, person))
    inst.analyze()

    rows: list[Row] = []
    env = inst.env(queue_url="memory://")
    slowest = ctx.sizes.export_events[-1]
    for size, person in subjects:
        ready = ctx.row("1 export: request → ready", f"{size:,} events", units=size)
        download = ctx.row("1 export: download", f"{size:,} events", units=size)
        floor_rss: list[int] = []
        args = {"workspace_id": ws.id, "profile_id": person.profile_id}
        for run_no in range(ctx.sizes.runs):
            floor = run_child("export_floor", env, out=str(ctx.work / "floor.json"), **args)
            profile = ctx.profile and size == slowest and run_no == ctx.sizes.runs - 1
            built = run_child(
                "export",
                env,
                out=str(ctx.work / "download.json"),
                **args,
                **(
                    {"profile_out": str(ctx.work / f"profile-export-{ctx.backend}.txt")}
                    if profile
                    else {}
                ),
            )
            if built["events"] != size or floor["events"] != size:
                raise RuntimeError(f"export wrote {built['events']} of {size} events")
            ready.runs.append(built["seconds"])
            download.runs.append(built["download_s"])
            for row in (ready, download):
                row.floor_runs.append(floor["seconds"])
            floor_rss.append(floor["rss"])
            if not profile:  # the profiler's samples would count as the job's memory
                ready.extra.setdefault("rss_runs", []).append(built["rss"])
                download.extra.setdefault("rss_runs", []).append(built["download_rss"])
            ready.extra["file_mib"] = mib(built["file_size"])
            download.extra["document_mib"] = mib(built["document_bytes"])
            ctx.log(
                f"  export {size:,}: ready {built['seconds']:.2f}s, download "
                f"{built['download_s']:.2f}s, floor {floor['seconds']:.2f}s"
            )
        for row in (ready, download):
            row.peak_rss_mib = mib(max(row.extra.pop("rss_runs", []), default=None))
            row.extra["floor_peak_rss_mib"] = mib(max(floor_rss))
        rows += [ready, download]
    return rows
