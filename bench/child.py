"""`python -m bench.child TASK ARGS_JSON`: one measured job in a fresh process.

The process connects and imports everything first, then resets its peak RSS counter (VmHWM)
so the reported peak belongs to the job alone, runs the job with the jobs queue in memory
(`runtime.queue.drain()`, as the tests do), and prints one JSON line: seconds, peak RSS and
what the job produced. Floors run here too, under the same conditions.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import JSON, func, select

import veil.tasks  # noqa: F401  (an entry point: registers every job)
from bench.measure import read_hwm, read_rss, reset_hwm
from veil.compliance.deletions import service as deletions
from veil.compliance.exports import service as exports
from veil.compliance.privacy_requests import service as privacy
from veil.config import Settings
from veil.db import session_scope
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import DeletionRequest, ExportRequest, PrivacyCallback, PrivacyRequest
from veil.models.privacy_callback import DeliveryStatus
from veil.models.privacy_request import (
    PrivacyRequestSource,
    PrivacyRequestStatus,
    PrivacyRequestType,
)
from veil.ops.heap import freeze_startup_heap
from veil.runtime import Runtime
from veil.worker.queue import JOBS

Task = Callable[[Runtime, dict[str, Any]], dict[str, Any]]
TASKS: dict[str, Task] = {}


def task(fn: Task) -> Task:
    TASKS[fn.__name__] = fn
    return fn


def _timed(fn: Callable[[], Any]) -> tuple[float, int, Any]:
    """(seconds, peak RSS during the call, result)."""
    reset_hwm()
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, read_hwm(), value


# -- export --------------------------------------------------------------------------------------


@task
def export(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Request → ready (request committed, job run), then the download streamed to a file."""
    ws, pid = args["workspace_id"], args["profile_id"]

    def request_and_build() -> str:
        with session_scope(runtime.sessionmaker) as session:
            export_id = exports.request_export(
                session,
                runtime=runtime,
                workspace_id=ws,
                profile_id=pid,
                requested_by="bench",
                actor="bench",
            ).id
        runtime.queue.drain()
        return export_id

    ready_s, ready_rss, export_id = _timed(request_and_build)
    with session_scope(runtime.sessionmaker) as session:
        row = session.get_one(ExportRequest, export_id)
        if row.status != "ready":
            raise RuntimeError(f"export ended {row.status}: {row.last_error}")
        events, size = row.event_count, row.file_size

    target = Path(args["out"])

    def download() -> int:
        written = 0
        with session_scope(runtime.sessionmaker) as session:
            prepared = exports.download(
                session, runtime=runtime, workspace_id=ws, export_id=export_id, actor="bench"
            )
        with target.open("wb") as out:
            for chunk in prepared.chunks:
                out.write(chunk)
                written += len(chunk)
        return written

    download_s, download_rss, written = _timed(download)
    target.unlink()
    return {
        "seconds": ready_s,
        "rss": ready_rss,
        "download_s": download_s,
        "download_rss": download_rss,
        "events": events,
        "file_size": size,
        "document_bytes": written,
    }


@task
def export_floor(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """The cheapest way to the same document body: one bare SELECT of the same rows through
    the driver, each row written with orjson (the stored JSON spliced in as is), to a file."""
    ws, pid = args["workspace_id"], args["profile_id"]
    target = Path(args["out"])
    postgres = runtime.engine.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    properties = "properties::text" if postgres else "properties"
    sql = (
        f"SELECT id, type, timestamp, source, {properties}, campaign_id FROM events "
        f"WHERE workspace_id = {mark} AND profile_id = {mark} ORDER BY timestamp, id"
    )

    def run() -> int:
        raw = runtime.engine.raw_connection()
        rows = 0
        try:
            # PostgreSQL: a server-side cursor, so memory stays flat like the export's.
            cursor = raw.cursor(name="floor") if postgres else raw.cursor()
            cursor.execute(sql, (ws, pid))
            with target.open("wb") as out:
                out.write(b"[")
                separator = b""
                while batch := cursor.fetchmany(2000):
                    for event_id, type_, at, source, props, campaign_id in batch:
                        out.write(
                            separator
                            + orjson.dumps(
                                {
                                    "id": event_id,
                                    "type": type_,
                                    "timestamp": at,
                                    "source": source,
                                    "properties": orjson.Fragment(props),
                                    "campaign_id": campaign_id,
                                }
                            )
                        )
                        separator = b","
                    rows += len(batch)
                out.write(b"]")
            cursor.close()
        finally:
            raw.rollback()
            raw.close()
        return rows

    seconds, rss, rows = _timed(run)
    target.unlink()
    return {"seconds": seconds, "rss": rss, "events": rows}


# -- deletion ------------------------------------------------------------------------------------


def _request_deletion(runtime: Runtime, ws: str, pid: str) -> str:
    with session_scope(runtime.sessionmaker) as session:
        return deletions.request_deletion(
            session,
            runtime=runtime,
            workspace_id=ws,
            profile_id=pid,
            requested_by="bench",
            actor="bench",
        ).id


def _completed(runtime: Runtime, request_ids: list[str]) -> list[dict[str, Any]]:
    summaries = []
    with session_scope(runtime.sessionmaker) as session:
        for request_id in request_ids:
            row = session.get_one(DeletionRequest, request_id)
            if row.status != "completed" or not (row.summary or {}).get("verified"):
                raise RuntimeError(f"deletion ended {row.status}: {row.last_error}")
            summaries.append(row.summary)
    return summaries


@task
def deletion(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Request → completed (and verified) for one profile."""
    ws, pid = args["workspace_id"], args["profile_id"]

    def run() -> str:
        request_id = _request_deletion(runtime, ws, pid)
        runtime.queue.drain()
        return request_id

    seconds, rss, request_id = _timed(run)
    (summary,) = _completed(runtime, [request_id])
    return {"seconds": seconds, "rss": rss, "summary": summary}


def _update_pass_sql(postgres: bool) -> list[str]:
    mark = "%s" if postgres else "?"
    scope = f"workspace_id = {mark} AND profile_id = {mark}"
    return [
        f"UPDATE events SET properties = properties, type = type WHERE {scope}",
        f"UPDATE recipients SET email = email, phone = phone WHERE {scope}",
    ]


@task
def deletion_floor(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """One bare UPDATE pass over the same rows (every event and recipient record of the
    profile rewritten in place, values unchanged), one transaction."""
    postgres = runtime.engine.dialect.name == "postgresql"
    statements = _update_pass_sql(postgres)
    ids: list[str] = args.get("profile_ids") or [args["profile_id"]]
    ws = args["workspace_id"]

    def run() -> int:
        raw = runtime.engine.raw_connection()
        touched = 0
        try:
            cursor = raw.cursor()
            for pid in ids:  # one transaction per profile: each deletion commits on its own
                if not postgres:
                    cursor.execute("BEGIN IMMEDIATE")
                for statement in statements:
                    cursor.execute(statement, (ws, pid))
                    touched += max(cursor.rowcount, 0)
                if postgres:
                    raw.commit()
                else:
                    cursor.execute("COMMIT")
            cursor.close()
        finally:
            raw.close()
        return touched

    seconds, rss, touched = _timed(run)
    return {"seconds": seconds, "rss": rss, "rows": touched}


@task
def bulk_deletion(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Many deletions end to end: each requested in its own transaction (as the API does),
    then every job run; seconds until the last one completed."""
    ws, ids = args["workspace_id"], args["profile_ids"]
    timings: dict[str, float] = {}

    def run() -> list[str]:
        started = time.perf_counter()
        request_ids = [_request_deletion(runtime, ws, pid) for pid in ids]
        timings["requests_s"] = time.perf_counter() - started
        runtime.queue.drain(max_tasks=len(ids) + 10)
        return request_ids

    seconds, rss, request_ids = _timed(run)
    summaries = _completed(runtime, request_ids)
    return {
        "seconds": seconds,
        "rss": rss,
        "deletions": len(summaries),
        "events_scrubbed": sum(s.get("events_scrubbed", 0) for s in summaries),
        **timings,
    }


@task
def bulk_request(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """The deletions of scenario 3 requested one by one (each its own transaction, as the
    API does), their jobs enqueued on the queue the workers read."""
    ws, ids = args["workspace_id"], args["profile_ids"]
    started = time.perf_counter()
    request_ids = [_request_deletion(runtime, ws, pid) for pid in ids]
    return {"seconds": time.perf_counter() - started, "request_ids": request_ids}


@task
def bulk_work(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """One worker process: ready, waits for the start signal (a file), then runs jobs until
    the queue is empty (its idle step included: the batched checkpoint)."""
    ready, go = Path(args["ready"]), Path(args["go"])
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    # A Redis queue's consumer blocks up to a second on an empty queue before it answers
    # "empty"; a drain only needs the answer, so this one asks without blocking (huey's
    # RedisStorage reads the flag at every dequeue).
    storage = runtime.queue.huey.storage
    if hasattr(storage, "blocking"):
        storage.blocking = False
    reset_hwm()
    threads = int(args.get("threads", 1))
    if threads == 1:
        ran = runtime.queue.drain(max_tasks=10**9)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(threads) as pool:
            counts = [pool.submit(runtime.queue.drain, max_tasks=10**9) for _ in range(threads)]
            ran = sum(count.result() for count in counts)
    return {"ended": time.time(), "ran": ran, "rss": read_hwm()}


@task
def bulk_check(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    summaries = _completed(runtime, args["request_ids"])
    return {"deletions": len(summaries)}


# -- ingestion -----------------------------------------------------------------------------------


@task
def ingest_floor(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """executemany INSERT of the rows the API stored (profiles already resolved, JSON by
    orjson), one transaction per batch, through the driver."""
    from datetime import datetime

    from bench.datagen import Generator, _converter
    from bench.scenarios.ingestion import items
    from veil.models import Event

    ws = args["workspace_id"]
    template = Generator(ws, seed=0)
    people = []
    for index, profile_id in args["people"]:
        person = template.person(index, tag="m")
        people.append(type(person)(**{**person.__dict__, "profile_id": profile_id}))
    gen = Generator(ws, seed=args["seed"])
    source = items(gen, people, args["count"], run=args["seed"])
    engine = runtime.engine
    postgres = engine.dialect.name == "postgresql"
    table = Event.__table__
    names = list(table.c.keys())
    convert = [_converter(table.c[name], engine.dialect) for name in names]
    rows = []
    for item in source:
        at = datetime.fromisoformat(item.timestamp.replace("Z", "+00:00"))
        values = {
            "id": gen.ids("evt"),
            "workspace_id": ws,
            "profile_id": item.person.profile_id,
            "type": item.type,
            "timestamp": at,
            "received_at": at,
            "properties": item.properties,
            "source": "api",
            "campaign_id": None,
            "recipient_id": None,
            "message_id": None,
        }
        rows.append(values)
    if postgres:
        marks = ", ".join("%s::jsonb" if n == "properties" else "%s" for n in names)
    else:
        marks = ", ".join("?" for _ in names)
    sql = f"INSERT INTO events ({', '.join(names)}) VALUES ({marks})"
    size = args["batch"]

    def run() -> int:
        # Serialising is part of the work (the API gets objects, not JSON text).
        batches = (
            [
                tuple(fn(row[name]) for name, fn in zip(names, convert, strict=True))
                for row in rows[start : start + size]
            ]
            for start in range(0, len(rows), size)
        )
        return _insert_batches(engine, sql, batches)

    seconds, rss, count = _timed(run)
    return {"seconds": seconds, "rss": rss, "events": count}


# -- privacy requests (SPEC §8) -------------------------------------------------------------------


def _erasure_request(runtime: Runtime, ws: str, email: str, callback_urls: list[str]) -> str:
    """One erasure request by email, in its own transaction as the API takes it; its id."""
    with session_scope(runtime.sessionmaker) as session:
        request, _ = privacy.create_request(
            session,
            runtime=runtime,
            workspace_id=ws,
            new=privacy.NewRequest(
                type=PrivacyRequestType.ERASURE,
                identities=[("email", email)],
                callback_urls=callback_urls,
            ),
            source=PrivacyRequestSource.API,
            requested_by="bench",
            actor="bench",
        )
        return request.id


def _privacy_completed(runtime: Runtime, request_ids: list[str], *, delivered: int = 0) -> None:
    """Every request completed and verified; `delivered` callbacks delivered for each."""
    with session_scope(runtime.sessionmaker) as session:
        rows = session.scalars(select(PrivacyRequest).where(PrivacyRequest.id.in_(request_ids)))
        for row in rows:
            if row.status != PrivacyRequestStatus.COMPLETED or not row.verified:
                raise RuntimeError(f"privacy request ended {row.status}: {row.last_error}")
        sent = session.scalar(
            select(func.count())
            .select_from(PrivacyCallback)
            .where(
                PrivacyCallback.request_id.in_(request_ids),
                PrivacyCallback.status == DeliveryStatus.DELIVERED,
            )
        )
    if sent != delivered * len(request_ids):
        raise RuntimeError(f"{sent} callbacks delivered, not {delivered * len(request_ids)}")


@task
def privacy_bulk_floor(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """The rows a bulk stored (its batch), stored again under new ids: one executemany INSERT
    through the driver in one transaction, each value converted as SQLAlchemy binds it."""
    from bench.datagen import _converter

    table = PrivacyRequest.__table__
    with runtime.engine.connect() as conn:
        stored = [
            dict(row._mapping)
            for row in conn.execute(select(table).where(table.c.batch_id == args["batch_id"]))
        ]
    names = list(table.c.keys())
    dialect = runtime.engine.dialect
    postgres = dialect.name == "postgresql"
    convert = [_converter(table.c[name], dialect) for name in names]
    json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
    marks = ", ".join(
        ("%s::jsonb" if n in json_columns else "%s") if postgres else "?" for n in names
    )
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})"
    batch_id = new_id("bat")
    for row in stored:
        row.update(id=new_id("prq"), batch_id=batch_id)

    def run() -> int:
        values = [
            tuple(fn(plain(row[name])) for name, fn in zip(names, convert, strict=True))
            for row in stored
        ]
        return _insert_batches(runtime.engine, sql, [values])

    seconds, rss, count = _timed(run)
    return {"seconds": seconds, "rss": rss, "rows": count}


def plain(value: Any) -> Any:
    """A StrEnum as its str (the driver binds plain values)."""
    return str(value) if isinstance(value, StrEnum) else value


@task
def privacy_drain(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Erasure requests for every email, all queued first; then the queue drained by one
    worker thread. The resident set is read once `reference` deletions are done, and its peak
    over the rest of the drain is the growth."""
    ws, emails, reference = args["workspace_id"], args["emails"], args["reference"]
    request_ids = [_erasure_request(runtime, ws, email, []) for email in emails]
    erase = JOBS[deletions.JOB]
    done = {"deletions": 0, "reference_rss": 0}

    def counted(rt: Runtime, object_id: str) -> None:
        erase(rt, object_id)
        done["deletions"] += 1
        if done["deletions"] == reference:
            done["reference_rss"] = read_rss()
            reset_hwm()

    JOBS[deletions.JOB] = counted
    try:
        seconds, peak, _ = _timed(lambda: runtime.queue.drain(max_tasks=10 * len(emails) + 10))
    finally:
        JOBS[deletions.JOB] = erase
    _privacy_completed(runtime, request_ids)
    return {
        "seconds": seconds,
        "rss": peak,
        "reference_rss": done["reference_rss"],
        "growth": peak - done["reference_rss"],
        "requests": len(request_ids),
    }


@task
def privacy_callbacks(runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    """Erasure requests one after another, alternately without and with a callback URL, each
    run until the queue is empty (steps, re-check and, with a URL, its two signed deliveries).
    Per request: seconds from the create to `completed_at`, and to the empty queue."""
    ws, url = args["workspace_id"], args["callback_url"]
    times: dict[str, dict[str, list[float]]] = {
        side: {"completed": [], "drained": []} for side in ("with", "without")
    }
    ids: dict[str, list[str]] = {"with": [], "without": []}
    reset_hwm()
    for index, (without, with_callback) in enumerate(args["pairs"]):
        # Alternate which goes first, so neither side always runs on a warmer cache.
        order = [("without", without), ("with", with_callback)]
        for side, email in order if index % 2 == 0 else reversed(order):
            started, began = time.perf_counter(), utcnow()
            request_id = _erasure_request(runtime, ws, email, [url] if side == "with" else [])
            runtime.queue.drain()
            times[side]["drained"].append(time.perf_counter() - started)
            with session_scope(runtime.sessionmaker) as session:
                completed_at = session.get_one(PrivacyRequest, request_id).completed_at
            if completed_at is None:
                raise RuntimeError("the request did not complete")
            times[side]["completed"].append((completed_at - began).total_seconds())
            ids[side].append(request_id)
    _privacy_completed(runtime, ids["without"])
    _privacy_completed(runtime, ids["with"], delivered=2)  # in_progress and completed
    return {**times, "rss": read_hwm()}


def _insert_batches(engine: Any, sql: str, batches: Iterable[list[tuple[Any, ...]]]) -> int:
    """executemany through the driver, one transaction per batch; the rows inserted."""
    postgres = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    total = 0
    try:
        cursor = raw.cursor()
        for batch in batches:
            if not postgres:
                cursor.execute("BEGIN IMMEDIATE")
            cursor.executemany(sql, batch)
            if postgres:
                raw.commit()
            else:
                cursor.execute("COMMIT")
            total += len(batch)
        cursor.close()
    finally:
        raw.close()
    return total


# -- profiling -----------------------------------------------------------------------------------


def _profiled(name: str, runtime: Runtime, args: dict[str, Any]) -> dict[str, Any]:
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.002)
    profiler.start()
    answer = TASKS[name](runtime, args)
    profiler.stop()
    Path(args["profile_out"]).write_text(profiler.output_text(unicode=True, show_all=False))
    return answer


def main() -> None:
    name, raw_args = sys.argv[1], sys.argv[2]
    args: dict[str, Any] = json.loads(raw_args)
    runtime = Runtime(Settings(queue_url=args.get("queue_url", "memory://")))
    with runtime.engine.connect():  # connected and imported before anything is measured
        pass
    freeze_startup_heap()  # as `veil worker` does once it has started
    answer = (
        _profiled(name, runtime, args) if args.get("profile_out") else TASKS[name](runtime, args)
    )
    runtime.dispose()
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
