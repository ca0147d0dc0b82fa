"""`python -m bench --quick|--full`: every scenario on SQLite and PostgreSQL; a table on
stdout, the JSON and Markdown in bench/results/ (see BENCHMARKS.md)."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.backends import BACKENDS, installation
from bench.config import FULL, QUICK, TINY, Sizes
from bench.measure import Row
from bench.scenarios import (
    Context,
    api_load,
    bulk_deletion,
    deletion,
    dsr_http,
    e2e,
    export,
    ingestion,
    privacy_requests,
)

SCENARIOS = {
    "export": export.run,
    "deletion": deletion.run,
    "bulk_deletion": bulk_deletion.run,
    "ingestion": ingestion.run,
    "api_load": api_load.run,
    "e2e": e2e.run,
    "dsr_http": dsr_http.run,
    "privacy_requests": privacy_requests.run,
}


def override(sizes: Sizes, assignments: list[str]) -> Sizes:
    changes: dict[str, object] = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        current = getattr(sizes, name)
        if isinstance(current, tuple):
            changes[name] = tuple(int(v) for v in value.split(",") if v.strip())
        else:
            changes[name] = type(current)(value)
    return dataclasses.replace(sizes, **changes)  # type: ignore[arg-type]


def _stop(signum: int, _frame: object) -> None:
    # SIGTERM unwinds like Ctrl-C: servers stopped, databases dropped, temp dirs removed.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _stop)
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, minutes (default)")
    size.add_argument("--full", action="store_true", help="every size of issue 7")
    size.add_argument("--tiny", action="store_true", help="trivial sizes (smoke test)")
    parser.add_argument("--backend", choices=BACKENDS, action="append", help="default: both")
    parser.add_argument("--scenario", choices=list(SCENARIOS), action="append", help="default: all")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="pyinstrument profile of the "
        "largest export and deletion (written next to the results)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override one size, e.g. --set deletion_events=10000,100000 (see bench/config.py)",
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    args = parser.parse_args(argv)
    mode = "full" if args.full else "tiny" if args.tiny else "quick"
    sizes = override({"full": FULL, "tiny": TINY, "quick": QUICK}[mode], args.set)
    started = datetime.now(UTC)
    rows: list[Row] = []
    failed = False
    for backend in args.backend or BACKENDS:
        for name in args.scenario or SCENARIOS:
            print(f"[{backend}] {name} …", file=sys.stderr, flush=True)
            began = time.monotonic()
            try:
                with installation(backend) as inst, tempfile.TemporaryDirectory() as work:
                    ctx = Context(inst=inst, sizes=sizes, work=Path(work), profile=args.profile)
                    rows += SCENARIOS[name](ctx)
                    if args.profile:
                        for found in Path(work).glob("profile-*.txt"):
                            args.out.mkdir(parents=True, exist_ok=True)
                            target = args.out / f"{mode}-{found.name}"
                            target.write_text(found.read_text())
                            print(f"  profile: {target}", file=sys.stderr)
            except Exception:
                failed = True
                traceback.print_exc()
                rows.append(
                    Row(scenario=name, backend=backend, case="", skipped="failed (see log)")
                )
            print(
                f"[{backend}] {name} done in {time.monotonic() - began:.0f}s",
                file=sys.stderr,
                flush=True,
            )
    path = report.write(args.out, mode, rows, started, ["python", "-m", "bench", *(argv or [])])
    print(report.table(rows))
    print(f"\nresults: {path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
