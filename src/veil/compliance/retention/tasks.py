"""The retention sweep, run with every other sweeper (VEIL_SWEEP_INTERVAL)."""

from __future__ import annotations

from veil.compliance.retention.service import sweep_all
from veil.runtime import Runtime
from veil.worker.queue import register_sweeper


@register_sweeper("retention")
def sweep_retention(runtime: Runtime) -> None:
    sweep_all(runtime)
