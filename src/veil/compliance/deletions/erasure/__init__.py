"""The erasure job (SPEC §5) as a pipeline: `job` claims a request and runs the `steps` from
their checkpoint (deletions.progress), `verify` searches what is left, `storage` settles the
files on disk. See job.py for the crash-safety and fencing argument."""

from __future__ import annotations

from veil.compliance.deletions.erasure.job import (
    RUNNABLE,
    LeaseLost,
    claim_request,
    erase,
    run_deletion,
)
from veil.compliance.deletions.erasure.steps import STEPS, Claim, Step, StepContext, StepResult
from veil.compliance.deletions.erasure.storage import settle_storage, storage_pending
from veil.compliance.deletions.erasure.verify import verify

__all__ = [
    "RUNNABLE",
    "STEPS",
    "Claim",
    "LeaseLost",
    "Step",
    "StepContext",
    "StepResult",
    "claim_request",
    "erase",
    "run_deletion",
    "settle_storage",
    "storage_pending",
    "verify",
]
