"""Scenario 7: export and erasure of one large profile (10^3 and 10^4 events) over HTTP, as a
client times them: from the `POST` to the first `GET` that shows `ready` / `completed`, with
the embedded worker of a real `veil serve` (its idle poll included). This is how a peer
engine measured over its API is timed, so the two figures compare fairly; scenarios 1 and 2
time the job alone. Floors: the bare SELECT + orjson and the bare UPDATE pass of scenarios 1
and 2 on the same profile."""

from __future__ import annotations

import time

import httpx

from bench.child import TASKS
from bench.datagen import Generator, seed_campaigns
from bench.measure import Row, mib
from bench.scenarios import Context, fresh_copy, retire, seed_history
from bench.scenarios.e2e import inst_server, wait_for_status

RECIPIENTS = 10


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    ws = inst.create_workspace("bench dsr over http")
    gen = Generator(ws.id, seed=707)
    campaigns = seed_campaigns(inst.engine, gen, 10)
    templates = []
    for index, size in enumerate(ctx.sizes.http_events):
        ctx.log(f"  seeding a template contact with {size:,} events")
        template = seed_history(
            ctx, gen, index=index, events=size, recipients=RECIPIENTS, campaigns=campaigns
        )
        retire(ctx, ws.id, template.profile_id)
        templates.append((index, size, template))
    inst.analyze()

    rows: list[Row] = []
    headers = {"Authorization": f"Bearer {ws.admin_key}"}
    with (
        inst_server(ctx) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=120) as client,
    ):
        for index, size, template in templates:
            export = ctx.row("7 over HTTP: export POST → ready", f"{size:,} events", units=size)
            erase = ctx.row(
                "7 over HTTP: erasure POST → completed",
                f"{size:,} events, {RECIPIENTS} recipients",
                units=size,
            )
            peak = 0
            for run_no in range(ctx.sizes.runs):
                # A fresh copy per run (the previous one is erased, so its identifiers are free).
                subject = fresh_copy(ctx, gen, template, tag=f"h{index}r{run_no}")
                args = {"workspace_id": ws.id, "profile_id": subject.profile_id}
                out = str(ctx.work / "floor.json")
                export.floor_runs.append(
                    TASKS["export_floor"](inst.runtime, {**args, "out": out})["seconds"]
                )
                erase.floor_runs.append(TASKS["deletion_floor"](inst.runtime, args)["seconds"])
                server.reset_peak()
                profile_path = f"/api/v1/profiles/{subject.profile_id}"
                export.runs.append(_timed(client, f"{profile_path}/export", None, "ready"))
                erase.runs.append(
                    _timed(client, f"{profile_path}/delete", {"confirm": True}, "completed")
                )
                peak = max(peak, server.peak_rss())
                ctx.log(
                    f"  {size:,} events over HTTP: export {export.runs[-1]:.2f}s "
                    f"(floor {export.floor_runs[-1]:.2f}s), erasure {erase.runs[-1]:.2f}s "
                    f"(floor {erase.floor_runs[-1]:.2f}s)"
                )
            for row in (export, erase):
                row.peak_rss_mib = mib(peak)
                row.extra["notes"] = "server peak RSS; includes the worker's 0.2 s idle poll"
                rows.append(row)
    return rows


def _timed(client: httpx.Client, path: str, body: object, status: str) -> float:
    started = time.perf_counter()
    answer = client.post(path, json=body) if body is not None else client.post(path)
    if answer.status_code != 202:
        raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:200]}")
    kind = "exports" if status == "ready" else "deletions"
    wait_for_status(client, f"/api/v1/compliance/{kind}/{answer.json()['id']}", status)
    return time.perf_counter() - started
