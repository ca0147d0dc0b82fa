"""Building an export streams: peak memory does not grow with the number of events.

Each build runs in a fresh subprocess (same database, same data dir) that reports its
tracemalloc peak (Python allocations during the build) and how far its peak RSS rose above
the RSS at the start of the build (Linux: VmHWM, reset through /proc/self/clear_refs).
The property checked is flatness — 100x the events may not cost more than ~1.5x the
memory — which holds for a streaming writer and fails by a wide margin for one that
collects the events in memory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.compliance.export_support import export_row, seed_events, subprocess_env
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.compliance.exports import service
from veil.runtime import Runtime

SMALL, LARGE = 2_000, 200_000

MEASURE = """
import json, sys, tracemalloc
from veil.compliance.exports.tasks import build_export
from veil.config import Settings
from veil.runtime import Runtime


def rss_peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


runtime = Runtime(Settings())
runtime.engine  # connect before measuring: only the build is measured
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # reset the peak RSS counter (VmHWM) to the current RSS
baseline = rss_peak()
tracemalloc.start()
build_export(runtime, sys.argv[1])
_current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({"peak": peak, "rss": rss_peak(), "rss_start": baseline}))
"""


def _requested_export(runtime: Runtime, ws: WorkspaceHandle, *, email: str, events: int) -> str:
    with runtime.sessionmaker.begin() as session:
        profile_id = make_profile(session, workspace_id=ws.id, email=email).id
    seed_events(runtime, workspace_id=ws.id, profile_id=profile_id, count=events)
    with runtime.sessionmaker.begin() as session:
        export = service.request_export(
            session,
            runtime=runtime,
            workspace_id=ws.id,
            profile_id=profile_id,
            requested_by="memory test",
            actor="test",
        )
        export_id = export.id
    runtime.queue.flush()
    return export_id


def _measure(runtime: Runtime, database_url: str, export_id: str) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, export_id],
        env=subprocess_env(runtime, database_url, queue_url="memory://"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    measured: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


@pytest.mark.slow
def test_peak_memory_stays_flat_from_2k_to_200k_events(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str
) -> None:
    small = _requested_export(runtime, ws, email="small@example.com", events=SMALL)
    large = _requested_export(runtime, ws, email="large@example.com", events=LARGE)

    small_mem = _measure(runtime, database_url, small)
    large_mem = _measure(runtime, database_url, large)
    assert export_row(runtime, small).event_count == SMALL
    big = export_row(runtime, large)
    assert big.status == "ready" and big.event_count == LARGE
    # The large file really is large (what a list of all events would have had to hold).
    assert big.file_size is not None and big.file_size > 30 * 1024 * 1024

    mib = 1024 * 1024
    report = (
        f"tracemalloc peak {small_mem['peak'] / mib:.1f} -> {large_mem['peak'] / mib:.1f} MiB, "
        f"peak RSS {small_mem['rss'] / mib:.1f} -> {large_mem['rss'] / mib:.1f} MiB "
        f"(at the start of the build {small_mem['rss_start'] / mib:.1f}, "
        f"{large_mem['rss_start'] / mib:.1f}), "
        f"file {big.file_size / mib:.1f} MiB"
    )
    print(report, file=sys.stderr)
    if os.environ.get("VEIL_MEMORY_REPORT"):
        print(report)
    assert large_mem["peak"] < 1.5 * small_mem["peak"] + 2 * mib, report
    small_growth = small_mem["rss"] - small_mem["rss_start"]
    large_growth = large_mem["rss"] - large_mem["rss_start"]
    assert large_growth < 1.5 * small_growth + 16 * mib, report
