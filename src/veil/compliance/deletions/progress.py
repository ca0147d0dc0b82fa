"""The erasure's checkpoint: the one owner of `deletion_requests.progress`'s JSON shape.

`{"phase": …, "cursor": …, "pass": …, "counts": {…}}` is written at request time (the start),
after every committed batch (the resume point) and at completion; it is read back only
through `Progress.load`, so a crashed worker's successor resumes exactly where the last
committed batch left off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Phase(StrEnum):
    """The erasure's phases, in the order they run (a new erasing step adds its member here,
    before VERIFY, and its class to erasure.steps.STEPS)."""

    EXPORTS = "exports"
    EVENTS = "events"
    RECIPIENTS = "recipients"
    CONSENTS = "consents"
    IDENTIFIERS = "identifiers"
    PROFILE = "profile"
    VERIFY = "verify"
    COMPLETED = "completed"


FIRST_PHASE = Phase.EXPORTS
# The phases a request can be resumed in (COMPLETED is terminal).
RESUMABLE = tuple(p for p in Phase if p is not Phase.COMPLETED)
# The phases a step of erasure.steps.STEPS runs, in order.
ERASING_PHASES = RESUMABLE[: RESUMABLE.index(Phase.VERIFY)]
COUNT_KEYS = (
    "events_scrubbed",
    "recipients_redacted",
    "consents_deleted",
    "identifiers_deleted",
    "exports_destroyed",
)

Cursor = dict[str, str]


@dataclass
class Progress:
    phase: Phase = FIRST_PHASE
    # Where the current phase's next batch starts (None: at its beginning).
    cursor: Cursor | None = None
    passes: int = 1
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNT_KEYS, 0))

    @property
    def verifying(self) -> bool:
        """Every erasing phase is done: verification is next."""
        return self.phase is Phase.VERIFY

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> Progress:
        """Read a stored checkpoint; anything unknown starts from the first phase."""
        data = data or {}
        phase = data.get("phase")
        counts = data.get("counts") or {}
        return cls(
            phase=Phase(phase) if phase in RESUMABLE else FIRST_PHASE,
            cursor=data.get("cursor"),
            passes=int(data.get("pass") or 1),
            counts={k: int(counts.get(k, 0)) for k in COUNT_KEYS},
        )

    def dump(self) -> dict[str, Any]:
        return {
            "phase": self.phase.value,
            "cursor": self.cursor,
            "pass": self.passes,
            "counts": dict(self.counts),
        }

    @property
    def resumed(self) -> bool:
        return self.cursor is not None or self.phase is not FIRST_PHASE

    def advance(self) -> None:
        """On to the next phase, from its beginning."""
        phases = list(Phase)
        self.phase = phases[phases.index(self.phase) + 1]
        self.cursor = None

    def restart(self) -> None:
        """Another pass over every phase (verification found residue); counts accumulate."""
        self.passes += 1
        self.phase, self.cursor = FIRST_PHASE, None

    def add(self, counts: Mapping[str, int]) -> None:
        for key, amount in counts.items():
            self.counts[key] = self.counts.get(key, 0) + amount
