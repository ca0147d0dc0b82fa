"""`veil_privacy_requests{type,status}` and `veil_privacy_requests_overdue` (SPEC §10) count the
stored privacy requests at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.compliance.privacy_requests.support import by_email, create, settle
from tests.fixtures.factories import WorkspaceHandle, make_profile
from tests.ops.test_operability import _sample
from veil.runtime import Runtime


def test_metrics_count_privacy_requests_by_type_status_and_overdue(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, other_ws: WorkspaceHandle
) -> None:
    with runtime.sessionmaker.begin() as session:
        make_profile(session, workspace_id=ws.id, email="held@example.com")
    long_ago = (datetime.now(UTC) - timedelta(days=70)).isoformat()
    # Two pending accesses (one of them past due), two completed erasures (one past due:
    # completed is never overdue), in two workspaces.
    assert create(client, ws, by_email("held@example.com")).status_code == 202
    late = create(client, ws, by_email("held@example.com", received_at=long_ago))
    assert late.status_code == 202 and late.json()["overdue"] is True
    assert create(client, ws, by_email("none@example.com", type="erasure")).status_code == 202
    old_done = by_email("none@example.com", type="erasure", received_at=long_ago)
    assert create(client, other_ws, old_done).status_code == 202

    text = client.get("/metrics").text
    assert _sample(text, "veil_privacy_requests", type="access", status="pending") == 2
    assert _sample(text, "veil_privacy_requests", type="erasure", status="completed") == 2
    assert _sample(text, "veil_privacy_requests_overdue") == 1

    settle(runtime)
    text = client.get("/metrics").text
    assert _sample(text, "veil_privacy_requests", type="access", status="completed") == 2
    assert _sample(text, "veil_privacy_requests", type="erasure", status="completed") == 2
    series = [line for line in text.splitlines() if line.startswith("veil_privacy_requests{")]
    assert len(series) == 2 and all('status="completed"' in line for line in series)
    assert _sample(text, "veil_privacy_requests_overdue") == 0
