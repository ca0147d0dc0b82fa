"""`python -m bench.load CONFIG_JSON`: a small closed-loop HTTP load generator.

Runs in its own process (the server is another one), `concurrency` threads each with a
keep-alive httpx client, for `seconds` after `warmup` seconds that are not counted; every
request is bounded by a timeout and the whole run by its duration. Prints one JSON line:
requests, req/s, p50/p99 latency, status counts.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.measure import percentile


def _requests(config: dict[str, Any], worker: int) -> Any:
    """An endless iterator of (method, path, body) for one thread."""
    kind = config["kind"]
    pool: list[dict[str, str]] = json.loads(Path(config["pool"]).read_text())
    threads = config["concurrency"]
    n = worker
    while True:
        person = pool[n % len(pool)]
        if kind == "healthz":
            yield "GET", "/healthz", None
        elif kind == "get_profile":
            yield "GET", f"/api/v1/profiles/{person['id']}", None
        elif kind == "post_event":
            body = {
                "type": "Viewed Product",
                "profile": {"email": person["email"]},
                "properties": {"product_id": 9000 + n % 12, "price": 39.95, "currency": "EUR"},
            }
            yield "POST", "/api/v1/events", orjson.dumps(body)
        elif kind == "post_export":
            # Every thread walks its own share of the pool: one request per profile.
            if n >= len(pool):
                return
            yield "POST", f"/api/v1/profiles/{person['id']}/export", b"{}"
        else:
            raise ValueError(kind)
        n += threads


def main() -> None:
    config: dict[str, Any] = json.loads(sys.argv[1])
    headers = {"Authorization": f"Bearer {config['key']}", "Content-Type": "application/json"}
    warmup_end = time.monotonic() + config.get("warmup", 1.0)
    end = warmup_end + config["seconds"]
    latencies: list[list[float]] = [[] for _ in range(config["concurrency"])]
    statuses: list[Counter[int]] = [Counter() for _ in range(config["concurrency"])]

    def work(index: int) -> None:
        with httpx.Client(base_url=config["url"], headers=headers, timeout=30) as client:
            for method, path, body in _requests(config, index):
                started = time.monotonic()
                if started >= end:
                    return
                try:
                    status = client.request(method, path, content=body).status_code
                except httpx.HTTPError:
                    status = 0
                finished = time.monotonic()
                if started >= warmup_end:
                    latencies[index].append(finished - started)
                    statuses[index][status] += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(config["concurrency"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    measured = time.monotonic() - warmup_end
    flat = [v for values in latencies for v in values]
    status_counts: Counter[int] = Counter()
    for counter in statuses:
        status_counts.update(counter)
    print(
        json.dumps(
            {
                "requests": len(flat),
                "seconds": min(measured, config["seconds"]),
                "rps": len(flat) / min(measured, config["seconds"]) if flat else 0.0,
                "p50": percentile(flat, 50) if flat else None,
                "p99": percentile(flat, 99) if flat else None,
                "statuses": {str(k): v for k, v in sorted(status_counts.items())},
            }
        )
    )


if __name__ == "__main__":
    main()
