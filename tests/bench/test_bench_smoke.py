"""bench/ keeps working: the data generator is deterministic and well-formed, and one scenario
runs end to end at a trivial size and writes the report. No timings are checked."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from bench.__main__ import main
from bench.datagen import Generator
from veil.kit.jsonwalk import check_properties


def test_the_generator_is_deterministic_and_shopify_shaped() -> None:
    def rows(seed: int) -> list[dict[str, object]]:
        gen = Generator("ws_bench", seed=seed)
        return list(gen.event_rows(gen.person(3), 200, recipients=[("rcp_1", "cmp_1")]))

    first, again, other = rows(1), rows(1), rows(2)
    assert orjson.dumps(first, default=str) == orjson.dumps(again, default=str)
    assert orjson.dumps(first, default=str) != orjson.dumps(other, default=str)
    orders = [r["properties"] for r in first if r["type"] == "Placed Order"]
    assert orders and all(1 <= len(o["line_items"]) <= 10 for o in orders)  # type: ignore[index,arg-type]
    assert all(o["shipping_address"]["address1"] for o in orders)  # type: ignore[index]
    assert {r["type"] for r in first} >= {"Placed Order", "Viewed Product", "Opened Email"}
    timestamps = [r["timestamp"] for r in first]
    assert timestamps == sorted(timestamps)
    for row in first:  # what the API would accept
        check_properties(row["properties"])


EXPECTED_ROWS = {
    "export": {"1 export: request → ready", "1 export: download"},
    # In process, then one and two worker processes (each: requests + drain, and the drain
    # alone) on the backend's queue: the SQLite file, or Redis beside PostgreSQL.
    "bulk_deletion": {"3 bulk deletion", "3 bulk deletion: drain"},
    "privacy_requests": {
        "8 privacy requests: bulk accepted",
        "8 privacy requests: erasures drain",
        "8 privacy requests: with a callback, completed",
        "8 privacy requests: with a callback, both deliveries done",
    },
}


@pytest.mark.parametrize("scenario", list(EXPECTED_ROWS))
def test_a_scenario_runs_and_reports(tmp_path: Path, scenario: str) -> None:
    backend = "postgresql" if os.environ.get("VEIL_TEST_DATABASE_URL") else "sqlite"
    code = main(["--tiny", "--backend", backend, "--scenario", scenario, "--out", str(tmp_path)])
    assert code == 0
    (results,) = tmp_path.glob("tiny-*.json")
    report = json.loads(results.read_text())
    assert report["mode"] == "tiny" and report["machine"]["cores"]
    names = {row["scenario"] for row in report["rows"]}
    assert names == EXPECTED_ROWS[scenario]
    for row in report["rows"]:
        assert row["backend"] == backend and not row["skipped"]
        assert len(row["runs"]) == len(row["floor_runs"]) >= 1
        assert row["median_s"] > 0 and row["floor_median_s"] > 0 and row["ratio"] > 0
        assert row["throughput"] > 0 and row["peak_rss_mib"] > 0
    (table,) = tmp_path.glob("tiny-*.md")
    assert f"| {sorted(EXPECTED_ROWS[scenario])[0]} |" in table.read_text()


def test_the_http_scenario_times_export_and_erasure_through_a_real_server(tmp_path: Path) -> None:
    backend = "postgresql" if os.environ.get("VEIL_TEST_DATABASE_URL") else "sqlite"
    code = main(["--tiny", "--backend", backend, "--scenario", "dsr_http", "--out", str(tmp_path)])
    assert code == 0
    (results,) = tmp_path.glob("tiny-*.json")
    rows = json.loads(results.read_text())["rows"]
    assert {row["scenario"] for row in rows} == {
        "7 over HTTP: export POST → ready",
        "7 over HTTP: erasure POST → completed",
    }
    for row in rows:
        assert row["case"].startswith("50 events") and not row["skipped"]
        assert len(row["runs"]) == len(row["floor_runs"]) == 1
        assert row["median_s"] > 0 and row["ratio"] > 0 and row["peak_rss_mib"] > 0
