"""What the benchmark ran on, and its numbers as Markdown tables."""

from __future__ import annotations

import os
import platform
import sqlite3
from importlib.metadata import version
from pathlib import Path
from typing import Any


def machine(postgres_conninfo: str | None) -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "sqlalchemy": version("SQLAlchemy"),
        "psycopg": version("psycopg"),
        "spiffworkflow": version("SpiffWorkflow"),
        "transitions": version("transitions"),
        "load_average": os.getloadavg(),
    }
    if postgres_conninfo:
        import psycopg

        with psycopg.connect(postgres_conninfo) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = row[0] if row else "?"
    return info


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def throughput_table(runs: list[dict[str, Any]]) -> str:
    rows = [[r["label"], r["backend"], r["instances"], r["actions"], f"{r['seconds']:.1f}",
             f"{r['instances_per_s']:.1f}", f"{r['actions_per_s']:.0f}",
             f"{r['call_ms']['p50']:.2f}", f"{r['call_ms']['p95']:.2f}"] for r in runs]
    return table(["workload", "database", "instances", "actions", "s", "instances/s",
                  "actions/s", "p50 ms/action", "p95 ms/action"], rows)


def per_call_table(runs: list[dict[str, Any]]) -> str:
    names = list(runs[0]["per_call_ms"])
    rows = [[name, *(f"{r['per_call_ms'][name]:.2f}" for r in runs)] for name in names]
    return table(["call (mean ms)", *(f"{r['label']}, {r['backend']}" for r in runs)], rows)


def query_table(entries: list[dict[str, Any]]) -> str:
    rows = [[e["backend"], e["name"], e["rows"], e["engine_ms"]["p50"], e["engine_ms"]["p95"],
             e["driver_ms"]["p50"], e["driver_ms"]["p95"], e["statements"],
             e["engine_cpu_ms"]["p50"], e["engine_cpu_ms"]["p95"]] for e in entries]
    return table(["database", "query", "rows", "engine p50 ms", "engine p95 ms",
                  "driver p50 ms", "driver p95 ms", "statements", "engine CPU p50 ms",
                  "engine CPU p95 ms"], rows)


def memory_table(samples: list[dict[str, Any]]) -> str:
    rows = []
    for s in samples:
        top = s["window_top"][0] if s["window_top"] else ("", 0, 0)
        rows.append([s["actions"], f"{s['rss_kib'] / 1024:.1f}", s["gc_objects"],
                     s.get("actions_per_s", ""), f"{s['window_retained_bytes'] / 1024:.0f}",
                     f"{top[0]} ({top[1] / 1024:.0f} KiB)"])
    return table(["actions", "RSS MiB", "gc objects", "actions/s since last",
                  "KiB kept by next traced window", "largest line kept"], rows)
