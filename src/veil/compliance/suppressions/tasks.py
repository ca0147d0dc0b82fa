"""The suppression sweep: keys sealed under a retired secret are sealed again (keys.py)."""

from __future__ import annotations

import logging

from veil.compliance.suppressions.keys import reseal_keys
from veil.runtime import Runtime
from veil.worker.queue import register_sweeper

log = logging.getLogger(__name__)


@register_sweeper("suppression_keys")
def sweep_suppression_keys(runtime: Runtime) -> None:
    resealed = reseal_keys(runtime)
    if resealed:
        log.info("suppression keys re-sealed", extra={"fields": {"resealed": resealed}})
