"""Prometheus metrics (SPEC §10): HTTP and job counters in this process, plus gauges read from
the database and the queue at scrape time.

Counters and histograms live in one module-level registry (one set per process); the gauges
that describe shared state (privacy requests, queue depth) are computed when /metrics is
scraped, so every process answers the same for them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from veil.compliance.privacy_requests.repository import overdue_clause
from veil.kit.time import utcnow
from veil.models import PrivacyRequest

if TYPE_CHECKING:
    from veil.runtime import Runtime

log = logging.getLogger("veil.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "veil_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_DURATION = Histogram(
    "veil_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route"],
    registry=REGISTRY,
)
JOBS = Counter(
    "veil_jobs",
    "Background jobs run, by job and outcome (ok, error).",
    ["job", "outcome"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "veil_job_duration_seconds",
    "Time a background job ran, by job.",
    ["job"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900),
)
SUPPRESSED_DROPS = Counter(
    "veil_suppressed_drops",
    "Incoming data dropped because its identity is suppressed, by source.",
    ["source"],
    registry=REGISTRY,
)


# States in which a privacy request is still owed to the person (SPEC §8: overdue).
def count_suppressed_drop(source: str, dropped: int = 1) -> None:
    SUPPRESSED_DROPS.labels(source=source).inc(dropped)


class JobTimer:
    """`with JobTimer(job):` counts the run as ok or error and records its duration."""

    def __init__(self, job: str) -> None:
        self.job = job

    def __enter__(self) -> None:
        self.started = time.perf_counter()

    def __exit__(self, exc_type: object, *_: object) -> None:
        JOB_DURATION.labels(job=self.job).observe(time.perf_counter() - self.started)
        JOBS.labels(job=self.job, outcome="ok" if exc_type is None else "error").inc()


def record_http_request(*, method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request by its route template (never the raw path)."""
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(route=route).observe(seconds)


class SharedStateCollector(Collector):
    """Gauges read at scrape time: the queue's depth and the privacy requests by state (SPEC §8),
    overdue as the API's `?overdue=true` counts it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("veil_queue_depth", "Jobs waiting in the queue.")
        try:
            depth.add_metric([], float(self.runtime.queue.pending_count()))
        except Exception as exc:
            log.warning("queue depth unavailable", extra={"fields": {"error": type(exc).__name__}})
        yield depth
        requests = GaugeMetricFamily(
            "veil_privacy_requests",
            "Privacy requests by type and status.",
            labels=["type", "status"],
        )
        overdue = GaugeMetricFamily(
            "veil_privacy_requests_overdue", "Privacy requests past their due date, still open."
        )
        by_state, late = self._privacy_requests()
        for (kind, status), count in sorted(by_state.items()):
            requests.add_metric([kind, status], float(count))
        overdue.add_metric([], float(late))
        yield requests
        yield overdue

    def _privacy_requests(self) -> tuple[dict[tuple[str, str], int], int]:
        """Across workspaces (a scrape is the operator's view): counts only, never an id."""
        try:
            with self.runtime.sessionmaker() as session:
                rows = session.execute(
                    select(PrivacyRequest.type, PrivacyRequest.status, func.count()).group_by(
                        PrivacyRequest.type, PrivacyRequest.status
                    )
                ).all()
                late = session.scalar(select(func.count()).where(overdue_clause(utcnow())))
        except Exception as exc:
            log.warning(
                "privacy request gauges unavailable",
                extra={"fields": {"error": type(exc).__name__}},
            )
            return {}, 0
        return {(str(t), str(s)): int(c) for t, s, c in rows}, int(late or 0)


def render_metrics(runtime: Runtime) -> bytes:
    scrape = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # `veil serve --workers N`: every process's counters, summed (veil.ops.serving).
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(scrape)  # type: ignore[no-untyped-call]
    else:
        scrape.register(_Forward(REGISTRY))
    scrape.register(SharedStateCollector(runtime))
    return generate_latest(scrape)


class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()


def serve_worker_metrics(runtime: Runtime, *, host: str, port: int) -> None:
    """`veil worker --metrics-port`: this process's job metrics (and the shared gauges) over
    plain HTTP in a background thread, for Prometheus to scrape on a private interface."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(REGISTRY))
    registry.register(SharedStateCollector(runtime))
    start_http_server(port, addr=host, registry=registry)
