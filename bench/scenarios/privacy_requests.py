"""Scenario 8: privacy requests (SPEC §8, issue 13).

- *bulk accepted*: `POST /api/v1/privacy-requests/bulk` with 5,000 subjects by email (half of
  them match a contact) against `veil serve --no-worker`, until the `202`. Floor: the very rows
  the bulk stored, INSERTed again through the driver (executemany, one transaction).
- *erasures drain*: N erasure requests queued first, then drained by one worker in a child
  process; the resident set after the first 100 deletions against its peak over the rest
  (flat memory: the growth stays a few MiB whatever N). Floor: the bare UPDATE pass of
  scenario 3 over the same profiles.
- *callback overhead*: erasure requests one after another until the queue is empty, half with
  a callback URL to a receiver on loopback (two signed deliveries each, `in_progress` and
  `completed`), half without, alternating; ratio of the medians (target < 1.05), to
  `completed_at` and to the empty queue (the requester told).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
from sqlalchemy import text

from bench.datagen import Generator, Person, seed_population
from bench.measure import MIB, Row, mib, run_child
from bench.scenarios import Context
from bench.server import veil_server

BULK_PATH = "/api/v1/privacy-requests/bulk"


def run(ctx: Context) -> list[Row]:
    ws = ctx.inst.create_workspace("bench privacy requests")
    gen = Generator(ws.id, seed=707)
    return [_bulk(ctx, ws, gen), _drain(ctx, ws.id, gen), *_callbacks(ctx, ws.id, gen)]


def _people(ctx: Context, gen: Generator, count: int, *, tag: str, start: int) -> list[Person]:
    crowd = seed_population(
        ctx.inst.engine,
        gen,
        profiles=count,
        events_per_profile=ctx.sizes.pr_events,
        tag=tag,
        start=start,
    )
    ctx.inst.analyze()
    return crowd.people


def _bulk(ctx: Context, ws: Any, gen: Generator) -> Row:
    size = ctx.sizes.pr_bulk_subjects
    known = _people(ctx, gen, size // 2, tag="k", start=0)
    row = ctx.row(
        "8 privacy requests: bulk accepted",
        f"{size:,} subjects by email, half of them known",
        units=size,
        unit="subjects",
    )
    env = ctx.inst.env(queue_url="memory://")
    headers = {"Authorization": f"Bearer {ws.admin_key}", "Content-Type": "application/json"}
    with veil_server(ctx.inst, ctx.work / "serve-bulk.log", worker=False) as server:
        server.reset_peak()
        with httpx.Client(base_url=server.url, headers=headers, timeout=120) as client:
            for run_no in range(ctx.sizes.runs):
                emails = [p.email for p in known] + [
                    f"unknown.{run_no}.{n}@example.com" for n in range(size - len(known))
                ]
                body = orjson.dumps(
                    {
                        "type": "access",
                        "subjects": [
                            {"identities": [{"type": "email", "value": e}], "reference": f"r{n}"}
                            for n, e in enumerate(emails)
                        ],
                    }
                )
                started = time.perf_counter()
                answer = client.post(BULK_PATH, content=body)
                seconds = time.perf_counter() - started
                if answer.status_code != 202 or len(answer.json()["requests"]) != size:
                    raise RuntimeError(f"bulk: {answer.status_code} {answer.text[:200]}")
                first = answer.json()["requests"][0]
                floor = run_child("privacy_bulk_floor", env, batch_id=_batch_of(ctx, first))
                if floor["rows"] != size:
                    raise RuntimeError(f"the floor stored {floor['rows']} rows, not {size}")
                row.runs.append(seconds)
                row.floor_runs.append(floor["seconds"])
                ctx.log(f"  bulk of {size:,}: {seconds:.2f}s, floor {floor['seconds']:.3f}s")
        row.peak_rss_mib = mib(server.peak_rss())
    row.extra["notes"] = "HTTP, one client; server peak RSS; target < 2 s"
    return row


def _batch_of(ctx: Context, request_id: str) -> str:
    with ctx.inst.engine.connect() as conn:
        batch: str = conn.execute(
            text("SELECT batch_id FROM privacy_requests WHERE id = :id"), {"id": request_id}
        ).scalar_one()
    return batch


def _drain(ctx: Context, workspace_id: str, gen: Generator) -> Row:
    size, reference = ctx.sizes.pr_drain_requests, ctx.sizes.pr_drain_reference
    if not 0 < reference < size:
        raise ValueError("pr_drain_reference must be between 0 and pr_drain_requests")
    people = _people(ctx, gen, size, tag="d", start=10**6)
    env = ctx.inst.env(queue_url="memory://")
    row = ctx.row(
        "8 privacy requests: erasures drain",
        f"{size:,} queued erasure requests × {ctx.sizes.pr_events} events",
        units=size,
        unit="requests",
    )
    ids = [p.profile_id for p in people]
    floor = run_child("deletion_floor", env, workspace_id=workspace_id, profile_ids=ids)
    ctx.log(f"  draining {size:,} erasure requests")
    drained = run_child(
        "privacy_drain",
        env,
        workspace_id=workspace_id,
        emails=[p.email for p in people],
        reference=reference,
    )
    row.runs.append(drained["seconds"])
    row.floor_runs.append(floor["seconds"])
    row.peak_rss_mib = mib(drained["rss"])
    growth = drained["growth"] / MIB
    row.extra.update(
        reference_rss_mib=mib(drained["reference_rss"]),
        growth_mib=round(growth, 1),
        notes=f"peak RSS after the first {reference:,} deletions: +{growth:.1f} MiB",
    )
    ctx.log(
        f"  drained in {drained['seconds']:.1f}s (floor {floor['seconds']:.2f}s), "
        f"RSS {mib(drained['reference_rss'])} MiB after {reference}, peak +{growth:.1f} MiB"
    )
    return row


def _callbacks(ctx: Context, workspace_id: str, gen: Generator) -> list[Row]:
    count = ctx.sizes.pr_callback_requests
    people = _people(ctx, gen, 2 * count, tag="c", start=2 * 10**6)
    env = ctx.inst.env(queue_url="memory://", callback_allow_private="true")
    with loopback_receiver() as (url, received):
        answer = run_child(
            "privacy_callbacks",
            env,
            workspace_id=workspace_id,
            callback_url=url,
            pairs=[(people[2 * n].email, people[2 * n + 1].email) for n in range(count)],
        )
    if len(received) != 2 * count or not all(received):
        raise RuntimeError(f"{len(received)} signed callbacks received, not {2 * count}")
    rows = []
    case = f"{count} erasures with a callback, {count} without, {ctx.sizes.pr_events} events each"
    for what, key, notes in (
        ("completed", "completed", "create → `completed_at`; floor: without a callback"),
        (
            "both deliveries done",
            "drained",
            "create → queue empty (the `completed` delivery included); floor: without a callback",
        ),
    ):
        row = ctx.row(
            f"8 privacy requests: with a callback, {what}",
            case,
            runs=answer["with"][key],
            floor_runs=answer["without"][key],
            units=1,
            unit="requests",
        )
        row.peak_rss_mib = mib(answer["rss"])
        row.extra["notes"] = f"{notes}; one worker thread; target ratio < 1.05"
        ctx.log(f"  with a callback, {what}: {row.median:.3f}s, without {row.floor_median:.3f}s")
        rows.append(row)
    return rows


@contextmanager
def loopback_receiver() -> Iterator[tuple[str, list[bool]]]:
    """A callback receiver on 127.0.0.1 answering 200; yields its URL and, per POST received,
    whether it carried a `Veil-Signature`."""
    received: list[bool] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(self.headers.get("Veil-Signature", "").startswith("t="))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/veil", received
    finally:
        server.shutdown()
        server.server_close()
