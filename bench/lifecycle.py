"""The suggestion lifecycle as a workload: one start and nine actions through the engine.

Steps and data follow ``definitions/suggestion.yaml`` and the demo organisation (the same
path as ``tests/test_engine__smoke.py``); the payloads are built once, so only the engine
is measured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import JSON, Column, Table, TypeDecorator, func, insert, select, text

from workflow import Actor, Database, Engine, FakeClock, demo, org
from workflow.calendar import WorkingCalendar
from workflow.models import Base, User

USERS = User.__table__

MONDAY_MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
"""The benchmark's clock stands still here (09:00 in Shanghai)."""

PROPOSER = "demo_proposer"
START_DATA: dict[str, Any] = {
    "title": "Reuse condensate from the evaporation line",
    "category": "small_renovation",
    "department": "smelting",
    "field": "smelting",
    "description": "Route the condensate back to the boiler feed instead of draining it.",
    "expected_benefit": "120000.00",
}
SCORES = {"innovation": 80, "feasibility": 85, "benefit": 75}
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("submit", PROPOSER, {}),
    ("approve", "head_smelting", {}),
    ("score", "expert_smelting_1", SCORES),
    ("score", "expert_smelting_2", SCORES),
    ("score", "expert_smelting_3", SCORES),
    ("adopt", "committee_office", {"grade": "second"}),
    ("report_completion", "head_smelting",
     {"completed_on": "2026-11-20", "summary": "Condensate line rebuilt and running."}),
    ("verify_benefit", "finance", {"verified_benefit": "98000.00"}),
    ("decide_reward", "sta_admin", {"reward_decided": "3000.00"}),
]
ACTIONS_PER_INSTANCE = 1 + len(STEPS)
"""``start`` counts as an action: ten engine calls carry one suggestion to ``closed``."""

CALL_NAMES = ["start", *(name for name, _who, _data in STEPS)]

# Distinctive first ids, so that captured statements name instances and tasks by values
# that nothing else in their parameters can equal (see raw_floor.py).
INSTANCE_ID_BASE = 7_000_000
TASK_ID_BASE = 8_000_000


@dataclass
class Workload:
    db: Database
    engine: Engine
    actors: dict[str, Actor]

    def run_instance(self, timings: list[float] | None = None,
                     after_call: Callable[[str], None] | None = None) -> int:
        """Carry one suggestion from start to closed; its id. Appends each call's seconds."""
        engine, actors = self.engine, self.actors
        began = perf_counter()
        view = engine.start("suggestion", actor=actors[PROPOSER], data=START_DATA)
        if timings is not None:
            timings.append(perf_counter() - began)
        if after_call:
            after_call("start")
        for action, who, data in STEPS:
            began = perf_counter()
            view = engine.act(view.id, action, actor=actors[who], data=data,
                              expected_version=view.version)
            if timings is not None:
                timings.append(perf_counter() - began)
            if after_call:
                after_call(action)
        if view.state != "closed":
            raise RuntimeError(f"suggestion {view.id} ended in {view.state}, not closed")
        return view.id


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def calendar() -> WorkingCalendar:
    return WorkingCalendar.from_package(range(2024, 2028))


def build(url: str) -> Workload:
    """A fresh schema with the shipped definitions and the demo organisation."""
    db = Database(url)
    Base.metadata.drop_all(db.writer)
    db.create_all()
    engine = Engine(db, clock=FakeClock(MONDAY_MORNING), calendar=calendar())
    engine.load_definitions()
    with db.write() as conn:
        demo.load(conn, now=MONDAY_MORNING, password=None)
        _pad_ids(conn, engine, db.is_sqlite)
    with db.read() as conn:
        actors = {name: org.actor_by_username(conn, name) for name, *_rest in demo.USERS}
    return Workload(db, engine, actors)


def attach(url: str) -> Workload:
    """Another engine on a schema ``build`` made (other connection options, same rows)."""
    db = Database(url)
    engine = Engine(db, clock=FakeClock(MONDAY_MORNING), calendar=calendar())
    engine.load_definitions()
    with db.read() as conn:
        actors = {name: org.actor_by_username(conn, name) for name, *_rest in demo.USERS}
    return Workload(db, engine, actors)


def _pad_ids(conn: Any, engine: Engine, is_sqlite: bool) -> None:
    """Make the next instance id INSTANCE_ID_BASE + 1 and the next task id TASK_ID_BASE + 1."""
    if not is_sqlite:
        for table, base in (("instances", INSTANCE_ID_BASE), ("tasks", TASK_ID_BASE)):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {base})"))
        return
    # SQLite hands out max(id) + 1: park one row at each base.
    refs = {"instances": INSTANCE_ID_BASE, "definitions": engine.catalog.newest("suggestion").id,
            "users": conn.execute(select(func.min(USERS.c.id))).scalar_one()}
    for table, base in (("instances", INSTANCE_ID_BASE), ("tasks", TASK_ID_BASE)):
        conn.execute(insert(Base.metadata.tables[table]).values(_filler(
            Base.metadata.tables[table], base, refs)))


def python_type(column: Column[Any]) -> type:
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    return dict if isinstance(kind, JSON) else kind.python_type


def _filler(table: Table, row_id: int, refs: dict[str, Any]) -> dict[str, Any]:
    """A row that satisfies the table's NOT NULL columns and foreign keys, whatever they are."""
    values: dict[str, Any] = {"id": row_id}
    dummies = {str: "", int: 0, bool: False, datetime: MONDAY_MORNING, dict: {}}
    for column in table.columns:
        if column.primary_key or column.nullable or column.default is not None \
                or column.server_default is not None:
            continue
        foreign = next(iter(column.foreign_keys), None)
        if foreign is not None:
            values[column.name] = refs[foreign.column.table.name]
        else:
            values[column.name] = dummies[python_type(column)]
    return values
