"""Scenario 5: the API under load from a second process on loopback (bench.load, bounded in
time): p50/p99 latency and req/s for GET profile, POST event and POST export, against the
floor: the same load on GET /healthz of the same server (HTTP stack and client alone)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.datagen import Generator, seed_population
from bench.measure import Row, mib
from bench.scenarios import Context
from bench.server import veil_server

KINDS = (
    ("healthz", "5 API load: GET /healthz (floor)"),
    ("get_profile", "5 API load: GET /api/v1/profiles/{id}"),
    ("post_event", "5 API load: POST /api/v1/events"),
    ("post_export", "5 API load: POST /api/v1/profiles/{id}/export"),
)


def _drive(ctx: Context, config: dict[str, object]) -> dict[str, object]:
    seconds = float(config["seconds"])  # type: ignore[arg-type]
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.load failed:\n{result.stderr[-3000:]}")
    answer: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def _ms(value: object) -> str:
    return "–" if value is None else f"{float(value) * 1000:.1f} ms"  # type: ignore[arg-type]


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    sizes = ctx.sizes
    ws = inst.create_workspace("bench api load")
    gen = Generator(ws.id, seed=505)
    ctx.log(f"  seeding {sizes.load_profiles:,} profiles")
    crowd = seed_population(inst.engine, gen, profiles=sizes.load_profiles, events_per_profile=5)
    inst.analyze()
    pool = ctx.work / "pool.json"
    pool.write_text(json.dumps([{"id": p.profile_id, "email": p.email} for p in crowd.people]))
    results: dict[str, list[dict[str, object]]] = {kind: [] for kind, _ in KINDS}
    rss: dict[str, int] = {}
    wanted = {"healthz", *sizes.load_kinds.split(",")}
    kinds = [(kind, title) for kind, title in KINDS if kind in wanted]
    with veil_server(inst, ctx.work / "serve-load.log", worker=True) as server:
        for run_no in range(sizes.runs):
            for kind, _title in kinds:
                if kind == "post_export" and run_no:
                    continue  # each profile can be asked once; one run walks the pool
                server.reset_peak()
                answer = _drive(
                    ctx,
                    {
                        "url": server.url,
                        "key": ws.admin_key,
                        "kind": kind,
                        "pool": str(pool),
                        "seconds": sizes.load_seconds,
                        "concurrency": sizes.load_concurrency,
                        "warmup": min(1.0, sizes.load_seconds / 4),
                    },
                )
                rss[kind] = max(rss.get(kind, 0), server.peak_rss())
                results[kind].append(answer)
                ctx.log(
                    f"  {kind}: {answer['rps']:.0f} req/s p50 {_ms(answer['p50'])} "
                    f"p99 {_ms(answer['p99'])} {answer['statuses']}"
                )
    floor_rps = sorted(float(a["rps"]) for a in results["healthz"])[len(results["healthz"]) // 2]  # type: ignore[arg-type]
    rows = []
    for kind, title in kinds:
        answers = results[kind]
        middle = sorted(answers, key=lambda a: float(a["rps"]))[len(answers) // 2]  # type: ignore[arg-type]
        rps = float(middle["rps"])  # type: ignore[arg-type]
        row = ctx.row(
            title,
            f"{sizes.load_concurrency} connections, {sizes.load_seconds:g} s, "
            f"{sizes.load_profiles:,} profiles",
            unit="req",
        )
        row.runs = [1 / float(a["rps"]) for a in answers if a["rps"]]  # type: ignore[arg-type]
        row.floor_runs = [1 / float(a["rps"]) for a in results["healthz"] if a["rps"]]  # type: ignore[arg-type]
        row.peak_rss_mib = mib(rss[kind])
        row.extra.update(
            median_text=f"p50 {_ms(middle['p50'])}, p99 {_ms(middle['p99'])} ({len(answers)})",
            rate=f"{rps:,.0f} req/s",
            floor_text=f"{floor_rps:,.0f} req/s",
            ratio=floor_rps / rps if rps else 0,
            statuses=middle["statuses"],
            notes="statuses "
            + ", ".join(f"{k}: {v}" for k, v in middle["statuses"].items())  # type: ignore[union-attr]
            + "; server peak RSS",
        )
        rows.append(row)
    return rows
