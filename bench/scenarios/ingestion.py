"""Scenario 4: ingestion, events/s through POST /api/v1/events/batch and through the
Segment-compatible POST /v1/batch of a running `veil serve`, against the floor: an executemany
INSERT of the same rows (profiles already resolved), one transaction per batch.

The workspace has suppressed one person (not in the population), so every item is screened
(SPEC §9), as in any workspace that ever suppressed somebody. Bodies are built before the clock
starts; one client posts them one after the other on a
keep-alive connection (the server is the bottleneck, not the client).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import orjson

from bench.datagen import EPOCH_END, Generator, Person, seed_population
from bench.measure import Row, mib, run_child
from bench.scenarios import Context
from bench.server import veil_server

SEGMENT_BATCH = "/v1/batch"
# Segment's own limit is 500 KB per batch: its clients send ~250 of these events at once.
SEGMENT_BATCH_EVENTS = 250


@dataclass
class Item:
    person: Person
    type: str
    properties: dict[str, Any]
    timestamp: str
    message_id: str


def items(gen: Generator, people: list[Person], count: int, *, run: int) -> list[Item]:
    """`count` events over `people`: ~30% orders, ~70% product views, the last 30 days."""
    rng = gen.rng
    out = []
    for n in range(count):
        person = people[rng.randrange(len(people))]
        if rng.random() < 0.3:
            type_, properties = "Placed Order", gen.order_properties(person, 100_000 + n)
        else:
            type_, properties = "Viewed Product", gen.view_properties(person)
        at = EPOCH_END - timedelta(seconds=rng.randrange(30 * 86400))
        out.append(
            Item(
                person=person,
                type=type_,
                properties=properties,
                timestamp=at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                message_id=f"bench-{run}-{n}",
            )
        )
    return out


def api_body(batch: list[Item]) -> bytes:
    return orjson.dumps(
        {
            "events": [
                {
                    "type": i.type,
                    "profile": {"email": i.person.email},
                    "properties": i.properties,
                    "timestamp": i.timestamp,
                }
                for i in batch
            ]
        }
    )


def segment_body(batch: list[Item]) -> bytes:
    return orjson.dumps(
        {
            "batch": [
                {
                    "type": "track",
                    "event": i.type,
                    "userId": i.person.external_id,
                    "properties": i.properties,
                    "timestamp": i.timestamp,
                    "messageId": i.message_id,
                }
                for i in batch
            ]
        }
    )


def segment_available(url: str) -> bool:
    """Whether the running build of Veil has the Segment batch route (its OpenAPI says)."""
    paths = httpx.get(f"{url}/openapi.json", timeout=30).json().get("paths", {})
    return "post" in paths.get(SEGMENT_BATCH, {})


def suppress_somebody(url: str, admin_key: str) -> None:
    """An erasure with suppression of a person Veil holds nothing about (SPEC §8: it completes
    at once and records the suppression): from then on every item of every batch is screened
    (SPEC §9: its identifiers normalised and digested, one lookup per batch), as in any
    workspace that ever suppressed somebody. The bench measures that path, not the shortcut of
    a workspace without a suppression key."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    body = {
        "type": "erasure",
        "identities": [{"type": "email", "value": "suppressed.person@bench.example.org"}],
        "suppress": True,
    }
    answer = httpx.post(f"{url}/api/v1/privacy-requests", json=body, headers=headers, timeout=60)
    if answer.status_code != 202:
        raise RuntimeError(f"privacy request: {answer.status_code} {answer.text[:300]}")
    listed = httpx.get(f"{url}/api/v1/compliance/suppressions", headers=headers, timeout=60)
    if len(listed.json().get("data", [])) != 1:
        raise RuntimeError(f"expected one suppression: {listed.text[:300]}")


def _chunks(values: list[Item], size: int) -> list[list[Item]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def run(ctx: Context) -> list[Row]:
    inst = ctx.inst
    sizes = ctx.sizes
    ws = inst.create_workspace("bench ingestion")
    gen = Generator(ws.id, seed=404)
    people = seed_population(inst.engine, gen, profiles=1_000, events_per_profile=0).people
    inst.analyze()
    segment_batch = min(sizes.ingest_batch, SEGMENT_BATCH_EVENTS)
    api = ctx.row(
        "4 ingestion: POST /api/v1/events/batch",
        f"{sizes.ingest_events:,} events in batches of {sizes.ingest_batch:,}",
        units=sizes.ingest_events,
    )
    segment_events = min(sizes.ingest_events, sizes.segment_events)
    segment = ctx.row(
        "4 ingestion: POST /v1/batch (Segment)",
        f"{segment_events:,} track calls in batches of {segment_batch:,}",
        units=segment_events,
    )
    routes: list[tuple[Row, str, Any, dict[str, str], int, int]] = [
        (
            api,
            "/api/v1/events/batch",
            api_body,
            {"Authorization": f"Bearer {ws.admin_key}"},
            sizes.ingest_batch,
            sizes.ingest_events,
        )
    ]
    env = inst.env(queue_url="memory://")
    with veil_server(inst, ctx.work / "serve-ingestion.log", worker=False) as server:
        suppress_somebody(server.url, ws.admin_key)
        if segment_available(server.url):
            basic = base64.b64encode(f"{ws.write_key}:".encode()).decode()
            headers = {"Authorization": f"Basic {basic}"}
            routes.append(
                (segment, SEGMENT_BATCH, segment_body, headers, segment_batch, segment_events)
            )
        else:
            segment.skipped = "/v1/batch not available"
            ctx.log("  skipped: /v1/batch not available")
        for row, path, build, headers, batch_size, count in routes:
            rss: list[int] = []
            for run_no in range(sizes.runs):
                seed = 1000 * (len(rss) + 1) + (0 if row is api else 500)
                gen_run = Generator(ws.id, seed=seed)
                batch_items = items(gen_run, people, count, run=seed)
                bodies = [build(chunk) for chunk in _chunks(batch_items, batch_size)]
                server.reset_peak()
                with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
                    started = time.perf_counter()
                    for body in bodies:
                        answer = client.post(
                            path, content=body, headers={"Content-Type": "application/json"}
                        )
                        if answer.status_code >= 300:
                            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
                    seconds = time.perf_counter() - started
                rss.append(server.peak_rss())
                floor = run_child(
                    "ingest_floor",
                    env,
                    workspace_id=ws.id,
                    seed=seed,
                    count=count,
                    batch=batch_size,
                    people=[[p.index, p.profile_id] for p in people],
                )
                row.runs.append(seconds)
                row.floor_runs.append(floor["seconds"])
                row.extra["body_mib"] = mib(sum(len(b) for b in bodies))
                ctx.log(
                    f"  {path} run {run_no + 1}: {count / seconds:,.0f} events/s "
                    f"(floor {count / floor['seconds']:,.0f}/s)"
                )
            row.peak_rss_mib = mib(max(rss))
            row.extra["notes"] = "peak RSS of the server process"
    return [api, segment]
