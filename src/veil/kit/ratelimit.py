"""Rate limiters (per key, per minute): an in-process sliding window, and a Redis-backed one.

The in-process limiter is exact for one web process (the embedded default); with several web
processes each counts alone (N processes allow N times the limit). When Redis is configured
(VEIL_RATE_LIMIT_URL, by default the queue's Redis) every process shares one count.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int, *, window_seconds: float = 60.0) -> None:
        self.limit = per_minute
        self.window = window_seconds
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one request; None if allowed, else the seconds to wait before retrying."""
        if self.limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
            if len(self._hits) > 100_000:  # bound memory under key churn
                self._hits = {
                    k: v for k, v in self._hits.items() if v and v[-1] > now - self.window
                }
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


class SharedRateLimiter:
    """The same contract, counted in Redis through the `limits` library (a moving window), so
    every web process of an installation shares one count per key."""

    def __init__(self, per_minute: int, *, storage_url: str, namespace: str) -> None:
        from limits import RateLimitItemPerMinute
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.limit = per_minute
        self.namespace = namespace
        self._item = RateLimitItemPerMinute(max(per_minute, 1))
        self._storage = storage_from_string(storage_url, key_prefix="veil-rate")
        self._strategy = MovingWindowRateLimiter(self._storage)

    def hit(self, key: str) -> float | None:
        if self.limit <= 0:
            return None
        if self._strategy.hit(self._item, self.namespace, key):
            return None
        stats = self._strategy.get_window_stats(self._item, self.namespace, key)
        return max(0.0, stats.reset_time - time.time())

    def reset(self) -> None:
        self._storage.reset()


Limiter = RateLimiter | SharedRateLimiter
