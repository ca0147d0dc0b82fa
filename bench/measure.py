"""Measuring: jobs in a fresh child process (time and peak RSS of that process alone), medians,
and the result rows every scenario reports."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass
class Row:
    """One line of the results table: a scenario's case on one backend."""

    scenario: str
    backend: str
    case: str
    # Seconds per run of the measured work and of its floor (median of each is reported).
    runs: list[float] = field(default_factory=list)
    floor_runs: list[float] = field(default_factory=list)
    # Work units per run (events, deletions, requests …) for the throughput.
    units: float = 0
    unit: str = "events"
    peak_rss_mib: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    @property
    def floor_median(self) -> float | None:
        return statistics.median(self.floor_runs) if self.floor_runs else None

    @property
    def throughput(self) -> float | None:
        median = self.median
        return self.units / median if median and self.units else None

    @property
    def ratio(self) -> float | None:
        if "ratio" in self.extra:
            return float(self.extra["ratio"])
        median, floor = self.median, self.floor_median
        return median / floor if median and floor else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            median_s=self.median,
            floor_median_s=self.floor_median,
            throughput=self.throughput,
            ratio=self.ratio,
        )
        return data


def run_child(task: str, env: dict[str, str], timeout: float = 3600, **args: Any) -> dict[str, Any]:
    """Run `bench.child` TASK in a new interpreter; its JSON answer (seconds, rss …)."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.child", task, json.dumps(args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=Path(__file__).resolve().parent.parent,
    )
    if result.returncode != 0:
        raise RuntimeError(f"bench.child {task} failed:\n{result.stderr[-4000:]}")
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def mib(value: float | int | None) -> float | None:
    return None if value is None else round(value / MIB, 1)


def _status_bytes(pid: int | str, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc status")


def read_hwm(pid: int | str = "self") -> int:
    """Peak resident set size (VmHWM) of a process, in bytes."""
    return _status_bytes(pid, "VmHWM")


def read_rss(pid: int | str = "self") -> int:
    """Current resident set size (VmRSS) of a process, in bytes."""
    return _status_bytes(pid, "VmRSS")


def reset_hwm(pid: int | str = "self") -> None:
    """Reset a process's VmHWM to its current RSS (Linux clear_refs, value 5)."""
    with open(f"/proc/{pid}/clear_refs", "w") as refs:
        refs.write("5")
