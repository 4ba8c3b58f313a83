"""The inbox and the overdue scan at a million instances, on SQLite and PostgreSQL.

The rows (``bulk_rows.py``: clones of suggestions the engine itself carried into each
state) are bulk-loaded straight into the engine's schema (``Database.create_all()``):
executemany on SQLite, COPY on PostgreSQL, indexes built after the load, ANALYZE at the
end. A finished load leaves a ``bench_meta`` row; a later run that finds one with the
same shape reuses the data (a SQLite file under ``bench/data/``, a schema of its own on
PostgreSQL). Audit events, outbox rows and links are not cloned: no timed query reads
them.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

import bulk_rows
from bulk_rows import INSTANCES, TASKS
from lifecycle import MONDAY_MORNING, calendar
from raw_floor import Call, Plan, Replay, recording, sqlite_connection
from sqlalchemy import Index, func, inspect, select, text

from workflow import Database, Engine, FakeClock, demo, org
from workflow.models import Base

SHAPE_VERSION = 3
DATA_NOW = MONDAY_MORNING
TEMPLATES_START = DATA_NOW - timedelta(days=60)
BATCH = 20_000
HEAD = "head_smelting"
EXPERT = "expert_smelting_1"
EXTRA_DEPARTMENTS = [f"workshop_{n:02d}" for n in range(1, 35)]
EXTRA_FIELDS = [f"field_{n:02d}" for n in range(6, 11)]
PROPOSERS = 300


def shape(instances: int) -> str:
    return json.dumps({"version": SHAPE_VERSION, "seed": bulk_rows.SEED,
                       "instances": instances}, sort_keys=True)


@dataclass(frozen=True)
class Org:
    departments: list[str]
    fields: list[str]
    people: bulk_rows.People


def _build_org(db: Database, engine: Engine) -> Org:
    """The demo organisation grown to 38 production departments and 10 fields, each with a
    head or three experts, and 300 proposers."""
    now = DATA_NOW
    engine.load_definitions()
    rng = random.Random(bulk_rows.SEED)
    with db.write() as conn:
        demo.load(conn, now=now, password=None)
        for code in EXTRA_DEPARTMENTS:
            org.add_department(conn, code=code, name_zh=code, name_en=code)
        for code in EXTRA_FIELDS:
            org.add_field(conn, code=code, name_zh=code, name_en=code)
        departments = [d["code"] for d in org.departments(conn)
                       if d["code"] not in ("sta_office", "finance_dept")]
        fields = [f["code"] for f in org.fields(conn)]
        for code in departments:
            if not any(f"dept_head@{code}" in roles for *_user, roles in demo.USERS):
                org.add_user(conn, username=f"head_{code}", now=now, department=code,
                             roles=[f"dept_head@{code}"])
        for code in fields:
            have = sum(1 for *_user, roles in demo.USERS if f"expert@{code}" in roles)
            for n in range(have + 1, 4):
                org.add_user(conn, username=f"expert_{code}_{n}", now=now,
                             department=rng.choice(departments), roles=[f"expert@{code}"])
        for n in range(1, PROPOSERS + 1):
            org.add_user(conn, username=f"proposer_{n:03d}", now=now,
                         department=rng.choice(departments))
    with db.read() as conn:
        users = org.list_users(conn)

    def holders(role: str) -> list[int]:
        return sorted(u.id for u in users if role in u.roles)

    return Org(departments, fields, bulk_rows.People(
        proposers=sorted(u.id for u in users if u.username.startswith("proposer_")),
        heads={code: holders(f"dept_head@{code}")[0] for code in departments},
        experts={code: holders(f"expert@{code}")[:3] for code in fields},
    ))


def _rows(db: Database, instances: int
          ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """The organisation, the templates, then batches of cloned rows."""
    engine = Engine(db, clock=FakeClock(DATA_NOW), calendar=calendar())
    shop = _build_org(db, engine)
    templates = bulk_rows.make_templates(db, engine, TEMPLATES_START)
    with db.read() as conn:
        first_instance = conn.execute(select(func.max(INSTANCES.c.id))).scalar_one()
        first_task = conn.execute(select(func.max(TASKS.c.id))).scalar_one()
    cloner = bulk_rows.Cloner(templates, db.writer.dialect, bulk_rows.template_people(db))
    yield from cloner.rows(instances - first_instance, shop.people, DATA_NOW,
                           shop.departments, shop.fields, BATCH,
                           first_instance=first_instance, first_task=first_task)


def _indexes() -> list[Index]:
    return [*Base.metadata.tables["instances"].indexes, *Base.metadata.tables["tasks"].indexes]


def _meta(db: Database) -> str | None:
    if not inspect(db.reader).has_table("bench_meta"):
        return None
    with db.read() as conn:
        return conn.execute(text("SELECT value FROM bench_meta WHERE key = 'shape'")).scalar()


@dataclass
class LoadReport:
    reused: bool
    seconds: float
    instances: int
    tasks: int
    open_tasks: int


def ensure_sqlite(path: Path, instances: int) -> LoadReport:
    url = f"sqlite:///{path}"
    if path.exists():
        db = Database(url)
        if _meta(db) == shape(instances):
            return _counts(db, reused=True, seconds=0.0)
        db.dispose()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    began = perf_counter()
    db = Database(url)
    db.create_all()
    batches = _rows(db, instances)
    first = next(batches)
    with db.writer.begin() as conn:
        for index in _indexes():
            index.drop(conn)
    raw = sqlite_connection(str(path))
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    inserts = [f"INSERT INTO {t.name} ({', '.join(c.name for c in t.columns)}) VALUES "
               f"({', '.join('?' * len(t.columns))})" for t in (INSTANCES, TASKS)]
    for n, batch in enumerate(itertools.chain([first], batches), 1):
        _progress(n, began)
        raw.execute("BEGIN IMMEDIATE")
        for insert_sql, rows_of_table in zip(inserts, batch, strict=True):
            raw.executemany(insert_sql, rows_of_table)
        raw.commit()
    with db.writer.begin() as conn:
        for index in _indexes():
            index.create(conn)
    raw.execute("ANALYZE")
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    _mark(db, instances)
    return _counts(db, reused=False, seconds=perf_counter() - began)


def _progress(batches: int, began: float) -> None:
    if batches % 10 == 0:
        print(f"    {batches * BATCH:,} instances generated and loaded, "
              f"{perf_counter() - began:.0f} s", flush=True)


def _mark(db: Database, instances: int) -> None:
    with db.write() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS bench_meta "
                          "(key VARCHAR(40) PRIMARY KEY, value TEXT NOT NULL)"))
        conn.execute(text("DELETE FROM bench_meta WHERE key = 'shape'"))
        conn.execute(text("INSERT INTO bench_meta (key, value) VALUES ('shape', :v)"),
                     {"v": shape(instances)})


def _counts(db: Database, *, reused: bool, seconds: float) -> LoadReport:
    with db.read() as conn:
        count = conn.execute(text("SELECT count(*) FROM instances")).scalar_one()
        tasks = conn.execute(text("SELECT count(*) FROM tasks")).scalar_one()
        open_tasks = conn.execute(
            text("SELECT count(*) FROM tasks WHERE status = 'open'")).scalar_one()
    db.dispose()
    return LoadReport(reused, round(seconds, 1), count, tasks, open_tasks)


def ensure_postgres(url: str, admin_conninfo: str, schema: str, conninfo: str,
                    instances: int) -> LoadReport:
    import psycopg

    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    db = Database(url)
    if _meta(db) == shape(instances):
        return _counts(db, reused=True, seconds=0.0)
    db.dispose()
    with psycopg.connect(admin_conninfo, autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA {schema} CASCADE")
        admin.execute(f"CREATE SCHEMA {schema}")
    began = perf_counter()
    db = Database(url)
    db.create_all()
    batches = _rows(db, instances)
    first = next(batches)
    with db.writer.begin() as conn:
        for index in _indexes():
            index.drop(conn)
    copies = [f"COPY {t.name} ({', '.join(c.name for c in t.columns)}) FROM STDIN"
              for t in (INSTANCES, TASKS)]
    with psycopg.connect(conninfo) as raw:
        raw.execute("SET session_replication_role = replica")  # no FK triggers while loading
        for n, batch in enumerate(itertools.chain([first], batches), 1):
            _progress(n, began)
            with raw.cursor() as cur:
                for copy_sql, rows_of_table in zip(copies, batch, strict=True):
                    with cur.copy(copy_sql) as copy:
                        for row in rows_of_table:
                            copy.write_row(row)
            raw.commit()
        for table in ("instances", "tasks"):
            raw.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))")
        raw.commit()
    with db.writer.begin() as conn:
        for index in _indexes():
            index.create(conn)
    with psycopg.connect(conninfo, autocommit=True) as raw:
        raw.execute("VACUUM ANALYZE instances")
        raw.execute("VACUUM ANALYZE tasks")
        raw.execute("ANALYZE")
    _mark(db, instances)
    return _counts(db, reused=False, seconds=perf_counter() - began)


# ---------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class QueryTiming:
    name: str
    rows: int
    engine_ms: dict[str, float]
    driver_ms: dict[str, float]
    statements: int
    engine_cpu_ms: dict[str, float]
    """CPU time of this process per engine call: what waiting for a core on a shared
    machine does not inflate (on PostgreSQL it leaves out the server's work)."""


OVERDUE_PAGE = 100
"""Rows per ``Engine.overdue`` page: a chasing pass walks every page of this size."""


@dataclass(frozen=True)
class OverdueWalk:
    """One chasing pass: every overdue task, page after page, through the engine."""

    tasks: int
    pages: int
    seconds: tuple[float, float]
    """The first walk (the pages read in from disk as they come) and a second one."""
    middle: tuple[Any, int] | None
    """Where the page in the middle of the walk starts (its ``after``)."""


def summary_ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "p50": round(statistics.median(ordered) * 1000, 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 3),
        "mean": round(statistics.fmean(ordered) * 1000, 3),
    }


def walk_overdue(engine: Engine) -> OverdueWalk:
    """Every overdue task, page by page, as a chasing pass reads them; timed twice."""
    seconds = []
    for _ in range(2):
        began = perf_counter()
        keys: list[tuple[Any, int] | None] = [None]
        tasks = 0
        while True:
            page = engine.overdue(limit=OVERDUE_PAGE, after=keys[-1])
            tasks += len(page.items)
            if page.next is None:
                break
            keys.append(page.next)
        seconds.append(round(perf_counter() - began, 2))
    return OverdueWalk(tasks, len(keys), (seconds[0], seconds[1]), keys[len(keys) // 2])


def time_queries(url: str, *, calls: int, driver: Any) -> tuple[list[QueryTiming], OverdueWalk]:
    """Engine.inbox for a department head and an expert, the first page of Engine.overdue
    and the page in the middle of a whole chasing pass; each ``calls`` times, and the same
    statements through the bare driver. The walk itself is timed twice."""
    db = Database(url)
    engine = Engine(db, clock=FakeClock(DATA_NOW), calendar=calendar())
    engine.load_definitions()
    with db.read() as conn:
        head = org.actor_by_username(conn, HEAD)
        expert = org.actor_by_username(conn, EXPERT)
    walk = walk_overdue(engine)
    queries: list[tuple[str, Any]] = [
        ("inbox, department head", lambda: engine.inbox(actor=head)),
        ("inbox, expert", lambda: engine.inbox(actor=expert)),
        (f"overdue, first page of {OVERDUE_PAGE}",
         lambda: engine.overdue(limit=OVERDUE_PAGE).items),
        (f"overdue, page of {OVERDUE_PAGE} mid-walk (page {walk.pages // 2 + 1} of {walk.pages})",
         lambda: engine.overdue(limit=OVERDUE_PAGE, after=walk.middle).items),
    ]
    results = []
    for name, call in queries:
        rows = len(call())
        for _ in range(20):
            call()
        seconds, cpu_seconds = [], []
        for _ in range(calls):
            began, cpu_began = perf_counter(), process_time()
            call()
            seconds.append(perf_counter() - began)
            cpu_seconds.append(process_time() - cpu_began)
        with recording() as recorder:
            call()
        sent = recorder.take()
        replay = Replay(Plan([Call(name, sent)], {}), driver, is_sqlite=db.is_sqlite)
        for _ in range(20):
            replay.run_instance()
        raw_seconds: list[float] = []
        for _ in range(calls):
            replay.run_instance(raw_seconds)
        results.append(QueryTiming(name, rows, summary_ms(seconds), summary_ms(raw_seconds),
                                   len(sent), summary_ms(cpu_seconds)))
    db.dispose()
    return results, walk
