"""The kill -9 harness (`make test-crash`): `veil serve` with its embedded worker, and
`veil serve --no-worker` next to a separate `veil worker`, killed with SIGKILL at random moments
while a client asks for exports and deletions and sends event batches — ROUNDS times, each
round with another timing (the seed is printed; VEIL_CRASH_SEED replays a run).

Then one clean `veil serve` runs until the work settles, and the harness checks what a client
was promised:
- every export or deletion the client saw a 202 for completes (and so does every request that
  was stored although its answer was lost): exports `ready` with a whole, decrypted file,
  deletions `completed` and verified — no profile deleted without its finished erasure;
- every downloaded file is the JSON document itself (never partial, never still encrypted);
- an event batch with a 202 is stored exactly once, every event of it; a batch whose answer
  was lost is stored wholly or not at all;
- no orphan file in the export store, and the audit chain is intact.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from tests.compliance.export_support import (
    free_port,
    subprocess_env,
    veil_executable,
    wait_until,
)
from tests.fixtures.factories import WorkspaceHandle, make_profile
from veil.audit.service import verify_chain
from veil.db import read_only_session
from veil.kit.crypto import FILE_MAGIC
from veil.kit.ids import new_id
from veil.kit.time import utcnow
from veil.models import DeletionRequest, Event, ExportRequest, Profile
from veil.runtime import Runtime

pytestmark = pytest.mark.crash

ROUNDS = 24
EVENTS_PER_PROFILE = 300
BATCH = 200
SETTLE_TIMEOUT = 600  # generous: the machine is shared and CI may be loaded


@dataclass
class Outcomes:
    """What the client sent and what it was told (None: no answer, the server died)."""

    exports: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    deletions: list[tuple[str, int | None, str | None]] = field(default_factory=list)
    batches: list[tuple[str, int | None]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)


def email_of(profile_index: int) -> str:
    return f"crash.subject.{profile_index}@example.com"


def seed(runtime: Runtime, ws: WorkspaceHandle, count: int) -> list[str]:
    """`count` contacts with EVENTS_PER_PROFILE orders each, personal data inside the payloads."""
    ids = []
    with runtime.sessionmaker.begin() as session:
        for index in range(count):
            profile = make_profile(
                session,
                workspace_id=ws.id,
                email=email_of(index),
                phone=f"+1415555{index:04d}",
                first_name="Crash",
                last_name=f"Subject{index}",
            )
            ids.append(profile.id)
    start = utcnow() - timedelta(days=10)
    rows: list[dict[str, Any]] = [
        {
            "id": new_id("evt"),
            "workspace_id": ws.id,
            "profile_id": profile_id,
            "type": "Placed Order",
            "timestamp": start + timedelta(seconds=n),
            "received_at": start,
            "source": "api",
            "properties": {
                "order_id": n,
                "email": email_of(index),
                "note": f"deliver to {email_of(index)}",
                "line_items": [{"sku": f"SKU-{n % 7}", "price": "9.90", "quantity": 1}],
            },
        }
        for index, profile_id in enumerate(ids)
        for n in range(EVENTS_PER_PROFILE)
    ]
    for chunk in range(0, len(rows), 5000):
        with runtime.sessionmaker.begin() as session:
            session.execute(insert(Event), rows[chunk : chunk + 5000])
    return ids


class Client(threading.Thread):
    """One round's traffic: an export, a deletion, then event batches until the server dies."""

    def __init__(
        self, base: str, ws: WorkspaceHandle, out: Outcomes, round_no: int, targets: tuple[str, str]
    ):
        super().__init__(daemon=True)
        self.base, self.ws, self.out, self.round_no = base, ws, out, round_no
        self.export_target, self.delete_target = targets
        self.stop = threading.Event()

    def _post(self, http: httpx.Client, path: str, body: Any = None) -> httpx.Response | None:
        try:
            response = http.post(path, json=body)
        except httpx.HTTPError:
            return None
        if response.status_code >= 500:
            self.out.unexpected.append(f"{path}: {response.status_code} {response.text[:200]}")
        return response

    def run(self) -> None:
        with httpx.Client(base_url=self.base, headers=self.ws.admin, timeout=30) as http:
            answer = self._post(http, f"/api/v1/profiles/{self.export_target}/export")
            self.out.exports.append(_outcome(self.export_target, answer))
            answer = self._post(
                http, f"/api/v1/profiles/{self.delete_target}/delete", {"confirm": True}
            )
            self.out.deletions.append(_outcome(self.delete_target, answer))
            batch_no = 0
            while not self.stop.is_set():
                label = f"r{self.round_no}-b{batch_no}"
                events = [
                    {
                        "type": "Crash Batch",
                        "profile": {"external_id": f"ingest-{self.round_no}-{batch_no % 3}"},
                        "properties": {"batch": label, "n": n},
                    }
                    for n in range(BATCH)
                ]
                answer = self._post(http, "/api/v1/events/batch", {"events": events})
                self.out.batches.append((label, answer.status_code if answer else None))
                if answer is None:
                    return
                batch_no += 1


def _outcome(target: str, answer: httpx.Response | None) -> tuple[str, int | None, str | None]:
    if answer is None:
        return target, None, None
    body = answer.json()
    return target, answer.status_code, body.get("id") if answer.status_code == 202 else None


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [veil_executable(), *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> bool:
    assert process.poll() is None, log.read_text()[-3000:]
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def kill(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
    for process in processes:
        process.wait(timeout=60)


def test_kill_9_at_random_moments_loses_nothing(
    runtime: Runtime, ws: WorkspaceHandle, database_url: str, tmp_path: Path
) -> None:
    seed_value = int(os.environ.get("VEIL_CRASH_SEED") or time.time())
    print(f"crash harness seed: VEIL_CRASH_SEED={seed_value}")
    rng = random.Random(seed_value)
    profiles = seed(runtime, ws, 2 * ROUNDS)
    export_targets, delete_targets = profiles[:ROUNDS], profiles[ROUNDS:]
    env = subprocess_env(
        runtime,
        database_url,
        job_lease="2s",
        sweep_interval="1s",
        erasure_batch_size="100",
        compliance_rate_per_minute="100000",
        log_level="WARNING",
    )
    log = tmp_path / "processes.log"
    out = Outcomes()
    kills = Counter[str]()

    for round_no in range(ROUNDS):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        split = rng.random() < 0.5
        serve_args = ["serve", "--port", str(port), *(["--no-worker"] if split else [])]
        server = start(serve_args, env, log)
        worker = start(["worker", "--threads", "2"], env, log) if split else None
        processes = [p for p in (server, worker) if p is not None]
        client = Client(
            base, ws, out, round_no, (export_targets[round_no], delete_targets[round_no])
        )
        try:
            if rng.random() < 0.15:
                time.sleep(rng.uniform(0.0, 1.5))  # while starting up and migrating
                moment = "startup"
            else:
                wait_until(lambda: healthy(base, server, log), timeout=120, what="veil serve")
                client.start()
                time.sleep(rng.uniform(0.05, 2.5))
                moment = "work"
            if split and worker is not None:
                victim = rng.choice(["worker", "worker", "server", "both"])
                first = {"worker": [worker], "server": [server], "both": [server, worker]}[victim]
                kill(*first)
                kills[f"{victim}:{moment}"] += 1
                time.sleep(rng.uniform(0.0, 0.5))  # the survivor goes on a moment, then dies too
            else:
                kills[f"serve:{moment}"] += 1
        finally:
            kill(*processes)
            client.stop.set()
            if client.is_alive():
                client.join(timeout=60)
    print(f"kills: {dict(kills)}")
    assert sum(kills.values()) >= 20

    # Restart once, cleanly, and let everything settle.
    rt = Runtime(runtime.settings.model_copy(update={"queue_url": None}), engine=runtime.engine)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start(["serve", "--port", str(port)], env, log)
    try:
        wait_until(lambda: healthy(base, server, log), timeout=120, what="veil serve")
        wait_until(lambda: settled(rt), timeout=SETTLE_TIMEOUT, what="the work to settle")
        check_exports(base, ws, rt, out)
    finally:
        kill(server)

    assert not out.unexpected, out.unexpected
    check_deletions(rt, out, delete_targets)
    check_batches(rt, out)
    check_store(rt)
    with read_only_session(rt.sessionmaker) as session:
        report = verify_chain(session, workspace_id=ws.id)
        resumed = [
            *session.scalars(select(ExportRequest.id).where(ExportRequest.attempts > 1)),
            *session.scalars(select(DeletionRequest.id).where(DeletionRequest.attempts > 1)),
        ]
    assert report.ok, report
    lost_answers = sum(status is None for _, status in out.batches)
    print(f"jobs resumed after a kill: {len(resumed)}; batches without an answer: {lost_answers}")
    assert lost_answers + len(resumed) > 0, "no kill hit any work: the harness proved nothing"


def settled(rt: Runtime) -> bool:
    with read_only_session(rt.sessionmaker) as session:
        exports = session.scalars(select(ExportRequest.status)).all()
        deletions = session.scalars(select(DeletionRequest.status)).all()
    return all(s in ("ready", "downloaded") for s in exports) and all(
        s == "completed" for s in deletions
    )


def check_exports(base: str, ws: WorkspaceHandle, rt: Runtime, out: Outcomes) -> None:
    with read_only_session(rt.sessionmaker) as session:
        rows = {
            e.id: (e.profile_id, e.status, e.event_count)
            for e in session.scalars(select(ExportRequest))
        }
    accepted = [export_id for _, status, export_id in out.exports if status == 202]
    assert accepted and set(accepted) <= set(rows), "an accepted export request was lost"
    for target, status, _ in out.exports:
        assert status in (202, None), (target, status)  # never another answer
    answered = {target for target, status, _ in out.exports if status == 202}
    for profile_id, status, event_count in rows.values():
        assert profile_id in {t for t, _, _ in out.exports}
        assert status in ("ready", "downloaded") and event_count == EVENTS_PER_PROFILE
    assert len({profile_id for profile_id, _, _ in rows.values()}) == len(rows)  # one each
    assert answered <= {profile_id for profile_id, _, _ in rows.values()}
    with httpx.Client(base_url=base, headers=ws.admin, timeout=60) as http:
        for export_id in rows:
            download = http.get(f"/api/v1/compliance/exports/{export_id}/download")
            assert download.status_code == 200, download.text
            assert not download.content.startswith(FILE_MAGIC)
            assert len(download.content) == int(download.headers["content-length"])
            document = json.loads(download.content)
            assert document["format"] == "veil.profile-export"
            assert len(document["events"]) == EVENTS_PER_PROFILE
            assert document["profile"]["email"].startswith("crash.subject.")


def check_deletions(rt: Runtime, out: Outcomes, delete_targets: list[str]) -> None:
    with read_only_session(rt.sessionmaker) as session:
        requests = {r.profile_id: r for r in session.scalars(select(DeletionRequest))}
        profiles = {
            p.id: p for p in session.scalars(select(Profile).where(Profile.id.in_(delete_targets)))
        }
        for target, status, deletion_id in out.deletions:
            assert status in (202, None), (target, status)
            if status == 202:
                assert target in requests and requests[target].id == deletion_id
        for profile_id, profile in profiles.items():
            request = requests.get(profile_id)
            if profile.status == "deleted":
                assert request is not None, "a profile deleted without its deletion record"
            if request is None:
                assert profile.email is not None  # never asked (or asked, unanswered, not stored)
                continue
            assert request.status == "completed" and request.summary["verified"] is True
            assert request.summary["events_scrubbed"] == EVENTS_PER_PROFILE
            assert request.subject_sealed is None
            assert profile.status == "deleted" and profile.email is None
            payloads = session.scalars(
                select(Event.properties).where(Event.profile_id == profile_id)
            ).all()
            assert len(payloads) == EVENTS_PER_PROFILE
            assert all("crash.subject" not in json.dumps(p) for p in payloads)
            assert all(p["line_items"][0]["price"] == "9.90" for p in payloads)


def check_batches(rt: Runtime, out: Outcomes) -> None:
    with read_only_session(rt.sessionmaker) as session:
        stored = session.scalars(select(Event.properties).where(Event.type == "Crash Batch")).all()
    numbers: dict[str, Counter[int]] = {}
    for properties in stored:
        numbers.setdefault(properties["batch"], Counter())[properties["n"]] += 1
    accepted = [label for label, status in out.batches if status == 202]
    assert accepted, "no batch was ever accepted: the harness tested nothing"
    for label, status in out.batches:
        counts = numbers.get(label, Counter())
        if status == 202:
            assert counts == Counter(range(BATCH)), f"accepted batch {label} lost or doubled"
        else:
            assert status is None, (label, status)
            assert counts in (Counter(), Counter(range(BATCH))), f"batch {label} stored partially"
    assert set(numbers) <= {label for label, _ in out.batches}


def check_store(rt: Runtime) -> None:
    store = rt.settings.resolved_export_store
    files = {p.name for p in store.iterdir() if p.is_file() and not p.name.endswith(".part")}
    with read_only_session(rt.sessionmaker) as session:
        keys = set(session.scalars(select(ExportRequest.file_key)).all()) - {None}
    assert files == keys, "export files without a request, or requests without their file"
