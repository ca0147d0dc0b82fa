"""No personal data in logs: a real `veil serve` (embedded worker) at DEBUG goes through the whole
export and delete flow over HTTP — with some refused requests on the way — and no line it
logs (stderr or VEIL_LOG_FILE) holds the subject's email, phone or name in any form; nor does
the audit log of that flow."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from sqlalchemy import select

from tests.compliance.export_support import veil_server, wait_until
from tests.fixtures.factories import WorkspaceHandle
from veil.db import read_only_session
from veil.models import AuditEntry
from veil.runtime import Runtime

EMAIL = "quintessa.marchbanks@example.org"
PHONE = "+14155550143"
FIRST, LAST = "Quintessa", "Marchbanks"
NEEDLES = [
    EMAIL,
    EMAIL.split("@")[0],
    PHONE,
    "4155550143",
    "555-0143",
    "555 0143",
    "5550143",
    FIRST,
    LAST,
]


def test_the_export_and_delete_flow_logs_no_personal_data_at_debug(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    stderr_log, file_log = tmp_path / "serve.log", tmp_path / "veil.jsonl"
    with veil_server(
        runtime,
        database_url,
        stderr_log,
        log_level="DEBUG",
        log_file=str(file_log),
        sweep_interval="1s",
    ) as base:
        api = httpx.Client(base_url=base, headers=ws.admin, timeout=60)
        profile = api.post(
            "/api/v1/profiles",
            json={
                "email": f"  {EMAIL.upper()} ",
                "phone": "(415) 555-0143",
                "first_name": FIRST,
                "last_name": LAST,
                "properties": {"nickname": FIRST, "note": f"call {PHONE}"},
                "consent": {"email": "subscribed", "sms": "subscribed"},
            },
        )
        assert profile.status_code == 201, profile.text
        profile_id = profile.json()["id"]
        ref = {"email": EMAIL}
        order = {"email": EMAIL, "shipping": {"first_name": FIRST, "last_name": LAST}}
        assert (
            api.post(
                "/api/v1/events", json={"type": "Placed Order", "profile": ref, "properties": order}
            ).status_code
            == 202
        )
        batch = [
            {"type": "Viewed Product", "profile": ref, "properties": {"sku": n}} for n in range(50)
        ]
        assert api.post("/api/v1/events/batch", json={"events": batch}).status_code == 202
        # Refused requests carrying personal data: their errors must not echo it either.
        for bad in (
            {"email": EMAIL, "phone": "12"},
            {"email": f"{EMAIL}@@", "first_name": FIRST},
            {"email": EMAIL, "first_name": LAST * 40},
        ):
            refused = api.post("/api/v1/profiles", json=bad)
            assert refused.status_code == 422, refused.text
            assert not any(n.lower() in refused.text.lower() for n in NEEDLES), refused.text
        assert (
            api.post(
                "/api/v1/events/batch",
                json={"events": [*batch, {"type": "x", "profile": {"email": f"{FIRST}@@{LAST}"}}]},
            ).status_code
            == 422
        )
        assert api.post(
            "/api/v1/events", content=f'{{"type": "x", "profile": {{"email": "{EMAIL}"'
        ).status_code in (415, 422)

        export = api.post(f"/api/v1/profiles/{profile_id}/export")
        assert export.status_code == 202, export.text
        export_id = export.json()["id"]
        assert api.post(f"/api/v1/profiles/{profile_id}/export").status_code == 409

        def status_of(path: str) -> str:
            response = api.get(path)
            assert response.status_code == 200, response.text
            return str(response.json()["status"])

        export_path = f"/api/v1/compliance/exports/{export_id}"
        wait_until(lambda: status_of(export_path) == "ready", timeout=180, what="the export")
        download = api.get(f"{export_path}/download")
        assert download.status_code == 200 and EMAIL in download.text  # the file has it all

        deletion = api.post(f"/api/v1/profiles/{profile_id}/delete", json={"confirm": True})
        assert deletion.status_code == 202, deletion.text
        deletion_path = f"/api/v1/compliance/deletions/{deletion.json()['id']}"
        wait_until(lambda: status_of(deletion_path) == "completed", timeout=180, what="erasure")
        assert api.get(deletion_path).json()["summary"]["verified"] is True
        assert api.get(deletion_path).json()["email"] == EMAIL  # sealed, shown to admins
        assert api.get(f"{export_path}/download").status_code == 410
        # After the deletion, the person comes back: a new profile, logged like any other.
        again = {"type": "Viewed Product", "profile": ref, "properties": {"sku": 1}}
        assert api.post("/api/v1/events", json=again).status_code == 202
        api.close()

    lines = stderr_log.read_text().splitlines() + file_log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert len(records) > 30, "almost nothing was logged: the test would prove nothing"
    loggers = {r["logger"] for r in records}
    assert {"veil.exports", "veil.compliance.deletions"} <= loggers, loggers
    routes = {r.get("route") for r in records if r.get("msg") == "request"}
    assert "/api/v1/profiles/{profile_id}/export" in routes, routes
    for line in lines:
        for needle in NEEDLES:
            assert not re.search(re.escape(needle), line, re.IGNORECASE), (needle, line[:300])

    # The audit log of the same flow holds ids and counts only.
    with read_only_session(runtime.sessionmaker) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.workspace_id == ws.id)).all()
        actions = {e.action for e in entries}
        text = json.dumps([[e.actor, e.target_id, e.details] for e in entries])
    assert {"export.requested", "export.downloaded", "deletion.requested"} <= actions, actions
    assert not any(needle.lower() in text.lower() for needle in NEEDLES), text[:500]


def test_libraries_stay_at_warning_when_veil_logs_at_debug(tmp_path: Path) -> None:
    """Issue 16: asyncio and redis logged DEBUG lines (docs say libraries stay at WARNING)."""
    import logging

    from veil import logging as veil_logging
    from veil.config import Settings

    root = logging.getLogger()
    saved = (list(root.handlers), root.level, veil_logging._configured)
    names = ("veil", "asyncio", "redis", "redis.connection", "urllib3", "multipart", "huey")
    levels = {name: logging.getLogger(name).level for name in names}
    veil_logging._configured = False
    try:
        veil_logging.configure_logging(
            Settings(env="test", data_dir=tmp_path, log_level="DEBUG", secret_key="x" * 40)
        )
        assert logging.getLogger("veil.http").isEnabledFor(logging.DEBUG)
        for library in names[1:]:
            logger = logging.getLogger(library)
            assert not logger.isEnabledFor(logging.INFO), library
            assert logger.isEnabledFor(logging.WARNING), library
    finally:
        for handler in root.handlers:
            if handler not in saved[0]:
                handler.close()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        veil_logging._configured = saved[2]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
