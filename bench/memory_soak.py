"""Memory of one process over many actions: is it flat, or does it grow per instance?

Runs in a child process of its own (``engine.py --memory-child``), so nothing else the
benchmark did sits in its heap. Every ``every`` actions it samples the resident set size
(``VmRSS``), the number of objects the garbage collector tracks and the action rate.
After each sample a short window runs under ``tracemalloc`` (which slows Python several
times, so it cannot stay on for the whole run): the bytes allocated inside the window and
still alive at its end, by source line. For a process that does not grow per instance
those are caches refilling, not a sum that climbs from one window to the next.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path
from time import perf_counter
from typing import Any

from lifecycle import ACTIONS_PER_INSTANCE, build, remove_sqlite, sqlite_url

TOP_LINES = 4


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def _where(stat: tracemalloc.Statistic) -> str:
    frame = stat.traceback[0]
    parts = Path(frame.filename).parts
    short = "/".join(parts[-3:]) if "site-packages" in parts else "/".join(parts[-2:])
    return f"{short}:{frame.lineno}"


def run(path: Path, *, actions: int, every: int, window: int) -> dict[str, Any]:
    remove_sqlite(path)
    workload = build(sqlite_url(path))
    traced = max(1, window // ACTIONS_PER_INSTANCE)
    untraced = max(1, every // ACTIONS_PER_INSTANCE - traced)
    for _ in range(20):
        workload.run_instance()
    gc.collect()
    samples: list[dict[str, Any]] = []
    done = 0
    elapsed = 0.0
    while True:
        sample: dict[str, Any] = {"actions": done, "rss_kib": rss_kib(),
                                  "gc_objects": len(gc.get_objects())}
        if done:
            sample["actions_per_s"] = round(untraced * ACTIONS_PER_INSTANCE / elapsed, 1)
        tracemalloc.start(1)
        for _ in range(traced):
            workload.run_instance()
        snapshot = tracemalloc.take_snapshot()
        tracemalloc.stop()
        stats = snapshot.statistics("lineno")
        sample["window_actions"] = traced * ACTIONS_PER_INSTANCE
        sample["window_retained_bytes"] = sum(s.size for s in stats)
        sample["window_top"] = [(_where(s), s.size, s.count) for s in stats[:TOP_LINES]]
        samples.append(sample)
        del snapshot, stats
        done += traced * ACTIONS_PER_INSTANCE
        if done >= actions:
            break
        began = perf_counter()
        for _ in range(untraced):
            workload.run_instance()
        elapsed = perf_counter() - began
        done += untraced * ACTIONS_PER_INSTANCE
    workload.db.dispose()
    return {"actions": done, "every": every, "window": traced * ACTIONS_PER_INSTANCE,
            "samples": samples}
