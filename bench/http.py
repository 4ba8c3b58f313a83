"""HTTP benchmark: approvals per second and p50/p99 latency through the JSON API with 1, 8
and 32 concurrent clients, against GET /healthz of the same app as the floor.

    python bench/http.py                                   # SQLite, one gunicorn worker
    python bench/http.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/DB --workers 4
    python bench/http.py --quick                           # a smoke run

The server is gunicorn (gthread) in a child process; the clients are threads here, each
with its own keep-alive connection. Every approval moves one suggestion from department
review to expert review (``approve`` with ``expected_version``), so none is repeated.
Before the first level, both requests are warmed alike with 32 clients (not counted).
Results are appended to bench/RESULTS.md under their own heading.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This file is named like the standard library's ``http``: keep its folder off the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import argparse  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import queue  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from typing import Any  # noqa: E402

RESULTS = ROOT / "bench" / "RESULTS.md"
HEADING = "## HTTP: JSON API approvals against /healthz (bench/http.py)"
CLIENTS = (1, 8, 32)
APPROVER = "head_smelting"


def log(message: str) -> None:
    print(message, flush=True)


# ------------------------------------------------------------------ server side

def build_app() -> Any:
    """The app of one gunicorn worker, on the prepared database (no migration, no scheduler)."""
    from web.app import create_app
    from workflow import Database, Engine

    engine = Engine(Database(os.environ["INNOFLOW_BENCH_URL"]))
    engine.load_definitions()
    return create_app({"SCHEDULER": False, "SECRET_KEY": "bench"}, engine=engine)


def serve(port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"127.0.0.1:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", threads)
            self.cfg.set("keepalive", 30)
            self.cfg.set("loglevel", "warning")
            self.cfg.set("accesslog", None)

        def load(self) -> Any:
            return build_app()

    Server().run()


def prepare(url: str, instances: int) -> tuple[str, list[tuple[int, int]]]:
    """A fresh schema with the demo organisation and ``instances`` suggestions to approve."""
    from sqlalchemy import text

    from workflow import Database, Engine, demo, org
    from workflow.models import Base

    db = Database(url)
    if db.is_sqlite:
        db.create_all()
    else:
        Base.metadata.drop_all(db.writer)
        Base.metadata.create_all(db.writer)
    now = datetime.now(UTC)
    with db.write() as conn:
        demo.load(conn, now=now, password=None)
    engine = Engine(db)
    engine.load_definitions()
    with db.read() as conn:
        proposer = org.actor_by_username(conn, "demo_proposer")
    definition = engine.catalog.newest("suggestion").definition
    data = dict(definition.start_schema["examples"][0])
    todo = []
    for _ in range(instances):
        view = engine.start("suggestion", actor=proposer, data=data)
        view = engine.act(view.id, "submit", actor=proposer)
        todo.append((view.id, view.version))
    with db.write() as conn:
        token = org.issue_token(conn, username=APPROVER, now=now)
        if not db.is_sqlite:
            conn.execute(text("ANALYZE"))
    db.dispose()
    return token, todo


# ------------------------------------------------------------------ client side

class Client:
    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None,
                headers: dict[str, str]) -> int:
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                response.read()
                return response.status
            except (TimeoutError, ConnectionError, http.client.HTTPException):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        return 0


def cpu_seconds(server_pid: int) -> dict[str, float] | None:
    """CPU time used so far (user and system) by the server's processes, the database
    server's and this benchmark's (the clients), read from /proc; None where there is none.

    Processes that have ended are not counted, so only differences over a level in which
    none ends mean anything (the server's workers and the database's sessions live on)."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    found = {"server": 0.0, "database": 0.0, "clients": 0.0}
    parents: dict[int, int] = {}
    times: dict[int, tuple[str, float]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / tick)
    for pid, (name, seconds) in times.items():
        if pid == os.getpid():
            found["clients"] += seconds
        elif pid == server_pid or parents.get(pid) == server_pid:
            found["server"] += seconds
        elif name == "postgres":
            found["database"] += seconds
    return found


def run_level(port: int, clients: int, work: queue.Queue[Any], make_request: Any,
              server_pid: int | None = None) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker() -> None:
        client = Client(port)
        mine: list[float] = []
        seen: dict[int, int] = {}
        while True:
            try:
                item = work.get_nowait()
            except queue.Empty:
                break
            method, path, body, headers = make_request(item)
            start = time.perf_counter()
            status = client.request(method, path, body, headers)
            mine.append(time.perf_counter() - start)
            seen[status] = seen.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, count in seen.items():
                statuses[status] = statuses.get(status, 0) + count

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    cpu_before = cpu_seconds(server_pid) if server_pid else None
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    cpu_after = cpu_seconds(server_pid) if server_pid else None
    cpu_ms = ({k: 1000 * (cpu_after[k] - cpu_before[k]) / max(1, len(latencies))
               for k in cpu_after} if cpu_before and cpu_after else None)
    latencies.sort()
    return {
        "cpu_ms": cpu_ms,
        "clients": clients, "requests": len(latencies), "seconds": elapsed,
        "per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "statuses": statuses,
    }


def healthz_work(count: int) -> queue.Queue[Any]:
    work: queue.Queue[Any] = queue.Queue()
    for _ in range(count):
        work.put(None)
    return work


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(url: str, workers: int, approvals: int, floor: int, threads: int = 32
            ) -> list[dict[str, Any]]:
    warm = 2 * max(CLIENTS)
    total = approvals * len(CLIENTS) + warm
    log(f"preparing {total} suggestions on {url.split('@')[-1]} …")
    token, todo = prepare(url, total)
    port = free_port()
    env = {**os.environ, "INNOFLOW_BENCH_URL": url}
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port),
                               "--workers", str(workers), "--threads", str(threads)], env=env)
    rows = []
    try:
        wait_for(port)
        auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def approve(item: tuple[int, int]) -> tuple[str, str, bytes, dict[str, str]]:
            return ("POST", f"/api/v1/instances/{item[0]}/actions",
                    json.dumps({"action": "approve", "expected_version": item[1]}).encode(),
                    auth)

        def batch(items: list[tuple[int, int]]) -> queue.Queue[Any]:
            work: queue.Queue[Any] = queue.Queue()
            for item in items:
                work.put(item)
            return work

        # Warm both paths alike at the highest concurrency, so that neither level pays for
        # a worker's first database connections or first statements: approvals open them,
        # /healthz never does. The warm-up approvals are not counted.
        warmed = run_level(port, max(CLIENTS), batch(todo[:warm]), approve)
        if set(warmed["statuses"]) != {200}:
            raise RuntimeError(f"warm-up approvals answered {warmed['statuses']}")
        todo = todo[warm:]
        run_level(port, max(CLIENTS), healthz_work(warm * 4),
                  lambda _: ("GET", "/healthz", None, {}))
        for clients in CLIENTS:
            work = batch(todo[:approvals])
            todo = todo[approvals:]
            floor_row = run_level(port, clients, healthz_work(floor),
                                  lambda _: ("GET", "/healthz", None, {}), server.pid)
            act_row = run_level(port, clients, work, approve, server.pid)
            rows.append({"clients": clients, "floor": floor_row, "approve": act_row})
            log(f"{clients:>3} clients: healthz {floor_row['per_second']:8.0f}/s "
                f"p50 {floor_row['p50_ms']:6.2f} ms p99 {floor_row['p99_ms']:6.2f} ms | "
                f"approve {act_row['per_second']:7.0f}/s p50 {act_row['p50_ms']:6.2f} ms "
                f"p99 {act_row['p99_ms']:6.2f} ms statuses {act_row['statuses']}")
            if floor_row["cpu_ms"] and act_row["cpu_ms"]:
                log(f"             CPU ms per request (server, database, clients): healthz "
                    f"{_cpu_text(floor_row['cpu_ms'])} | approve {_cpu_text(act_row['cpu_ms'])}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def _cpu_text(cpu: dict[str, float]) -> str:
    return " + ".join(f"{cpu[k]:.2f}" for k in ("server", "database", "clients")) + \
        f" = {sum(cpu.values()):.2f}"


def cpu_table(rows: list[dict[str, Any]]) -> str:
    """Where each request's CPU time went: what bounds the rate once the cores are busy."""
    if not all(r["floor"]["cpu_ms"] and r["approve"]["cpu_ms"] for r in rows):
        return ""
    lines = ["CPU time per request, ms (user + system, from /proc): the server's processes, "
             "the database server's, the clients'.", "",
             "| clients | /healthz server | database | clients | total "
             "| approval server | database | clients | total |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cells = [row["clients"]]
        for part in (row["floor"]["cpu_ms"], row["approve"]["cpu_ms"]):
            cells += [f"{part[k]:.2f}" for k in ("server", "database", "clients")]
            cells.append(f"{sum(part.values()):.2f}")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def table(title: str, rows: list[dict[str, Any]]) -> str:
    lines = [f"**{title}**", "",
             "| clients | /healthz req/s | p50 ms | p99 ms | approvals/s | p50 ms | p99 ms "
             "| approvals ÷ floor | non-200 |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        f, a = row["floor"], row["approve"]
        bad = sum(n for s, n in a["statuses"].items() if s != 200)
        lines.append(f"| {row['clients']} | {f['per_second']:.0f} | {f['p50_ms']:.2f} | "
                     f"{f['p99_ms']:.2f} | {a['per_second']:.0f} | {a['p50_ms']:.2f} | "
                     f"{a['p99_ms']:.2f} | {a['per_second'] / f['per_second']:.2f} | {bad} |")
    cpu = cpu_table(rows)
    return "\n".join(lines) + ("\n\n" + cpu if cpu else "")


def write_results(sections: list[str], command: str) -> None:
    """Append (or replace) this benchmark's own section; other sections stay as they are."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, " \
              f"Python {platform.python_version()}"
    body = "\n\n".join([
        HEADING, f"Run {stamp} on {machine}: `{command}`. Server: gunicorn gthread in a "
        "child process; clients: threads in the benchmark process on the same machine, "
        "each with a keep-alive connection. Every approval is a real `approve` through "
        "`POST /api/v1/instances/{id}/actions` with a bearer token and `expected_version`; "
        "both requests are warmed alike first (64 approvals, 256 /healthz, 32 clients, "
        "not counted).",
        *sections]) + "\n"
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Results\n"
    start = current.find(HEADING)
    if start >= 0:
        end = current.find("\n## ", start + len(HEADING))
        current = current[:start] + current[end + 1:] if end >= 0 else current[:start]
    RESULTS.write_text(current.rstrip("\n") + "\n\n" + body, encoding="utf-8")


def inbox_page(source: Path, rounds: int) -> str:
    """GET /inbox (the HTML page) and GET /api/v1/tasks on a copy of a large database."""
    import shutil

    from workflow import Database, Engine, FakeClock, org

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "inbox.db"
        log(f"copying {source} …")
        shutil.copyfile(source, copy)
        db = Database(f"sqlite:///{copy}")
        with db.read() as conn:
            newest = conn.execute(text_query("SELECT max(created_at) FROM tasks")).scalar()
            count = conn.execute(text_query("SELECT count(*) FROM instances")).scalar()
        now = datetime.fromisoformat(str(newest)).replace(tzinfo=UTC)
        engine = Engine(db, clock=FakeClock(now))
        engine.load_definitions()
        from web.app import create_app

        app = create_app({"SCHEDULER": False, "SECRET_KEY": "bench"}, engine=engine)
        lines = [f"**Inbox at {count:,} instances (SQLite, in-process test client, "
                 f"{rounds} requests each)**", "",
                 "| user | request | open tasks shown | p50 ms | p95 ms | p99 ms |",
                 "|---|---|---:|---:|---:|---:|"]
        for username in ("head_smelting", "expert_smelting_1"):
            with db.write() as conn:
                token = org.issue_token(conn, username=username, now=now)
                user_id = org.get_user(conn, username).id
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = f"{user_id}:0"
                session["login_at"] = session["seen_at"] = now.timestamp()
            for label, path, headers in (
                    ("GET /inbox (HTML)", "/inbox", {}),
                    ("GET /api/v1/tasks", "/api/v1/tasks",
                     {"Authorization": f"Bearer {token}"})):
                times = []
                shown = 0
                for n in range(rounds + 5):
                    began = time.perf_counter()
                    response = client.get(path, headers=headers)
                    body = response.get_data(as_text=True)
                    if n >= 5:
                        times.append(1000 * (time.perf_counter() - began))
                    assert response.status_code == 200, (path, response.status_code)
                    shown = body.count('class="overdue"') + body.count("<tr class=\"\">") \
                        if path == "/inbox" else len(json.loads(body))
                times.sort()
                lines.append(f"| {username} | {label} | {shown} | {statistics.median(times):.1f}"
                             f" | {times[int(len(times) * 0.95) - 1]:.1f} | "
                             f"{times[int(len(times) * 0.99) - 1]:.1f} |")
                log(lines[-1])
        db.dispose()
    return "\n".join(lines)


def text_query(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="also measure on this PostgreSQL URL")
    parser.add_argument("--workers", type=int, default=4,
                        help="gunicorn workers for PostgreSQL (SQLite uses one)")
    parser.add_argument("--threads", type=int, default=32,
                        help="gunicorn threads per worker (default 32)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--inbox-db", type=Path,
                        help="also time the inbox page on a copy of this SQLite database "
                             "(bench/data/inbox-1000000.db from bench/engine.py)")
    parser.add_argument("--skip-api", action="store_true", help="only the inbox part")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.workers, threads=args.threads)
        return
    approvals, floor = (100, 300) if args.quick else (600, 2000)
    sections = []
    if not args.skip_api:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/http-bench.db"
            rows = measure(url, 1, approvals, floor, args.threads)
            sections.append(table(f"SQLite, one gunicorn worker ({args.threads} threads)", rows))
    postgres = args.postgres or os.environ.get("INNOFLOW_BENCH_POSTGRES_URL")
    if postgres and not args.skip_api:
        rows = measure(postgres, args.workers, approvals, floor, args.threads)
        sections.append(table(f"PostgreSQL, {args.workers} gunicorn workers "
                              f"({args.threads} threads each)",
                              rows))
    if args.inbox_db:
        sections.append(inbox_page(args.inbox_db, 30 if args.quick else 200))
    if not args.no_write:
        write_results(sections, "python bench/http.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
