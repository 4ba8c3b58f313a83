"""The engine benchmark: speed against the raw driver and SpiffWorkflow, queries at a
million instances, memory over 100,000 actions. One command runs all of it:

    python bench/engine.py --quick        # a smoke run, about a minute
    python bench/engine.py                # the full run
    python bench/engine.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB

PostgreSQL runs when a URL is given (``--postgres`` or ``INNOFLOW_BENCH_POSTGRES_URL``);
the benchmark works in schemas of its own there (``bench_actions``, ``bench_inbox_N``).
``--profile`` prints where the time of ``Engine.start``/``Engine.act`` goes instead.
Generated data lives in ``bench/data/`` (not in git) and is reused between runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Run as a script, bench/ comes first on the path, where a sibling named like a standard
# module (another benchmark's http.py) would hide it: keep bench/, but search it last.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.append(str(HERE))

import argparse  # noqa: E402
import cProfile  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable  # noqa: E402
from time import perf_counter  # noqa: E402
from typing import Any  # noqa: E402

import inbox_scale  # noqa: E402
import memory_soak  # noqa: E402
import report  # noqa: E402
from lifecycle import (  # noqa: E402
    ACTIONS_PER_INSTANCE,
    CALL_NAMES,
    Workload,
    attach,
    build,
    remove_sqlite,
    sqlite_url,
)
from raw_floor import (  # noqa: E402
    Plan,
    Replay,
    capture,
    inserted_ids,
    postgres_connection,
    sqlite_connection,
)
from spiff_peer import SpiffPeer  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from workflow import checkpoints  # noqa: E402

DATA = HERE / "data"
ACTIONS_SCHEMA = "bench_actions"

FULL = {"engine_sqlite": 300, "engine_postgres": 200, "raw_sqlite": 2000, "raw_postgres": 600,
        "spiff": 300, "diagnostic": 99, "rounds": 3, "warmup": 10, "scale": 1_000_000,
        "calls": 200, "memory_actions": 100_000, "memory_every": 10_000, "memory_window": 300}
QUICK = {"engine_sqlite": 20, "engine_postgres": 20, "raw_sqlite": 200, "raw_postgres": 50,
         "spiff": 20, "diagnostic": 10, "rounds": 1, "warmup": 3, "scale": 10_000,
         "calls": 100, "memory_actions": 3_000, "memory_every": 1_000, "memory_window": 100}


def log(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ throughput


class Runner:
    """One workload measured over several rounds, interleaved with the others."""

    def __init__(self, label: str, backend: str, run_instance: Callable[..., Any],
                 instances: int) -> None:
        self.label, self.backend = label, backend
        self.run_instance = run_instance
        self.instances = instances
        self.seconds = 0.0
        self.done = 0
        self.timings: list[float] = []

    def warm(self, instances: int) -> None:
        for _ in range(instances):
            self.run_instance(None)

    def round(self, rounds: int) -> None:
        count = self.instances // rounds
        began = perf_counter()
        for _ in range(count):
            self.run_instance(self.timings)
        self.seconds += perf_counter() - began
        self.done += count

    def result(self) -> dict[str, Any]:
        per_call: dict[str, list[float]] = {name: [] for name in CALL_NAMES}
        for n, seconds in enumerate(self.timings):
            per_call[CALL_NAMES[n % ACTIONS_PER_INSTANCE]].append(seconds)
        actions = self.done * ACTIONS_PER_INSTANCE
        return {
            "label": self.label, "backend": self.backend, "instances": self.done,
            "actions": actions, "seconds": round(self.seconds, 3),
            "instances_per_s": self.done / self.seconds, "actions_per_s": actions / self.seconds,
            "call_ms": inbox_scale.summary_ms(self.timings),
            "per_call_ms": {name: round(statistics.fmean(v) * 1000, 3)
                            for name, v in per_call.items()},
        }


def interleave(runners: list[Runner], sizes: dict[str, Any]) -> list[dict[str, Any]]:
    for runner in runners:
        runner.warm(sizes["warmup"])
    for _ in range(sizes["rounds"]):
        for runner in runners:
            runner.round(sizes["rounds"])
            log(f"    {runner.label}, {runner.backend}: {runner.done} instances so far")
    return [runner.result() for runner in runners]


def captured_plan(workload: Workload, backend: str, results: dict[str, Any]) -> Plan:
    # A running engine knows every username after its first few actions (they never
    # change): capture the statements of that steady state, not of a cold process.
    with workload.db.read() as conn:
        ids = list(conn.execute(text("SELECT id FROM users")).scalars())
        workload.engine._usernames(conn, ids)
    plan = Plan(capture(workload), inserted_ids(workload))
    results["statements"][backend] = plan.statements_per_call
    counts = ", ".join(f"{name} {n}" for name, n in plan.statements_per_call)
    log(f"  statements per call on {backend}: {counts}")
    name, steps = next(c for c in plan.calls if c[0] == "approve")
    results["approve_statements"][backend] = [" ".join(s.sql.split()) for s in steps]
    log(f"  the statements of one '{name}' on {backend}:")
    for step in steps:
        log(f"    {' '.join(step.sql.split())[:160]}{'  [executemany]' if step.many else ''}")
    return plan


def sqlite_actions(sizes: dict[str, Any], results: dict[str, Any]) -> None:
    log("== actions on SQLite (file, WAL)")
    path = DATA / "actions.db"
    remove_sqlite(path)
    workload = build(sqlite_url(path))
    plan = captured_plan(workload, "sqlite", results)
    replay = Replay(plan, sqlite_connection(str(path)), is_sqlite=True,
                    checkpointer=checkpoints.for_file(path))
    spiff_path = DATA / "spiff.db"
    remove_sqlite(spiff_path)
    spiff = SpiffPeer(spiff_path)
    runs = interleave([
        Runner("innoflow engine", "sqlite", workload.run_instance, sizes["engine_sqlite"]),
        Runner("raw floor (sqlite3)", "sqlite", replay.run_instance, sizes["raw_sqlite"]),
        Runner("SpiffWorkflow 3.2.0", "sqlite", spiff.run_instance, sizes["spiff"]),
    ], sizes)
    results["spiff_state_bytes"] = spiff.state_bytes
    spiff.close()
    replay.connection.close()
    workload.db.dispose()
    results["throughput"] += runs


def postgres_urls(base: str, schema: str, *settings: str) -> tuple[str, str]:
    """The SQLAlchemy URL and the psycopg conninfo of ``base`` with ``schema`` first (and
    more ``name=value`` session settings)."""
    options = " ".join(f"-c{setting}" for setting in (f"search_path={schema}", *settings))
    url = make_url(base).update_query_dict({"options": options})
    return url.render_as_string(hide_password=False), admin_conninfo(base, options=options)


def admin_conninfo(base: str, **extra: str) -> str:
    """A libpq key=value conninfo (a URI would not decode ``+`` in options as a space)."""
    from psycopg.conninfo import make_conninfo

    url = make_url(base)
    parts = {"host": url.host, "port": url.port, "user": url.username,
             "password": url.password, "dbname": url.database, **url.query, **extra}
    return make_conninfo("", **{k: v for k, v in parts.items() if v is not None})


def postgres_actions(base: str, sizes: dict[str, Any], results: dict[str, Any]) -> None:
    import psycopg

    log("== actions on PostgreSQL")
    with psycopg.connect(admin_conninfo(base), autocommit=True) as admin:
        admin.execute(f"DROP SCHEMA IF EXISTS {ACTIONS_SCHEMA} CASCADE")
        admin.execute(f"CREATE SCHEMA {ACTIONS_SCHEMA}")
    url, conninfo = postgres_urls(base, ACTIONS_SCHEMA)
    workload = build(url)
    plan = captured_plan(workload, "postgresql", results)
    replay = Replay(plan, postgres_connection(conninfo), is_sqlite=False)
    pool = workload.db.writer.pool

    def pre_ping(on: bool) -> Callable[..., Any]:
        """The engine's run, with the pool's pre-ping (a round trip per checkout) on or off."""
        def run(timings: list[float] | None) -> Any:
            pool._pre_ping = on  # type: ignore[attr-defined]
            return workload.run_instance(timings)
        return run

    # Diagnostics: without the commit's wait for the disk, what the database work costs.
    no_sync_url, no_sync_conninfo = postgres_urls(base, ACTIONS_SCHEMA, "synchronous_commit=off")
    no_sync = attach(no_sync_url)
    no_sync_replay = Replay(plan, postgres_connection(no_sync_conninfo), is_sqlite=False)
    runs = interleave([
        Runner("innoflow engine", "postgresql", pre_ping(True), sizes["engine_postgres"]),
        Runner("raw floor (psycopg 3)", "postgresql", replay.run_instance,
               sizes["raw_postgres"]),
        Runner("diagnostic: engine without pool pre-ping", "postgresql", pre_ping(False),
               sizes["diagnostic"]),
        Runner("diagnostic: engine, synchronous_commit=off", "postgresql",
               no_sync.run_instance, sizes["diagnostic"]),
        Runner("diagnostic: raw floor, synchronous_commit=off", "postgresql",
               no_sync_replay.run_instance, sizes["diagnostic"] * 3),
    ], sizes)
    no_sync_replay.connection.close()
    no_sync.db.dispose()
    replay.connection.close()
    workload.db.dispose()
    results["throughput"] += runs


# ------------------------------------------------------------------ queries


def sqlite_queries(sizes: dict[str, Any], results: dict[str, Any]) -> None:
    count = sizes["scale"]
    log(f"== inbox and overdue on SQLite at {count:,} instances")
    path = DATA / f"inbox-{count}.db"
    load = inbox_scale.ensure_sqlite(path, count)
    log(f"  data: {load}")
    driver = sqlite_connection(str(path))
    timings, walk = inbox_scale.time_queries(sqlite_url(path), calls=sizes["calls"],
                                             driver=driver)
    driver.close()
    results["scale_load"]["sqlite"] = vars(load)
    record_queries(results, "sqlite", timings, walk)


def postgres_queries(base: str, sizes: dict[str, Any], results: dict[str, Any]) -> None:
    count = sizes["scale"]
    log(f"== inbox and overdue on PostgreSQL at {count:,} instances")
    schema = f"bench_inbox_{count}"
    url, conninfo = postgres_urls(base, schema)
    load = inbox_scale.ensure_postgres(url, admin_conninfo(base), schema, conninfo, count)
    log(f"  data: {load}")
    driver = postgres_connection(conninfo)
    timings, walk = inbox_scale.time_queries(url, calls=sizes["calls"], driver=driver)
    driver.close()
    results["scale_load"]["postgresql"] = vars(load)
    record_queries(results, "postgresql", timings, walk)


def record_queries(results: dict[str, Any], backend: str,
                   timings: list[inbox_scale.QueryTiming], walk: inbox_scale.OverdueWalk
                   ) -> None:
    results["queries"] += [{"backend": backend, **vars(t)} for t in timings]
    results["overdue_walk"][backend] = {"tasks": walk.tasks, "pages": walk.pages,
                                        "seconds": walk.seconds}
    for t in timings:
        log(f"  {t}")
    log(f"  whole overdue walk: {walk.tasks:,} tasks in {walk.pages:,} pages of "
        f"{inbox_scale.OVERDUE_PAGE}, {walk.seconds[0]} s, again {walk.seconds[1]} s")


# ------------------------------------------------------------------ memory


def memory(sizes: dict[str, Any], results: dict[str, Any]) -> None:
    log(f"== memory over {sizes['memory_actions']:,} actions (child process, SQLite)")
    command = [sys.executable, __file__, "--memory-child",
               json.dumps({k: sizes[k] for k in ("memory_actions", "memory_every",
                                                  "memory_window")})]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"memory child failed: {done.stderr[-3000:]}")
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    results["memory"] = outcome
    for sample in outcome["samples"]:
        log(f"  {sample['actions']:>7} actions: RSS {sample['rss_kib'] / 1024:.1f} MiB, "
            f"{sample['gc_objects']} gc objects, {sample.get('actions_per_s', '-')} actions/s")


def memory_child(spec: str) -> None:
    sizes = json.loads(spec)
    outcome = memory_soak.run(DATA / "memory.db", actions=sizes["memory_actions"],
                              every=sizes["memory_every"], window=sizes["memory_window"])
    print(json.dumps(outcome))


# ------------------------------------------------------------------ profile


def profile(instances: int, base: str | None) -> None:
    targets = [("sqlite", None)] + ([("postgresql", base)] if base else [])
    for backend, url in targets:
        if url is None:
            path = DATA / "profile.db"
            remove_sqlite(path)
            workload = build(sqlite_url(path))
        else:
            import psycopg

            with psycopg.connect(admin_conninfo(url), autocommit=True) as admin:
                admin.execute(f"DROP SCHEMA IF EXISTS {ACTIONS_SCHEMA} CASCADE")
                admin.execute(f"CREATE SCHEMA {ACTIONS_SCHEMA}")
            workload = build(postgres_urls(url, ACTIONS_SCHEMA)[0])
        for _ in range(10):
            workload.run_instance()
        profiler = cProfile.Profile(time.process_time)  # CPU time: other processes share the box
        profiler.enable()
        for _ in range(instances):
            workload.run_instance()
        profiler.disable()
        log(f"== profile (CPU time) of {instances * ACTIONS_PER_INSTANCE} engine calls on "
            f"{backend}")
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(r"workflow/", 30)
        workload.db.dispose()


# ------------------------------------------------------------------ main


def targets(results: dict[str, Any]) -> list[str]:
    runs = {(r["label"], r["backend"]): r["actions_per_s"] for r in results["throughput"]}
    lines = []
    engine = runs.get(("innoflow engine", "sqlite"))
    spiff = runs.get(("SpiffWorkflow 3.2.0", "sqlite"))
    if engine and spiff:
        ratio = engine / spiff
        lines.append(f"engine / SpiffWorkflow on SQLite: {ratio:.2f}x "
                     f"(target at least 5x: {'met' if ratio >= 5 else 'NOT met'})")
    for backend, raw_label in (("sqlite", "raw floor (sqlite3)"),
                               ("postgresql", "raw floor (psycopg 3)")):
        engine, raw = runs.get(("innoflow engine", backend)), runs.get((raw_label, backend))
        if engine and raw:
            ratio = engine / raw
            lines.append(f"engine / raw floor on {backend}: {ratio:.3f} "
                         f"(target at least 0.5: {'met' if ratio >= 0.5 else 'NOT met'})")
    for q in results["queries"]:
        if q["backend"] == "sqlite":
            ok = q["engine_ms"]["p50"] < 2 and q["engine_ms"]["p95"] < 2
            lines.append(f"{q['name']} on SQLite: p50 {q['engine_ms']['p50']} ms, p95 "
                         f"{q['engine_ms']['p95']} ms (target under 2 ms: "
                         f"{'met' if ok else 'NOT met'}; CPU time p50 "
                         f"{q['engine_cpu_ms']['p50']} ms, p95 {q['engine_cpu_ms']['p95']} ms)")
    return lines


def summary(results: dict[str, Any]) -> str:
    parts = []
    if results["throughput"]:
        parts += ["### Actions", report.throughput_table(results["throughput"]), "",
                  "### Mean time per call", report.per_call_table(results["throughput"]), ""]
    if results["queries"]:
        parts += ["### Queries", report.query_table(results["queries"]), ""]
        parts += [f"Whole overdue walk on {backend}: {w['tasks']:,} tasks in {w['pages']:,} "
                  f"pages, {w['seconds'][0]} s, again {w['seconds'][1]} s"
                  for backend, w in results["overdue_walk"].items()]
        parts += [""]
    if results.get("memory"):
        parts += ["### Memory", report.memory_table(results["memory"]["samples"]), ""]
    parts += ["### Targets", *(f"- {line}" for line in targets(results))]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of about a minute")
    parser.add_argument("--postgres", default=os.environ.get("INNOFLOW_BENCH_POSTGRES_URL"),
                        help="SQLAlchemy URL of a PostgreSQL database to use")
    parser.add_argument("--only", action="append",
                        choices=["actions", "queries", "memory"],
                        help="run only these parts (repeatable)")
    parser.add_argument("--scale", type=int, help="instances for the query benchmark")
    parser.add_argument("--profile", type=int, metavar="INSTANCES",
                        help="profile this many lifecycles instead of benchmarking")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    DATA.mkdir(parents=True, exist_ok=True)
    if args.memory_child:
        memory_child(args.memory_child)
        return
    if args.profile:
        profile(args.profile, args.postgres)
        return
    sizes = dict(QUICK if args.quick else FULL)
    if args.scale:
        sizes["scale"] = args.scale
    parts = set(args.only or ["actions", "queries", "memory"])
    base = args.postgres
    results: dict[str, Any] = {
        "mode": "quick" if args.quick else "full", "sizes": sizes,
        "machine": report.machine(admin_conninfo(base) if base else None),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "throughput": [], "statements": {}, "approve_statements": {}, "queries": [],
        "scale_load": {}, "overdue_walk": {}, "errors": [],
    }
    log(f"machine: {results['machine']}")
    began = perf_counter()
    steps: list[tuple[str, Callable[[], None]]] = []
    if "actions" in parts:
        steps.append(("actions on SQLite", lambda: sqlite_actions(sizes, results)))
        if base:
            steps.append(("actions on PostgreSQL",
                          lambda: postgres_actions(base, sizes, results)))
    if "queries" in parts:
        steps.append(("queries on SQLite", lambda: sqlite_queries(sizes, results)))
        if base:
            steps.append(("queries on PostgreSQL",
                          lambda: postgres_queries(base, sizes, results)))
    if "memory" in parts:
        steps.append(("memory", lambda: memory(sizes, results)))
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one broken part must not cost the others' numbers
            log(traceback.format_exc())
            results["errors"].append(f"{name}: {type(exc).__name__}: {exc}")
    results["seconds"] = round(perf_counter() - began, 1)
    results["load_average_after"] = os.getloadavg()
    out = DATA / f"results-{results['mode']}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    log("")
    log(summary(results))
    log(f"\nwhole run: {results['seconds']} s; results in {out}")
    if results["errors"]:
        log("FAILED: " + "; ".join(results["errors"]))
        sys.exit(1)


if __name__ == "__main__":
    main()
