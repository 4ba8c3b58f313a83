"""Scheduler catch-up: N due reminders after downtime, done by 1 and 4 worker processes.

Each item is a task whose reminder (one working day before its deadline) is due: the
scheduler plans its ladder (three rungs), claims the due rung with a lease, writes the
reminder to the outbox, fans it out into the holder's daily digest and delivers the
digest in-app. The floor is raw psycopg claiming and marking the same number of rows
with the same statements' shape (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED LIMIT n) RETURNING``, then ``UPDATE … SET status = 'done'``), one transaction each.

    python bench/scheduler.py --items 100000 --workers 1 4

Uses INNOFLOW_BENCH_POSTGRES_URL (default: the local innoflow_sched database); the
database is emptied first.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy import func, select, text

# Run as a script, bench/ comes first on the path, where another benchmark's ``http.py``
# would hide the standard library's; the repository root replaces it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).parent.resolve()]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import scheduler_load as load  # noqa: E402
from workflow import Database, Engine, FakeClock  # noqa: E402
from workflow.models import Base  # noqa: E402
from workflow.notify.bell import NOTIFICATIONS  # noqa: E402
from workflow.reminders import EFFECTS  # noqa: E402
from workflow.store import OUTBOX  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/innoflow_sched"
FLOOR_BATCH = 500


def reset(db: Database) -> None:
    Base.metadata.create_all(db.writer)
    names = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with db.write() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def catch_up(url: str, items: int, workers: int, record: Path) -> dict[str, float]:
    db = Database(url)
    reset(db)
    engine = Engine(db, clock=FakeClock(load.OPENED_AT), calendar=load.calendar())
    engine.load_definitions()
    started = time.perf_counter()
    load.seed(engine, reminders=items, users=max(items // 10, 1))
    with db.write() as conn:
        conn.execute(text("ANALYZE"))
    seeded = time.perf_counter() - started
    record.unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=load.work, args=(url, str(record)),
                         kwargs={"barrier": barrier}) for _ in range(workers)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    if any(p.exitcode != 0 for p in procs):
        raise SystemExit(f"a worker failed: {[p.exitcode for p in procs]}")
    seen = load.tally(record)
    with db.read() as conn:
        done = conn.execute(select(func.count()).select_from(EFFECTS)
                            .where(EFFECTS.c.status == "done")).scalar_one()
        reminders = conn.execute(select(func.count()).select_from(OUTBOX)
                                 .where(OUTBOX.c.key == "reminder")).scalar_one()
        bell = sum(len(p["items"]) for p in conn.execute(
            select(NOTIFICATIONS.c.params).where(NOTIFICATIONS.c.key == "digest")).scalars())
    duplicates = sum(n - 1 for n in seen.per_instance.values())
    ok = done == items and reminders == items and bell == items and \
        len(seen.per_instance) == items and duplicates == 0
    db.dispose()
    return {"seconds": elapsed, "seed_seconds": seeded, "per_second": items / elapsed,
            "digests": seen.digests, "ok": float(ok), "duplicates": duplicates}


def _floor_worker(dsn: str, barrier: object) -> None:
    owner = f"floor:{os.getpid()}"
    with psycopg.connect(dsn) as conn:
        barrier.wait()  # type: ignore[attr-defined]
        while True:
            with conn.transaction():
                ids = [r[0] for r in conn.execute(
                    "UPDATE bench_floor SET lease_owner = %s, attempts = attempts + 1, "
                    "next_attempt_at = now() + interval '5 minutes' WHERE id IN ("
                    "SELECT id FROM bench_floor WHERE status = 'pending' "
                    "AND next_attempt_at <= now() ORDER BY next_attempt_at, id "
                    "LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING id", (owner, FLOOR_BATCH))]
            if not ids:
                return
            with conn.transaction():
                conn.execute("UPDATE bench_floor SET status = 'done', lease_owner = NULL "
                             "WHERE id = ANY(%s) AND lease_owner = %s", (ids, owner))


def floor(url: str, items: int, workers: int) -> dict[str, float]:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_floor")
        conn.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY, status text NOT NULL,"
                     " next_attempt_at timestamptz NOT NULL, lease_owner text,"
                     " attempts int NOT NULL DEFAULT 0)")
        conn.execute("CREATE INDEX ON bench_floor (next_attempt_at) WHERE status = 'pending'")
        conn.execute("INSERT INTO bench_floor (status, next_attempt_at) SELECT 'pending', "
                     "now() - interval '1 day' FROM generate_series(1, %s)", (items,))
        conn.execute("ANALYZE bench_floor")
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    procs = [ctx.Process(target=_floor_worker, args=(dsn, barrier)) for _ in range(workers)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    for p in procs:
        p.join()
    elapsed = time.perf_counter() - started
    with psycopg.connect(dsn, autocommit=True) as conn:
        done = conn.execute("SELECT count(*) FROM bench_floor WHERE status = 'done'"
                            ).fetchone()[0]  # type: ignore[index]
        conn.execute("DROP TABLE bench_floor")
    return {"seconds": elapsed, "per_second": items / elapsed, "ok": float(done == items)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--url", default=os.environ.get("INNOFLOW_BENCH_POSTGRES_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--record", type=Path,
                        default=Path(tempfile.gettempdir()) / "innoflow-scheduler-sent.jsonl")
    parser.add_argument("--skip-catch-up", action="store_true")
    args = parser.parse_args()
    for workers in args.workers:
        result = floor(args.url, args.items, workers)
        print(f"floor     items={args.items} workers={workers} seconds={result['seconds']:.2f}"
              f" per_second={result['per_second']:.0f} ok={bool(result['ok'])}", flush=True)
    if args.skip_catch_up:
        return
    for workers in args.workers:
        result = catch_up(args.url, args.items, workers, args.record)
        print(f"catch-up  items={args.items} workers={workers} seconds={result['seconds']:.2f}"
              f" per_second={result['per_second']:.0f} digests={result['digests']:.0f}"
              f" duplicates={result['duplicates']:.0f} ok={bool(result['ok'])}"
              f" (seeding {result['seed_seconds']:.1f}s not counted)", flush=True)
    args.record.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
