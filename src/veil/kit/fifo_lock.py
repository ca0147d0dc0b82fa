"""A lock that hands itself to waiters in the order they asked (first come, first served).

`threading.Lock` makes no promise about who gets it next: under contention a thread that just
released it often takes it again, and an unlucky waiter can wait far longer than its turn. Here
each waiter parks on its own lock in a queue, and `release` gives ownership directly to the
oldest one, so the wait is bounded by the work queued ahead of it.

The lock belongs to no thread: any thread may release it (a web request can begin its
transaction in one worker thread and commit it in another).
"""

from __future__ import annotations

import threading
from collections import deque


class FifoLock:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    @property
    def locked(self) -> bool:
        return self._held

    @property
    def waiting(self) -> int:
        """How many acquirers are queued (for tests and diagnostics)."""
        return len(self._waiters)

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock, after everyone who asked before; False if `timeout` seconds passed."""
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            return True  # `release` handed the lock over: `_held` stayed True for us
        with self._mutex:
            try:
                self._waiters.remove(turn)
            except ValueError:
                # Handed over between the timeout and here: we own it after all.
                return True
            return False

    def release(self) -> None:
        with self._mutex:
            if not self._held:
                raise RuntimeError("release of an unlocked FifoLock")
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._held = False
