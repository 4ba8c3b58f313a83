"""A million suggestions' rows, cloned from instances the engine itself produced.

The engine carries one template suggestion into each state of the mix (a department,
a field and a proposer of their own, the clock moving two days per action). Their
``instances`` and ``tasks`` rows, with whatever columns the schema has today, are the
templates: each clone gets new ids, its own department, field, proposer, experts and
department head, and all its times shifted (by whole hours), so that open steps are recent
(exponential ages, mean eight days, hence some overdue) and finished instances spread over
two years.
Values are converted with SQLAlchemy's own bind processors, once per distinct value, so
the rows are exactly what the engine would have written.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle import SCORES, python_type
from sqlalchemy import Dialect, Table, select

from workflow import Actor, Database, Engine, FakeClock, demo, org
from workflow.actors import SCOPED_ROLES
from workflow.models import Base

SEED = 20261123
INSTANCES: Table = Base.metadata.tables["instances"]
TASKS: Table = Base.metadata.tables["tasks"]

TEMPLATE_DEPARTMENT = "smelting"
TEMPLATE_FIELD = "smelting"
TEMPLATE_PROPOSER = "demo_proposer"
TEMPLATE_HEAD = "head_smelting"
TEMPLATE_EXPERTS = ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"]
SCORE_ALL = "score"
"""Every expert with an open task scores, however many the step asked for."""
COMMENT = "Not in this form."

MAIN_PATH: list[tuple[str, str, dict[str, Any]]] = [
    ("submit", TEMPLATE_PROPOSER, {}),
    ("approve", TEMPLATE_HEAD, {}),
    (SCORE_ALL, "", SCORES),
    ("adopt", "committee_office", {"grade": "second"}),
    ("report_completion", TEMPLATE_HEAD,
     {"completed_on": "2026-10-20", "summary": "Condensate line rebuilt and running."}),
    ("verify_benefit", "finance", {"verified_benefit": "98000.00"}),
    ("decide_reward", "sta_admin", {"reward_decided": "3000.00"}),
]

# (name, share of instances, steps of MAIN_PATH taken, a last action off the path)
MIX: list[tuple[str, float, int, tuple[str, str] | None]] = [
    ("closed", 0.45, 7, None),
    ("rejected_by_department", 0.12, 1, ("reject", TEMPLATE_HEAD)),
    ("rejected_by_committee", 0.06, 3, ("reject", "committee_office")),
    ("withdrawn", 0.05, 0, ("withdraw", TEMPLATE_PROPOSER)),
    ("draft", 0.02, 0, None),
    ("under_department_review", 0.10, 1, None),
    ("under_expert_review", 0.04, 2, None),
    ("under_committee_review", 0.04, 3, None),
    ("under_implementation", 0.06, 4, None),
    ("under_benefit_verification", 0.03, 5, None),
    ("under_reward_decision", 0.02, 6, None),
    ("returned_for_revision", 0.01, 1, ("return_for_revision", TEMPLATE_HEAD)),
]
FINISHED = frozenset({"closed", "rejected", "withdrawn"})
SHIFT_STEP = 3600
"""Clones' times move in whole hours, so that few distinct values need converting."""


@dataclass(frozen=True)
class People:
    """Who a clone's rows name: proposers, each department's head, each field's experts."""

    proposers: list[int]
    heads: dict[str, int]
    experts: dict[str, list[int]]


@dataclass(frozen=True)
class Template:
    name: str
    open: bool
    instance: dict[str, Any]
    tasks: list[dict[str, Any]]


def make_templates(db: Database, engine: Engine, start: datetime) -> list[Template]:
    """Run the engine into every state of MIX; the rows it wrote."""
    clock = engine.clock
    assert isinstance(clock, FakeClock)
    with db.read() as conn:
        actors = {name: org.actor_by_username(conn, name) for name, *_rest in demo.USERS}
    data = {"title": "Template", "category": "small_renovation",
            "department": TEMPLATE_DEPARTMENT, "field": TEMPLATE_FIELD,
            "description": "A template for the inbox benchmark.",
            "expected_benefit": "120000.00"}
    templates = []
    for name, _share, steps, last in MIX:
        clock.set(start)
        view = engine.start("suggestion", actor=actors[TEMPLATE_PROPOSER], data=data)
        moves: list[tuple[str, str, dict[str, Any], str | None]] = [
            (action, who, payload, None) for action, who, payload in MAIN_PATH[:steps]]
        if last:
            moves.append((last[0], last[1], {}, COMMENT))
        for action, who, payload, comment in moves:
            clock.advance(days=2)
            if action != SCORE_ALL:
                view = _act(engine, view, action, actors[who], payload, comment)
                continue
            experts = iter(TEMPLATE_EXPERTS)
            while view.state == "under_expert_review":
                view = _act(engine, view, action, actors[next(experts)], payload, comment)
        with db.read() as conn:
            instance = dict(conn.execute(select(INSTANCES).where(INSTANCES.c.id == view.id))
                            .mappings().one())
            tasks = [dict(r) for r in conn.execute(
                select(TASKS).where(TASKS.c.instance_id == view.id).order_by(TASKS.c.id))
                .mappings()]
        templates.append(Template(name, view.state not in FINISHED, instance, tasks))
    return templates


def _act(engine: Engine, view: Any, action: str, actor: Actor, data: dict[str, Any],
         comment: str | None) -> Any:
    return engine.act(view.id, action, actor=actor, data=data, comment=comment,
                      expected_version=view.version)


def template_people(db: Database) -> dict[int, tuple[str, int]]:
    """The template's user ids: what each stands for (proposer, head, expert n)."""
    with db.read() as conn:
        ids = {name: org.actor_by_username(conn, name).id
               for name in [TEMPLATE_PROPOSER, TEMPLATE_HEAD, *TEMPLATE_EXPERTS]}
    found = {ids[TEMPLATE_PROPOSER]: ("proposer", 0), ids[TEMPLATE_HEAD]: ("head", 0)}
    for n, name in enumerate(TEMPLATE_EXPERTS):
        found[ids[name]] = ("expert", n)
    return found


class _Times:
    """One column's shifted times (whole seconds since the epoch), converted once each."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        self.convert = convert
        self.cache: dict[int, Any] = {}

    def shifted(self, seconds: int) -> Any:
        value = self.cache.get(seconds)
        if value is None:
            value = self.cache[seconds] = self.convert(datetime.fromtimestamp(seconds, UTC))
        return value


class _Recipe:
    """One template row: its converted constants and the columns each clone changes."""

    def __init__(self, table: Table, row: dict[str, Any], converters: dict[str, Any],
                 times: dict[str, _Times], people: dict[int, tuple[str, int]]) -> None:
        self.template_id = row["id"]
        self.base: list[Any] = []
        self.changes: list[tuple[int, str, Any]] = []
        for index, column in enumerate(table.columns):
            value = row[column.name]
            kind = _kind(table, column.name, value, people, row)
            convert = converters[column.name]
            self.base.append(None if kind or value is None else convert(value))
            if kind == "time":
                self.changes.append((index, kind, (int(value.timestamp()), times[column.name])))
            elif kind:
                self.changes.append((index, kind, value))


def _same(value: Any) -> Any:
    return value


def _processor(column: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """What SQLAlchemy does to a value of this column before the driver sees it."""
    return column.type.dialect_impl(dialect).bind_processor(dialect) or _same


def _kind(table: Table, name: str, value: Any, people: dict[int, tuple[str, int]],
          row: dict[str, Any]) -> str:
    if value is None:
        return ""
    column = table.columns[name]
    if name == "id":
        return "id"
    if table is TASKS and name == "instance_id":
        return "instance"
    if table is INSTANCES and name in ("data", "title"):
        return name
    if name == "scope" and row.get("role") in SCOPED_ROLES:
        return SCOPED_ROLES[row["role"]]
    if name == "waiting_for":
        return "task"
    if any(fk.column.table.name == "users" for fk in column.foreign_keys) and value in people:
        return "user"
    if python_type(column) is datetime:
        return "time"
    return ""


class Cloner:
    def __init__(self, templates: list[Template], dialect: Dialect,
                 people: dict[int, tuple[str, int]]) -> None:
        self.templates = templates
        self.people = people
        converters = {table.name: {c.name: _processor(c, dialect)
                                   for c in table.columns} for table in (INSTANCES, TASKS)}
        times = {name: {c: _Times(f) for c, f in columns.items()}
                 for name, columns in converters.items()}
        self.cast_data = converters["instances"]["data"]
        self.recipes = [
            (_Recipe(INSTANCES, t.instance, converters["instances"], times["instances"], people),
             [_Recipe(TASKS, r, converters["tasks"], times["tasks"], people) for r in t.tasks])
            for t in templates]

    def rows(self, instances: int, who: People, now: datetime, departments: list[str],
             fields: list[str], batch: int, *, first_instance: int = 0, first_task: int = 0
             ) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        """Batches of (instance rows, task rows) in table column order; the same for every
        database, given the same arguments."""
        rng = random.Random(SEED)
        weights = [share for _n, share, _s, _l in MIX]
        indexes = list(range(len(self.templates)))
        last_task = first_task
        instance_rows: list[tuple[Any, ...]] = []
        task_rows: list[tuple[Any, ...]] = []
        for instance_id in range(first_instance + 1, first_instance + instances + 1):
            n = rng.choices(indexes, weights)[0]
            template = self.templates[n]
            instance_recipe, task_recipes = self.recipes[n]
            department, field = rng.choice(departments), rng.choice(fields)
            if template.open:
                target = now - timedelta(days=min(rng.expovariate(1 / 8), 365))
                anchor = template.instance["state_entered_at"]
            else:
                target = now - timedelta(days=rng.uniform(30, 730))
                anchor = template.instance["created_at"]
            seconds = int((target - anchor).total_seconds())
            delta = seconds - seconds % SHIFT_STEP
            clone = _Clone(self, who, instance_id, department, field,
                           rng.choice(who.proposers), delta)
            task_ids = {recipe.template_id: last_task + 1 + k
                        for k, recipe in enumerate(task_recipes)}
            instance_rows.append(clone.row(instance_recipe, instance_id, task_ids))
            for recipe in task_recipes:
                task_rows.append(clone.row(recipe, task_ids[recipe.template_id], task_ids))
            last_task += len(task_recipes)
            if len(instance_rows) >= batch:
                yield instance_rows, task_rows
                instance_rows, task_rows = [], []
        if instance_rows:
            yield instance_rows, task_rows


class _Clone:
    def __init__(self, cloner: Cloner, who: People, instance_id: int, department: str,
                 field: str, proposer: int, delta: int) -> None:
        self.cloner, self.who = cloner, who
        self.instance_id, self.department, self.field = instance_id, department, field
        self.proposer, self.delta = proposer, delta

    def row(self, recipe: _Recipe, row_id: int, task_ids: dict[int, int]) -> tuple[Any, ...]:
        values = list(recipe.base)
        for index, kind, arg in recipe.changes:
            if kind == "time":
                moment, times = arg
                values[index] = times.shifted(moment + self.delta)
            elif kind == "id":
                values[index] = row_id
            elif kind == "instance":
                values[index] = self.instance_id
            elif kind == "department":
                values[index] = self.department
            elif kind == "field":
                values[index] = self.field
            elif kind == "user":
                values[index] = self._user(arg)
            elif kind == "task":
                values[index] = task_ids.get(arg, arg)
            elif kind == "title":
                values[index] = f"Suggestion {self.instance_id}"
            elif kind == "data":
                values[index] = self.cloner.cast_data({
                    **arg, "title": f"Suggestion {self.instance_id}",
                    "department": self.department, "field": self.field})
        return tuple(values)

    def _user(self, template_id: int) -> int:
        role, n = self.cloner.people[template_id]
        if role == "proposer":
            return self.proposer
        if role == "head":
            return self.who.heads[self.department]
        return self.who.experts[self.field][n]
