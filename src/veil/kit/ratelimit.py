"""A small in-process sliding-window rate limiter (per key, per minute).

Good for one process (the embedded default) and a fair guard per process when scaled out;
a shared limit across many processes would live in Redis.
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
