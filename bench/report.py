"""The results table (Markdown) and the JSON file behind it."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Row


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def _rate(row: Row) -> str:
    if "rate" in row.extra:
        return str(row.extra["rate"])
    value = row.throughput
    if value is None:
        return "–"
    return f"{value:,.0f} {row.unit}/s"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | backend | case | median (runs) | throughput | floor median | ratio | "
        "peak RSS | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if row.skipped:
            lines.append(
                f"| {row.scenario} | {row.backend} | {row.case} | skipped: {row.skipped} "
                "| | | | | |"
            )
            continue
        median = row.extra.get("median_text") or f"{_seconds(row.median)} ({len(row.runs)})"
        floor = row.extra.get("floor_text") or _seconds(row.floor_median)
        rss = "–" if row.peak_rss_mib is None else f"{row.peak_rss_mib:.0f} MiB"
        lines.append(
            f"| {row.scenario} | {row.backend} | {row.case} | {median} | {_rate(row)} | "
            f"{floor} | {_ratio(row.ratio)} | {rss} | {row.extra.get('notes', '')} |"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write(out: Path, mode: str, rows: list[Row], started: datetime, argv: list[str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    data = {
        "mode": mode,
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "command": " ".join(argv),
        "machine": machine(),
        "rows": [row.as_dict() for row in rows],
    }
    path = out / f"{mode}-{stamp}.json"
    path.write_text(json.dumps(data, indent=2, default=str))
    (out / f"{mode}-{stamp}.md").write_text(table(rows) + "\n")
    return path
