"""The audit log is append-only in the database, hash-chained, and `veil audit verify` finds
an edited entry, one removed from the middle and one removed from the end (exit code 1)."""

from __future__ import annotations

import json
import subprocess

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from tests.compliance.export_support import subprocess_env, veil_executable
from tests.fixtures.factories import WorkspaceHandle
from veil.audit import service as audit
from veil.audit.service import verify_chain
from veil.kit.ids import new_id
from veil.models import AuditEntry, AuditHead, Profile
from veil.runtime import Runtime


def make_activity(client: TestClient, ws: WorkspaceHandle, count: int = 4) -> None:
    for n in range(count):
        response = client.post(
            "/api/v1/workspace/keys", json={"role": "member", "name": f"k{n}"}, headers=ws.admin
        )
        assert response.status_code == 201


def tamper(engine: Engine, statement: str) -> None:
    """What someone with the database owner's rights can do: bypass the append-only triggers
    for one transaction (they stay in force for everyone else)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
            return
        triggers = conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'audit_log'"
            )
        ).all()
        assert len(triggers) == 2
        for name, _sql in triggers:
            conn.execute(text(f"DROP TRIGGER {name}"))
        conn.execute(text(statement))
        for _name, sql in triggers:
            conn.execute(text(sql))


def verify_cli(runtime: Runtime, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [veil_executable(), "audit", "verify", *args],
        env=subprocess_env(runtime, database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone else'",
        "UPDATE audit_log SET details = '{}' WHERE seq = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE seq = 4",
    ],
)
def test_the_database_refuses_to_change_or_remove_entries(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, statement: str
) -> None:
    make_activity(client, ws)
    with pytest.raises(DBAPIError, match="append-only"), runtime.engine.begin() as conn:
        conn.execute(text(statement))
    with runtime.sessionmaker() as session:
        report = verify_chain(session, workspace_id=ws.id)
    assert report.ok and report.entries == 4


def test_verify_passes_an_intact_chain_and_prints_its_head(
    client: TestClient,
    runtime: Runtime,
    ws: WorkspaceHandle,
    other_ws: WorkspaceHandle,
    database_url: str,
) -> None:
    make_activity(client, ws)
    make_activity(client, other_ws, count=2)
    result = verify_cli(runtime, database_url, "--json")
    assert result.returncode == 0, result.stderr
    reports = {r["workspace_id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert reports[ws.id]["ok"] and reports[ws.id]["entries"] == 4
    assert reports[other_ws.id]["entries"] == 2
    with runtime.sessionmaker() as session:
        assert reports[ws.id]["head_hash"] == verify_chain(session, workspace_id=ws.id).head_hash

    plain = verify_cli(runtime, database_url, "--workspace", ws.id)
    assert plain.returncode == 0 and f"{ws.id}: ok, 4 entries" in plain.stdout
    missing = verify_cli(runtime, database_url, "--workspace", "ws_nope")
    assert missing.returncode == 1 and "not found" in missing.stderr


@pytest.mark.parametrize(
    ("statement", "seq", "reason"),
    [
        pytest.param(
            "UPDATE audit_log SET actor = 'key:key_someone_else' WHERE seq = 2",
            2,
            "entry altered",
            id="edited-actor",
        ),
        pytest.param(
            "UPDATE audit_log SET target_id = 'key_other' WHERE seq = 3",
            3,
            "entry altered",
            id="edited-target",
        ),
        pytest.param("DELETE FROM audit_log WHERE seq = 2", 2, "entry missing", id="removed"),
        pytest.param(
            "DELETE FROM audit_log WHERE seq = 4",
            4,
            "entries missing at the end",
            id="removed-last",
        ),
        pytest.param(
            "DELETE FROM audit_log WHERE seq >= 3",
            3,
            "entries missing at the end",
            id="removed-tail",
        ),
        pytest.param(
            "UPDATE audit_log SET seq = seq + 10 WHERE seq = 4", 4, "entry missing", id="renumbered"
        ),
    ],
)
def test_verify_finds_a_tampered_or_removed_entry(
    client: TestClient,
    runtime: Runtime,
    ws: WorkspaceHandle,
    other_ws: WorkspaceHandle,
    database_url: str,
    statement: str,
    seq: int,
    reason: str,
) -> None:
    make_activity(client, ws)
    make_activity(client, other_ws, count=2)
    workspace_filter = f" AND workspace_id = '{ws.id}'" if "WHERE" in statement else ""
    tamper(runtime.engine, statement + workspace_filter)

    result = verify_cli(runtime, database_url)
    assert result.returncode == 1
    assert f"{ws.id}: BROKEN at seq {seq}: {reason}" in result.stderr
    assert f"{other_ws.id}: ok, 2 entries" in result.stdout  # the other chain is intact


def test_verify_finds_a_rewritten_entry_whose_successor_still_points_at_the_old_hash(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, database_url: str
) -> None:
    """A careful forger recomputes the edited entry's own hash; the next entry gives it away."""
    from veil.audit.service import _entry_hash
    from veil.models import AuditEntry

    make_activity(client, ws)
    with runtime.sessionmaker() as session:
        entry = session.query(AuditEntry).filter_by(workspace_id=ws.id, seq=2).one()
        entry.actor = "key:key_forged"
        forged = _entry_hash(entry)
        session.rollback()
    tamper(
        runtime.engine,
        f"UPDATE audit_log SET actor = 'key:key_forged', hash = '{forged}' "
        f"WHERE seq = 2 AND workspace_id = '{ws.id}'",
    )
    result = verify_cli(runtime, database_url, "--workspace", ws.id)
    assert result.returncode == 1
    assert "BROKEN at seq 3: previous hash mismatch" in result.stderr


def test_entries_written_after_a_verify_keep_the_chain_whole(
    client: TestClient, runtime: Runtime, ws: WorkspaceHandle, database_url: str
) -> None:
    make_activity(client, ws, count=2)
    assert verify_cli(runtime, database_url).returncode == 0
    make_activity(client, ws, count=3)
    with runtime.sessionmaker() as session:
        report = verify_chain(session, workspace_id=ws.id)
    assert report.ok and report.entries == 5


def test_an_append_stores_the_entry_it_returns_and_flushes_what_the_caller_left_pending(
    runtime: Runtime, ws: WorkspaceHandle
) -> None:
    """`record` writes through Core (statements built once): the row it stores is the entry
    it returns, field for field, the head moves with it, and, as when it went through the
    ORM, whatever the caller had pending reaches the database with the entry."""
    with runtime.sessionmaker() as session, session.begin():
        session.add(
            Profile(id=new_id("prf"), workspace_id=ws.id, external_id="pending-before-audit")
        )
        entries = [
            audit.record(
                session,
                workspace_id=ws.id,
                actor="system",
                action="test.append",
                target_type="profile",
                target_id=f"prf_{n}",
                details={"n": n, "nested": {"ok": True}},
            )
            for n in range(3)
        ]
        # A Core statement on the connection does not autoflush: the row is there because
        # `record` flushed it.
        pending = session.connection().execute(
            text("SELECT count(*) FROM profiles WHERE external_id = 'pending-before-audit'")
        )
        assert pending.scalar_one() == 1
    with runtime.sessionmaker() as session:
        for entry in entries:
            stored = session.get(AuditEntry, entry.id)
            assert stored is not None
            for column in ("seq", "actor", "action", "target_type", "target_id", "details"):
                assert getattr(stored, column) == getattr(entry, column)
            assert (stored.prev_hash, stored.hash) == (entry.prev_hash, entry.hash)
            assert stored.created_at == entry.created_at
        head = session.get(AuditHead, ws.id)
        assert head is not None and (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)
        assert [e.seq for e in entries] == [entries[0].seq, entries[0].seq + 1, entries[0].seq + 2]
        report = verify_chain(session, workspace_id=ws.id)
    assert report.ok and report.head_hash == entries[-1].hash
