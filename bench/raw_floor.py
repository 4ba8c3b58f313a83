"""The raw floor: the engine's own statements replayed through the bare driver.

``capture`` records, at the DB-API cursor, every statement and parameter set the engine
sends while it carries one suggestion through its lifecycle, call by call (one call is
one transaction): SQLAlchemy's statements and those the engine runs on its transaction's
cursor directly alike. ``Replay`` sends exactly those
statements through ``sqlite3`` or ``psycopg`` for new instances: the ids of the rows the
engine inserted (``INSERT … RETURNING id``) are swapped for the ids the replay's own
inserts return, everything else is sent as captured (JSON already serialized, times
already converted). One transaction per call, committed like the engine commits it.
What is left is the cost of the database and the driver: the floor for this workload.
On SQLite the connection is configured as the engine's and its log is checkpointed the
same way, by the file's checkpointer (``workflow.checkpoints``), each call holding the
same write turn.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from time import perf_counter
from typing import Any

from lifecycle import INSTANCE_ID_BASE, TASK_ID_BASE, Workload
from sqlalchemy import text
from sqlalchemy.pool.base import _ConnectionFairy

from workflow import checkpoints

_INSERT_RETURNING = re.compile(r"^\s*INSERT INTO (\w+)\b.*\bRETURNING\b", re.S | re.I)


@dataclass(frozen=True)
class Statement:
    sql: str
    params: Any
    many: bool
    options: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments the caller gave the driver (psycopg's ``prepare``, …)."""


@dataclass
class Call:
    """One engine call (one transaction) and the statements it sent."""

    name: str
    statements: list[Statement] = field(default_factory=list)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[Statement] = []
        self.executions = 0
        """Statements executed so far, an executemany counting once per row."""

    def note(self, statement: Statement) -> None:
        self.sent.append(statement)
        self.executions += len(statement.params) if statement.many else 1

    def take(self) -> list[Statement]:
        taken, self.sent = self.sent, []
        return taken


class _RecordingCursor:
    """A DB-API cursor that notes what it is asked to execute."""

    def __init__(self, cursor: Any, recorder: Recorder) -> None:
        self._cursor = cursor
        self._recorder = recorder

    def execute(self, sql: str, params: Any = (), **options: Any) -> Any:
        self._recorder.note(Statement(sql, params, False, options))
        return self._cursor.execute(sql, params, **options)

    def executemany(self, sql: str, rows: Any, **options: Any) -> Any:
        rows = list(rows)
        self._recorder.note(Statement(sql, rows, True, options))
        return self._cursor.executemany(sql, rows, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Any:
        return iter(self._cursor)


@contextmanager
def recording() -> Iterator[Recorder]:
    """Every statement any pooled connection's cursor executes meanwhile, in order.

    Both SQLAlchemy's own statements and those the engine runs on the DB-API cursor of
    its transaction (``conn.connection.cursor()``) pass here. On SQLite the connection's
    trace callback counts what reached the database, so a statement sent past the cursor
    (which the replay would miss) is reported.
    """
    recorder = Recorder()
    traced: list[str] = []
    tracing: set[Any] = set()
    original = _ConnectionFairy.cursor

    def cursor(self: _ConnectionFairy, *args: Any, **kwargs: Any) -> Any:
        dbapi = self.dbapi_connection
        if isinstance(dbapi, sqlite3.Connection) and dbapi not in tracing:
            dbapi.set_trace_callback(traced.append)
            tracing.add(dbapi)
        return _RecordingCursor(original(self, *args, **kwargs), recorder)

    _ConnectionFairy.cursor = cursor  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        _ConnectionFairy.cursor = original  # type: ignore[method-assign]
        for dbapi in tracing:
            dbapi.set_trace_callback(None)
    reached = [t for t in traced if t.split(None, 1)[0].upper() not in ("COMMIT", "ROLLBACK")]
    if tracing and len(reached) != recorder.executions:
        raise RuntimeError(f"{len(reached)} statements reached SQLite but "
                           f"{recorder.executions} passed "
                           "the cursor: the engine sends statements another way")


def capture(workload: Workload) -> list[Call]:
    """The statements of each call of one lifecycle, as the engine sends them."""
    calls: list[Call] = []
    with recording() as recorder:
        def after_call(name: str) -> None:
            calls.append(Call(name, recorder.take()))

        workload.run_instance(after_call=after_call)
    return calls


def inserted_ids(workload: Workload) -> dict[str, list[int]]:
    """The ids the captured lifecycle's inserts got, oldest first, per table."""
    with workload.db.read() as conn:
        return {
            table: list(conn.execute(text(
                f"SELECT id FROM {table} WHERE id > :base ORDER BY id"), {"base": base}).scalars())
            for table, base in (("instances", INSTANCE_ID_BASE), ("tasks", TASK_ID_BASE))
        }


def _is_id(value: Any, known: set[int]) -> bool:
    return type(value) is int and value in known


@dataclass(frozen=True)
class _Step:
    sql: str
    params: Any
    many: bool
    options: dict[str, Any]
    slots: tuple[Any, ...]
    """Positions (or keys) whose value is a captured id, per parameter set."""
    produces: int | None
    """The captured id this INSERT … RETURNING made, to be replaced by the new one."""


def _slots(params: Any, known: set[int]) -> tuple[Any, ...]:
    if isinstance(params, dict):
        return tuple((k, v) for k, v in params.items() if _is_id(v, known))
    if isinstance(params, (tuple, list)):
        return tuple((i, v) for i, v in enumerate(params) if _is_id(v, known))
    return ()


class Plan:
    """The captured calls with the places where new ids go."""

    def __init__(self, calls: Sequence[Call], ids: dict[str, list[int]]) -> None:
        known = {i for values in ids.values() for i in values}
        pending = {table: list(values) for table, values in ids.items()}
        self.calls: list[tuple[str, list[_Step]]] = []
        for call in calls:
            steps = []
            for s in call.statements:
                produces = None
                match = _INSERT_RETURNING.match(s.sql)
                if match and match.group(1).lower() in pending:
                    produces = pending[match.group(1).lower()].pop(0)
                if s.many:
                    slots = tuple(_slots(p, known) for p in s.params)
                else:
                    slots = (_slots(s.params, known),)
                steps.append(_Step(s.sql, s.params, s.many, s.options, slots, produces))
            self.calls.append((call.name, steps))
        left = {table: values for table, values in pending.items() if values}
        if left:
            raise RuntimeError(f"inserted ids without a RETURNING insert: {left}")

    @property
    def statements_per_call(self) -> list[tuple[str, int]]:
        return [(name, len(steps)) for name, steps in self.calls]


def _bind(params: Any, slots: tuple[Any, ...], new: dict[int, int]) -> Any:
    if not slots:
        return params
    if isinstance(params, dict):
        bound = dict(params)
        for key, old in slots:
            bound[key] = new[old]
        return bound
    values = list(params)
    for index, old in slots:
        values[index] = new[old]
    return tuple(values)


class Replay:
    """Sends the plan through a DB-API connection; ``commit`` ends each call."""

    def __init__(self, plan: Plan, connection: Any, *, is_sqlite: bool,
                 checkpointer: checkpoints.Checkpointer | None = None) -> None:
        self.plan = plan
        self.connection = connection
        self.cursor = connection.cursor()
        self.is_sqlite = is_sqlite
        self.checkpointer = checkpointer

    def run_instance(self, timings: list[float] | None = None) -> None:
        new: dict[int, int] = {}
        cursor = self.cursor
        commit: Callable[[], None] = self.connection.commit
        checkpointer = self.checkpointer
        for _name, steps in self.plan.calls:
            began = perf_counter()
            with checkpointer.writing() if checkpointer else nullcontext():
                for step in steps:
                    if step.many:
                        rows = [_bind(p, s, new) for p, s in zip(step.params, step.slots,
                                                                  strict=True)]
                        cursor.executemany(step.sql, rows, **step.options)
                        continue
                    cursor.execute(step.sql, _bind(step.params, step.slots[0], new),
                                   **step.options)
                    if cursor.description is not None:
                        rows = cursor.fetchall()
                        if step.produces is not None:
                            new[step.produces] = rows[0][0]
                commit()
            if timings is not None:
                timings.append(perf_counter() - began)


def sqlite_connection(path: str) -> sqlite3.Connection:
    """Configured as workflow/db.py configures the engine's writers: WAL, NORMAL, our own
    BEGIN, commits checkpointing only as a backstop (the file's checkpointer does it)."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=60000")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA wal_autocheckpoint={checkpoints.BACKSTOP_PAGES}")
    return conn


def postgres_connection(conninfo: str) -> Any:
    import psycopg

    return psycopg.connect(conninfo)
