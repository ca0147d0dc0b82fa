"""Rewriting the tables an erasure touched, so freed space holds no old row versions.

PostgreSQL keeps an updated or deleted row's old version (a dead tuple) in the table file until
VACUUM marks the space reusable and a later write happens to overwrite it; plain VACUUM does
not zero it. VACUUM FULL writes a fresh copy of the table and drops the old file. It takes an
ACCESS EXCLUSIVE lock on each table while it runs (reads and writes wait), so it is an
operator's decision: `veil erasure compact`, or VEIL_PG_REWRITE_AFTER_ERASURE=true to run it
after every completed erasure. See docs/erasure.md for what this does not cover (WAL archives,
backups, replicas).

SQLite needs no rewrite: `secure_delete` zeroes freed content as it is freed; what is left is
the WAL, which a checkpoint(TRUNCATE) empties.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import Engine

from veil import db

log = logging.getLogger("veil.compliance.deletions")

# Every table whose rows an erasure rewrites or deletes.
TOUCHED_TABLES = (
    "events",
    "profiles",
    "profile_identifiers",
    "recipients",
    "consents",
    "deletion_requests",
)


def compact(engine: Engine) -> list[str]:
    """Rewrite (PostgreSQL) or checkpoint (SQLite); returns what was done, one line per step."""
    if engine.dialect.name == "sqlite":
        if not db.checkpoint_sqlite(engine):
            raise RuntimeError("the WAL checkpoint is blocked by open readers; try again")
        return ["sqlite: WAL checkpointed (TRUNCATE); secure_delete already zeroes freed pages"]
    done: list[str] = []
    # VACUUM cannot run inside a transaction block.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TOUCHED_TABLES:
            started = time.monotonic()
            conn.exec_driver_sql(f'VACUUM (FULL, ANALYZE) "{table}"')
            took = time.monotonic() - started
            log.info("table rewritten", extra={"fields": {"table": table, "seconds": took}})
            done.append(f"postgresql: {table} rewritten (VACUUM FULL) in {took:.1f}s")
    return done
