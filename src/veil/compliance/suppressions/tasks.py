"""The suppression sweep: keys sealed under a retired secret are sealed again (keys.py)."""

from __future__ import annotations

from veil.compliance.suppressions.keys import reseal_keys
from veil.runtime import Runtime
from veil.worker.queue import register_sweeper


@register_sweeper("suppression_keys")
def sweep_suppression_keys(runtime: Runtime) -> dict[str, int]:
    return {"resealed": reseal_keys(runtime)}
