"""Scenario 6: end-to-end latency for typical contacts (≤ 1,000 events) with the embedded
worker of a real `veil serve`: POST export → GET shows `ready`, and POST delete → GET shows
`completed`, one contact after the other; p50/p95. Floors: the bare SELECT + orjson and the
bare UPDATE pass of scenarios 1 and 2 on the same contacts."""

from __future__ import annotations

import time

import httpx

from bench.child import TASKS
from bench.datagen import Generator, seed_campaigns, seed_contact
from bench.measure import Row, mib, percentile
from bench.scenarios import Context

POLL = 0.01
DEADLINE = 120.0


def wait_for_status(client: httpx.Client, path: str, status: str) -> None:
    """Poll `path` every POLL seconds until its `status` is `status` (`failed` raises)."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        answer = client.get(path)
        if answer.status_code == 200 and answer.json()["status"] == status:
            return
        if answer.status_code == 200 and answer.json()["status"] == "failed":
            raise RuntimeError(f"{path} failed")
        time.sleep(POLL)
    raise RuntimeError(f"{path} not {status} after {DEADLINE} s")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    sizes = ctx.sizes
    ws = inst.create_workspace("bench e2e")
    gen = Generator(ws.id, seed=606)
    campaigns = seed_campaigns(inst.engine, gen, 10)
    contacts = []
    total = 0
    for index in range(sizes.e2e_contacts):
        events = gen.rng.randint(max(1, sizes.e2e_max_events // 10), sizes.e2e_max_events)
        seeded = seed_contact(
            inst.engine, gen, index=index, events=events, recipients=10, campaigns=campaigns
        )
        contacts.append(seeded.people[0])
        total += events
    inst.analyze()

    floor_export, floor_delete = [], []
    for person in contacts:
        args = {"workspace_id": ws.id, "profile_id": person.profile_id}
        out = str(ctx.work / "floor.json")
        floor_export.append(TASKS["export_floor"](inst.runtime, {**args, "out": out})["seconds"])
        floor_delete.append(TASKS["deletion_floor"](inst.runtime, args)["seconds"])

    exports: list[float] = []
    deletions: list[float] = []
    headers = {"Authorization": f"Bearer {ws.admin_key}"}
    with inst_server(ctx) as server:
        server.reset_peak()
        with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
            for person in contacts:
                started = time.perf_counter()
                answer = client.post(f"/api/v1/profiles/{person.profile_id}/export")
                if answer.status_code != 202:
                    raise RuntimeError(f"export: {answer.status_code} {answer.text[:200]}")
                wait_for_status(
                    client, f"/api/v1/compliance/exports/{answer.json()['id']}", "ready"
                )
                exports.append(time.perf_counter() - started)
            for person in contacts:
                started = time.perf_counter()
                answer = client.post(
                    f"/api/v1/profiles/{person.profile_id}/delete", json={"confirm": True}
                )
                if answer.status_code != 202:
                    raise RuntimeError(f"delete: {answer.status_code} {answer.text[:200]}")
                wait_for_status(
                    client, f"/api/v1/compliance/deletions/{answer.json()['id']}", "completed"
                )
                deletions.append(time.perf_counter() - started)
        peak = server.peak_rss()

    case = f"{len(contacts)} contacts, {total // max(1, len(contacts)):,} events on average"
    rows = []
    for title, values, floors in (
        ("6 end to end: export ready", exports, floor_export),
        ("6 end to end: deletion completed", deletions, floor_delete),
    ):
        p50, p95 = percentile(values, 50), percentile(values, 95)
        f50, f95 = percentile(floors, 50), percentile(floors, 95)
        row = ctx.row(title, case, runs=values, floor_runs=floors, unit="requests")
        row.peak_rss_mib = mib(peak)
        row.extra.update(
            p50_s=p50,
            p95_s=p95,
            floor_p95_s=f95,
            median_text=f"p50 {_ms(p50)}, p95 {_ms(p95)} ({len(values)})",
            rate=f"{len(values) / sum(values):.1f} requests/s (one at a time)",
            floor_text=f"p50 {_ms(f50)}, p95 {_ms(f95)}",
            ratio=p95 / f95 if f95 else 0,
            notes="ratio of the p95s; server peak RSS; includes the worker's 0.2 s idle poll",
        )
        rows.append(row)
        ctx.log(f"  {title}: p50 {_ms(p50)} p95 {_ms(p95)} (floor p95 {_ms(f95)})")
    return rows


def inst_server(ctx: Context):  # type: ignore[no-untyped-def]
    from bench.server import veil_server

    return veil_server(ctx.inst, ctx.work / "serve-e2e.log", worker=True)
