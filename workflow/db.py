"""Connections: SQLite by default (WAL, immediate write locks), PostgreSQL by URL.

A write is one transaction that cannot interleave with another write to the same
instance: on SQLite every write transaction begins with ``BEGIN IMMEDIATE`` (the whole
file is the lock, so nobody reads a version another writer is about to change); on
PostgreSQL the instance row is taken ``FOR UPDATE``. Reads never take write locks.

On SQLite the threads of one process also queue for writing on a lock of their own:
SQLite's busy handler makes a waiting writer sleep and retry, which under many threads
leaves the file idle between writers and lets some wait for seconds. Other processes
still meet at ``BEGIN IMMEDIATE``.

A few connections are kept between transactions rather than returned to the pool each
time (see ``_Kept``). On a SQLite file, the write-ahead log is copied into the database
file by a thread of its own rather than inside a commit (``checkpoints``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from . import checkpoints
from .models import Base

DEFAULT_URL = "sqlite:///innoflow.db"
BUSY_TIMEOUT_MS = 60_000
KEPT_CONNECTIONS = 4
"""Connections each engine keeps between transactions (the pool holds the rest)."""
KEPT_FRESH_SECONDS = 10.0
"""On PostgreSQL, a connection idle longer than this is checked (pre-pinged) again."""


def database_url() -> str:
    return os.environ.get("INNOFLOW_DATABASE_URL", DEFAULT_URL)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for an in-memory database or a ``file:`` URI."""
    parsed = make_url(url)
    name = parsed.database
    if not name or name == ":memory:" or parsed.query.get("uri") or name.startswith("file:"):
        return None
    return Path(name)


def _sqlite_engine(url: str, *, immediate: bool, backstop: int | None = None) -> Engine:
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        poolclass=None if ":memory:" not in url else NullPool,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if backstop is not None:
            cursor.execute(f"PRAGMA wal_autocheckpoint={backstop}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # On the DB-API cursor, past SQLAlchemy's statement machinery: this runs on every
        # transaction. ``Database.write`` may have begun it already.
        fairy = connection.connection
        if not fairy.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            fairy.cursor().execute("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(url: str) -> threading.RLock:
    """One lock per in-memory SQLite URL per process (a file's is its checkpointer's)."""
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(url, threading.RLock())


class _Kept:
    """Connections kept between transactions instead of going back to the pool.

    Checking a connection out of SQLAlchemy's pool and back in costs more than most of an
    action's statements, and on PostgreSQL the pre-ping of every checkout is a round trip.
    A kept connection idle for longer than ``fresh_for`` seconds goes back through the
    pool (and its pre-ping) instead; a forked child never uses its parent's.
    """

    def __init__(self, engine: Engine, *, limit: int, fresh_for: float | None) -> None:
        self._engine = engine
        self._limit = limit
        self._fresh_for = fresh_for
        self._idle: list[tuple[Connection, float]] = []
        self._guard = threading.Lock()
        self._pid = os.getpid()

    def take(self) -> Connection:
        stale = []
        with self._guard:
            if self._pid != os.getpid():
                self._idle, self._pid = [], os.getpid()
            now = monotonic()
            while self._idle:
                conn, since = self._idle.pop()
                if self._fresh_for is None or now - since < self._fresh_for:
                    break
                stale.append(conn)
            else:
                conn = None
        for old in stale:
            old.close()
        return conn if conn is not None else self._engine.connect()

    def give_back(self, conn: Connection) -> None:
        with self._guard:
            if len(self._idle) < self._limit and self._pid == os.getpid():
                self._idle.append((conn, monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._guard:
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()


class Database:
    """Owns the SQLAlchemy engines; every unit of work asks it for a transaction."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = url or database_url()
        self.is_sqlite = self.url.startswith("sqlite")
        self._checkpointer: checkpoints.Checkpointer | None = None
        if self.is_sqlite:
            self._ensure_folder()
            file = sqlite_file(self.url)
            if file is not None:
                self._checkpointer = checkpoints.for_file(file)
                self._checkpointer.attach()
            self._write_turn: threading.RLock | None = (
                self._checkpointer.turn if self._checkpointer else _write_lock(self.url))
            self.writer = _sqlite_engine(
                self.url, immediate=True,
                backstop=checkpoints.BACKSTOP_PAGES if file is not None else None)
            self.reader = _sqlite_engine(self.url, immediate=False)
            fresh_for = None  # a file does not drop connections
        else:
            self.writer = create_engine(
                self.url, pool_size=10, max_overflow=60, pool_timeout=60, pool_pre_ping=True,
                echo=echo,
            )
            self.reader = self.writer
            self._write_turn = None
            fresh_for = KEPT_FRESH_SECONDS
        self._kept_writers = _Kept(self.writer, limit=KEPT_CONNECTIONS, fresh_for=fresh_for)
        self._kept_readers = (_Kept(self.reader, limit=KEPT_CONNECTIONS, fresh_for=fresh_for)
                              if self.reader is not self.writer else self._kept_writers)
        self.dialect = self.writer.dialect.name

    def _ensure_folder(self) -> None:
        file = sqlite_file(self.url)
        if file is not None:
            file.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any error."""
        if self._write_turn is None:
            with self._transaction(self._kept_writers) as conn:
                yield conn
            return
        with self._checkpointer.writing() if self._checkpointer else self._write_turn:
            conn = self._kept_writers.take()
            # BEGIN and COMMIT straight on the driver: SQLAlchemy's transaction objects cost
            # as much as a statement. Should a caller run a SQLAlchemy statement meanwhile,
            # SQLAlchemy begins its own view of this same transaction (``_on_begin`` sees
            # it open), and its commit or rollback ends it.
            fairy = conn.connection
            try:
                fairy.cursor().execute("BEGIN IMMEDIATE")
                yield conn
                if conn.in_transaction():
                    conn.commit()
                else:
                    fairy.dbapi_connection.commit()  # type: ignore[union-attr]
            except BaseException:
                if conn.in_transaction():
                    conn.rollback()
                else:
                    fairy.dbapi_connection.rollback()  # type: ignore[union-attr]
                conn.close()  # back to the pool rather than kept
                raise
            self._kept_writers.give_back(conn)

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self._transaction(self._kept_readers) as conn:
            yield conn

    @contextmanager
    def one_read(self) -> Iterator[Connection]:
        """A connection for a single read statement on its DB-API cursor (``rawsql.run``),
        with no transaction around it: one statement sees one snapshot by itself. It spares
        BEGIN and COMMIT, two more round trips on PostgreSQL, for the token check of every
        API request. The connection goes back as it came, outside any transaction."""
        kept = self._kept_readers
        conn = kept.take()
        driver: Any = conn.connection.dbapi_connection
        clean = False
        try:
            if not self.is_sqlite:
                driver.autocommit = True
            yield conn
            clean = not conn.in_transaction() and not (self.is_sqlite and driver.in_transaction)
        finally:
            if not self.is_sqlite:
                try:
                    driver.autocommit = False
                except Exception:  # a broken connection: the pool must not hand it out
                    conn.invalidate()
                    clean = False
            if clean:
                kept.give_back(conn)
            else:
                conn.close()

    @contextmanager
    def _transaction(self, kept: _Kept) -> Iterator[Connection]:
        conn = kept.take()
        try:
            with conn.begin():
                yield conn
        except BaseException:
            conn.close()  # rolled back; back to the pool rather than kept
            raise
        kept.give_back(conn)

    def create_all(self) -> None:
        """For tests and benchmarks; deployments use ``innoflow db upgrade``."""
        Base.metadata.create_all(self.writer)

    def dispose(self) -> None:
        self._kept_writers.close()
        self._kept_readers.close()
        self.writer.dispose()
        if self.reader is not self.writer:
            self.reader.dispose()
        if self._checkpointer is not None:
            self._checkpointer.release()
            self._checkpointer = None
