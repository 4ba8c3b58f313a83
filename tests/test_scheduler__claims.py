"""Exactly once with several workers: claims with leases and a unique key per effect.

Four processes on PostgreSQL (each with its own Database) and four threads on SQLite
share 10,000 due reminders; every reminder reaches its person once, in one digest per
person per day. Workers killed between claiming and sending: their work is done after
the lease expires, and duplicates never exceed the number of kills.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from tests import scheduler_load as load
from workflow import Database, Engine, FakeClock
from workflow.models import Base
from workflow.notify.bell import NOTIFICATIONS
from workflow.reminders import EFFECTS
from workflow.store import OUTBOX

POSTGRES_URL = os.environ.get("INNOFLOW_TEST_POSTGRES_URL")
REMINDERS = 10_000
USERS = 1_000
WORKERS = 4


def fresh_postgres() -> Database:
    assert POSTGRES_URL is not None
    db = Database(POSTGRES_URL)
    Base.metadata.create_all(db.writer)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.write() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return db


def seeded(db: Database, reminders: int, users: int) -> Engine:
    engine = Engine(db, clock=FakeClock(load.OPENED_AT), calendar=load.calendar())
    engine.load_definitions()
    load.seed(engine, reminders=reminders, users=users)
    return engine


def assert_each_reminder_once(db: Database, record: Path, reminders: int,
                              *, allowed_duplicates: int = 0) -> None:
    seen = load.tally(record)
    with db.read() as conn:
        instances = set(conn.execute(select(EFFECTS.c.instance_id)
                                     .where(EFFECTS.c.status == "done")).scalars())
        rungs = conn.execute(select(func.count()).select_from(EFFECTS)).scalar_one()
        reminder_rows = conn.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.key == "reminder")).scalar_one()
        bell = [n for n in conn.execute(select(NOTIFICATIONS.c.params).where(
            NOTIFICATIONS.c.key == "digest")).scalars()]
        left = conn.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.status == "pending")).scalar_one()
    assert len(instances) == reminders and rungs == 3 * reminders  # before, overdue, escalate
    assert reminder_rows == reminders  # one outbox row per reminder, whoever ran it
    assert set(seen.per_instance) == instances  # none missing
    duplicates = sum(n - 1 for n in seen.per_instance.values())
    assert duplicates <= allowed_duplicates
    assert max(seen.per_user_day.values()) <= 1 + allowed_duplicates  # one digest a day
    in_app = [i["instance_id"] for params in bell for i in params["items"]]
    assert sorted(in_app) == sorted(instances)  # the bell: each once, never doubled
    assert left == 0


@pytest.mark.skipif(POSTGRES_URL is None,
                    reason="needs PostgreSQL: set INNOFLOW_TEST_POSTGRES_URL")
def test_scheduler__four_processes_on_postgresql_send_every_reminder_once(tmp_path):
    db = fresh_postgres()
    seeded(db, REMINDERS, USERS)
    record = tmp_path / "sent.jsonl"
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    workers = [ctx.Process(target=load.work, args=(POSTGRES_URL, str(record)),
                           kwargs={"barrier": barrier}) for _ in range(WORKERS)]
    for p in workers:
        p.start()
    for p in workers:
        p.join()
    assert [p.exitcode for p in workers] == [0] * WORKERS
    assert len({line["pid"] for line in load.read_record(record)}) > 1  # they shared it
    assert_each_reminder_once(db, record, REMINDERS)
    db.dispose()


def test_scheduler__four_threads_on_sqlite_send_every_reminder_once(tmp_path):
    url = f"sqlite:///{tmp_path}/load.db"
    db = Database(url)
    db.create_all()
    seeded(db, REMINDERS, USERS)
    record = tmp_path / "sent.jsonl"
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def run() -> None:
        try:
            load.work(url, str(record), barrier=barrier)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert_each_reminder_once(db, record, REMINDERS)
    db.dispose()


@pytest.mark.parametrize("kill_at", ["copy_claimed", "copy_sent", "rung_claimed"])
def test_scheduler__killed_worker_work_is_done_after_lease_expires(database, tmp_path, kill_at):
    """A worker killed (SIGKILL) after claiming, or after sending before marking sent."""
    url = database.url if database.url.startswith("sqlite") else POSTGRES_URL
    reminders, users = 40, 20
    seeded(database, reminders, users)
    record = tmp_path / "sent.jsonl"
    ctx = multiprocessing.get_context("spawn")
    lease = 300.0
    killed = 0
    for _ in range(2):
        victim = ctx.Process(target=load.work, args=(url, str(record)),
                             kwargs={"kill_at": kill_at, "lease_seconds": lease})
        victim.start()
        victim.join()
        assert victim.exitcode == -9
        killed += 1
    survivor = list(load.MOMENTS)
    load.work(url, str(record), moments=survivor[:2], lease_seconds=lease)
    during = load.tally(record)
    with database.read() as conn:
        leased = conn.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.lease_owner.is_not(None))).scalar_one() + conn.execute(
            select(func.count()).select_from(EFFECTS).where(
                EFFECTS.c.lease_owner.is_not(None))).scalar_one()
    assert leased > 0  # the victims' claims still stand, nobody else touched them
    assert len(during.per_instance) < reminders  # what the victims hold waits for the lease
    after_lease = [m + timedelta(seconds=lease) for m in survivor[1:]]
    load.work(url, str(record), moments=after_lease, lease_seconds=lease)
    assert_each_reminder_once(database, record, reminders, allowed_duplicates=killed)
    duplicates = sum(n - 1 for n in load.tally(record).per_instance.values())
    if kill_at != "copy_sent":
        assert duplicates == 0  # killed before sending: nothing is sent twice
