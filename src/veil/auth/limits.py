"""Rate limits at the HTTP edge: sign-in attempts per client address, and compliance requests
(export, deletion, retry) per workspace — `429 rate_limited` with a Retry-After header.

With Redis configured (VEIL_RATE_LIMIT_URL, by default VEIL_QUEUE_URL when that is Redis) the
count is shared by every web process. Otherwise the limiters live in the web process (one per
app, a sliding window per key): exact for one process; with several web processes behind a
balancer each enforces its own window, i.e. the effective limit is N times the setting.
The limits guard the HTTP doors only: the CLI and Shopify's `shop/redact` (one deletion per
profile of a shop) call the services directly and are not limited.
"""

from __future__ import annotations

import math
import threading
from typing import Annotated

from fastapi import Depends, Request

from veil.auth.deps import AdminOnly
from veil.auth.principal import Principal
from veil.errors import RateLimited
from veil.kit.ratelimit import Limiter, RateLimiter, SharedRateLimiter
from veil.runtime import Runtime

_lock = threading.Lock()
COMPLIANCE_MESSAGE = (
    "Too many export and deletion requests for this workspace; wait a minute, then try again."
)


def limiter(request: Request, name: str, per_minute: int) -> Limiter:
    """The app's limiter called `name`, created on first use."""
    state = request.app.state
    runtime: Runtime = state.runtime
    with _lock:
        limiters: dict[str, Limiter] = getattr(state, "rate_limiters", None) or {}
        state.rate_limiters = limiters
        if name not in limiters:
            shared = runtime.settings.resolved_rate_limit_url
            limiters[name] = (
                SharedRateLimiter(per_minute, storage_url=shared, namespace=name)
                if shared
                else RateLimiter(per_minute)
            )
        return limiters[name]


def check_compliance_rate(request: Request, workspace_id: str) -> None:
    """Count one export/deletion request of this workspace; RateLimited once over the limit."""
    runtime: Runtime = request.app.state.runtime
    per_minute = runtime.settings.compliance_rate_per_minute
    wait = limiter(request, "compliance", per_minute).hit(f"compliance:{workspace_id}")
    if wait is not None:
        raise RateLimited(COMPLIANCE_MESSAGE, headers={"Retry-After": str(max(1, math.ceil(wait)))})


def compliance_admin(request: Request, principal: AdminOnly) -> Principal:
    check_compliance_rate(request, principal.workspace_id)
    return principal


# An admin's export/deletion request over the API, counted against the workspace's limit.
ComplianceAdmin = Annotated[Principal, Depends(compliance_admin)]
