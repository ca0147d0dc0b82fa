"""Background jobs for exports (registered with veil.worker.queue.register_job at import)."""

from __future__ import annotations
