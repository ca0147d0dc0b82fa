"""The garbage collector in long-running processes (`veil serve`, `veil worker`).

Once a process has started (modules imported, the app and its routes built, SQLAlchemy's
mappers configured, migrations checked), those objects live as long as the process. CPython's
collector still traverses them in every full collection, and a batch of 1,000 events parses
into ~30,000 dicts and lists that live for the whole request, enough to trigger such a
collection every batch or two: ~170,000 objects traversed each time (~0.2 s on a slow
machine), about a fifth of `POST /api/v1/events/batch` on SQLite (BENCHMARKS.md, round
three). `gc.freeze()` moves what start-up built to the permanent generation, which collections
skip; what requests and jobs allocate afterwards is collected as before. Erasure jobs were
measured unchanged (their process is small and their pages short-lived); the worker freezes
anyway, at no cost.

Every caller freezes before its first job can start, so no job's data (personal data in
payloads) is ever frozen: a frozen object caught in a reference cycle would stay in memory for
the life of the process.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect start-up's garbage, then exempt everything still alive from future
    collections. Call once, when the process is ready to serve or work (not in tests: a
    frozen object is never collected, so an app built per test would never be freed)."""
    gc.collect()
    gc.freeze()
