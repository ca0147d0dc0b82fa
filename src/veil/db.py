"""Database engine (SQLite pragmas or PostgreSQL), sessions, and after-commit hooks.

SQLite is the embedded default. Every connection gets WAL, foreign keys, `secure_delete`
(freed pages are zeroed, so erased personal data does not linger in the file) and a busy
timeout. Write transactions start with BEGIN IMMEDIATE so concurrent writers queue instead of
failing on a read-to-write lock upgrade. Within one process they queue in order on the
engine's writer lock (a FIFO lock taken just before BEGIN IMMEDIATE and handed on when the
transaction commits or rolls back): SQLite's own busy handler sleeps and retries with growing
pauses (up to 100 ms each), so under eight concurrent writers some waited over a second while
others went straight through. Another process (a separate `veil worker`) still meets the busy
timeout. Reads (GET requests, export
streaming, verification passes) open a deferred snapshot transaction with `read_only_session`:
it never queues behind a writer (a long erasure commits batch after batch and would starve a
reader waiting for the write lock), and the database refuses writes in it (`PRAGMA query_only`
on SQLite, `SET TRANSACTION READ ONLY` on PostgreSQL), so a read path that starts writing fails
loudly in the tests instead of quietly taking the lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import orjson
from sqlalchemy import Engine, String, create_engine, event
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from veil.kit.fifo_lock import FifoLock

log = logging.getLogger("veil.db")

AfterCommit = Callable[[], None]
_READ_ONLY = "veil_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option: how long (seconds) a write transaction waits for the writer lock before
# failing as SQLite would ("database is locked"); the busy timeout unless said otherwise.
WRITE_WAIT = "veil_write_wait"
_WRITERS: weakref.WeakKeyDictionary[Engine, SQLiteWriters] = weakref.WeakKeyDictionary()


def json_dumps(value: Any) -> str:
    """JSON columns' text, by orjson (several times the stdlib's speed on event payloads).

    UTF-8 as it is rather than `\\uXXXX` escapes, compact separators: still one valid JSON
    text for SQLite's TEXT and PostgreSQL's JSONB. What orjson refuses (integers beyond 64 bits,
    unpaired surrogates, non-JSON types) goes to the stdlib, which answers as it always did.
    """
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        return json.dumps(value)


def json_loads(text: str | bytes) -> Any:
    """The inverse of `json_dumps`; rows the stdlib wrote with NaN or Infinity still load."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    # hide_parameters: an IntegrityError message must not carry an email into the logs.
    common: dict[str, Any] = {
        "echo": echo,
        "hide_parameters": True,
        "json_serializer": json_dumps,
        "json_deserializer": json_loads,
    }
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
            **common,
        )
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **common)
    _configure_postgresql(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so we decide BEGIN vs BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        # Sorts and temp tables stay in memory: no personal data in stray temp files.
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        dbapi_conn.create_function(_SQLITE_LOWER, 1, _python_lower, deterministic=True)

    writers = SQLiteWriters(engine)
    _WRITERS[engine] = writers

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(_READ_ONLY, False):
            conn.exec_driver_sql("PRAGMA query_only=1")
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        writers.enter(dbapi_conn, options.get(WRITE_WAIT, SQLITE_BUSY_TIMEOUT_MS / 1000))
        try:
            conn.exec_driver_sql("PRAGMA query_only=0")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            writers.leave(dbapi_conn)
            raise

    # A connection that dies inside its transaction never reaches commit or rollback.
    @event.listens_for(engine, "invalidate")
    def _on_invalidate(dbapi_conn: Any, _record: Any, _exception: Any) -> None:
        writers.leave(dbapi_conn, force=True)

    @event.listens_for(engine, "close")
    def _on_close(dbapi_conn: Any, _record: Any) -> None:
        writers.leave(dbapi_conn, force=True)


def sqlite_writers(engine: Engine) -> SQLiteWriters | None:
    """The writer lock of a SQLite engine made by `make_engine` (None on PostgreSQL)."""
    return _WRITERS.get(engine)


class SQLiteWriters:
    """The writer lock of one SQLite engine and the DB-API connection holding it.

    Taken in the `begin` event of a write transaction; handed on once the transaction has
    really ended: after the driver's COMMIT or ROLLBACK (the dialect's `do_commit` and
    `do_rollback`, which the engine calls for the transaction and the pool calls when it
    resets a returned connection), not in the `commit` event, which fires before the COMMIT
    and would let the next writer meet SQLite's busy handler again. Savepoints do not begin
    a transaction, so nested units of work in the same session take nothing more.
    """

    def __init__(self, engine: Engine) -> None:
        self.lock = FifoLock()
        self.holder: Any = None
        dialect = engine.dialect
        plain_commit, plain_rollback = dialect.do_commit, dialect.do_rollback

        def do_commit(connection: Any) -> None:
            try:
                plain_commit(connection)
            finally:
                self.leave(getattr(connection, "dbapi_connection", connection))

        def do_rollback(connection: Any) -> None:
            try:
                plain_rollback(connection)
            finally:
                self.leave(getattr(connection, "dbapi_connection", connection))

        # Per engine (each engine has its own dialect instance); there is no event after COMMIT.
        dialect.do_commit = do_commit  # type: ignore[method-assign,assignment]
        dialect.do_rollback = do_rollback  # type: ignore[method-assign,assignment]

    def enter(self, dbapi_conn: Any, wait: float) -> None:
        if not self.lock.acquire(timeout=wait):
            locked = sqlite3.OperationalError("database is locked")
            raise OperationalError("BEGIN IMMEDIATE", None, locked)
        self.holder = dbapi_conn

    def leave(self, dbapi_conn: Any, *, force: bool = False) -> None:
        """Hand the lock on if `dbapi_conn` holds it and its transaction is over (a COMMIT
        that failed leaves it open: the rollback that follows hands it on)."""
        if dbapi_conn is None or self.holder is not dbapi_conn:
            return
        if not force and getattr(dbapi_conn, "in_transaction", False):
            return
        self.holder = None
        self.lock.release()


# -- case folding for any script: SQLite's own lower() (and LIKE) fold ASCII letters only --

_SQLITE_LOWER = "veil_lower"


def _python_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


class unicode_lower(FunctionElement[str]):  # lower-case: used like func.lower
    """lower() for every script on both backends: PostgreSQL's lower() (a UTF-8 database in
    any locale but plain "C"), on SQLite a Python function registered on each connection."""

    type = String()
    inherit_cache = True


@compiles(unicode_lower)
def _lower_default(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def like_pattern(text: str) -> str:
    """`%text%` for LIKE ... ESCAPE '\\': what was typed matches literally, `_` and `%` too."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


LIKE_ESCAPE = "\\"


def _configure_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(_READ_ONLY, False):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")


def make_sessionmaker(
    engine: Engine, *, enqueue: Callable[[str, str], None] | None = None
) -> sessionmaker[Session]:
    """Sessions of one runtime; `enqueue(job, object_id)` is what enqueue_after_commit calls."""
    info: dict[str, Any] = {} if enqueue is None else {"enqueue": enqueue}
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True, info=info)
    return factory


def add_if_unique(session: Session, row: object) -> bool:
    """Insert `row` in a savepoint: False, and nothing stored, when a unique constraint or
    index refuses it (a row with the same key was stored first, maybe by a concurrent
    transaction). The caller's transaction stays usable either way: the database, not a
    check before the insert, decides who was first."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    return True


def rowcount(result: Any) -> int:
    """Rows an UPDATE/DELETE touched (0 where the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)


# -- after-commit hooks: jobs are enqueued only once the row that describes them is committed --


def after_commit(session: Session, callback: AfterCommit) -> None:
    """Run `callback` after the session's current transaction commits; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


def enqueue_after_commit(session: Session, job: str, object_id: str) -> None:
    """The one way to start a job: put `(job, object_id)` on the queue once this transaction
    commits (a rollback drops it). The row is the source of truth; a lost message is found
    again by the periodic sweep."""
    enqueue: Callable[[str, str], None] | None = session.info.get("enqueue")
    if enqueue is None:
        raise RuntimeError("this session does not belong to a runtime with a queue")
    after_commit(session, lambda: enqueue(job, object_id))


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit when a SAVEPOINT is released too; the work it describes is
    # committed only when the outermost transaction is.
    if session.in_nested_transaction():
        return
    callbacks: list[AfterCommit] = session.info.pop("after_commit", [])
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The committed row is the source of truth: the periodic sweep enqueues it later.
            log.exception("after-commit callback failed; the sweep will pick the work up")


@event.listens_for(Session, "after_soft_rollback")
def _drop_after_commit(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # only the outermost transaction
        session.info.pop("after_commit", None)


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """Own `session`'s transaction: commit on success, roll back on any error, then close.

    The one transaction boundary: a request's (veil.auth.deps), a job's, a command's."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def session_scope(factory: sessionmaker[Session]) -> AbstractContextManager[Session]:
    """A unit of work in a new session of `factory` (see `transaction`)."""
    return transaction(factory())


def open_read_only(factory: sessionmaker[Session]) -> Session:
    """A session whose transaction is a read-only snapshot (see the module docstring)."""
    session = factory()
    session.info["read_only"] = True
    session.connection(execution_options={_READ_ONLY: True})
    return session


def is_read_only(session: Session) -> bool:
    return bool(session.info.get("read_only"))


def defers_write_lock(session: Session) -> bool:
    """Whether reads that precede `session`'s work (authentication) are better done on a
    snapshot of their own: true for a SQLite write session that has not begun, whose first
    statement takes the writer lock until it commits. On PostgreSQL a transaction holds no
    lock for what it has only read."""
    return (
        session.get_bind().dialect.name == "sqlite"
        and not is_read_only(session)
        and not session.in_transaction()
    )


@contextmanager
def read_only_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A deferred (snapshot) transaction that never takes SQLite's write lock."""
    session = open_read_only(factory)
    try:
        yield session
        session.rollback()
    finally:
        session.close()


def checkpoint_sqlite(engine: Engine, *, attempts: int = 100) -> bool:
    """WAL checkpoint(TRUNCATE), retried while readers hold the WAL; True when it completed.

    A PASSIVE checkpoint can leave an erased page's old image in the -wal file; TRUNCATE
    copies every frame back and empties the WAL, so the old bytes are gone from disk.
    """
    import time

    if engine.dialect.name != "sqlite":
        return True
    for _ in range(attempts):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()
            busy = row[0] if row else 1
            cursor.close()
        finally:
            raw.close()
        if not busy:
            return True
        time.sleep(0.05)
    return False
