"""Deterministic test data: the examples each definition declares, with overrides."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workflow import Actor, Engine
from workflow.views import InstanceView, TaskView


def start_data(engine: Engine, workflow: str, index: int = 0, **overrides: Any) -> dict[str, Any]:
    definition = engine.catalog.newest(workflow).definition
    data = copy.deepcopy(definition.start_schema["examples"][index])
    data.update(overrides)
    return data


def action_data(engine: Engine, workflow: str, state: str, action: str,
                **overrides: Any) -> dict[str, Any]:
    definition = engine.catalog.newest(workflow).definition
    schema = definition.transitions_for(state, action)[0].schema
    examples = schema.get("examples") or [{}]
    data = copy.deepcopy(examples[0])
    data.update(overrides)
    return data


def make_instance(engine: Engine, proposer: Actor, workflow: str, *, index: int = 0,
                  submit: bool = True, **overrides: Any) -> InstanceView:
    view = engine.start(workflow, actor=proposer, data=start_data(engine, workflow, index,
                                                                  **overrides))
    if submit:
        view = engine.act(view.id, "submit", actor=proposer)
    return view


def act(engine: Engine, view: InstanceView, action: str, who: Actor, *,
        comment: str | None = None, **data: Any) -> InstanceView:
    """Act with the example data of the action, overridden by ``data``."""
    payload = action_data(engine, view.workflow, view.state, action, **data)
    return engine.act(view.id, action, actor=who, comment=comment, data=payload,
                      expected_version=view.version)


def all_overdue(engine: Engine, *, limit: int = 100) -> list[TaskView]:
    """Every overdue task, page by page as a chasing pass walks them."""
    page = engine.overdue(limit=limit)
    found = list(page.items)
    while page.next is not None:
        page = engine.overdue(limit=limit, after=page.next)
        found += page.items
    return found


ActorGetter = Callable[[str], Actor]

EXPERTS = {"smelting": ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"],
           "it": ["expert_it_1", "expert_it_2"]}


def suggestion_to_committee(engine: Engine, actor: ActorGetter) -> InstanceView:
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    for name in EXPERTS["smelting"]:
        view = act(engine, view, "score", actor(name))
    return view


def establish(engine: Engine, actor: ActorGetter, index: int = 0, **overrides: Any
              ) -> InstanceView:
    """demo_proposer's project, taken through its reviews to ``established``."""
    view = make_instance(engine, actor("demo_proposer"), "project", index=index, **overrides)
    view = act(engine, view, "recommend", actor("head_smelting"))
    view = act(engine, view, "pass_formal_review", actor("sta_admin"))
    for name in EXPERTS["smelting"]:
        view = act(engine, view, "score", actor(name))
    assert view.state == "under_committee_approval"
    return act(engine, view, "approve", actor("committee_office"))


def make_user(engine: Engine, username: str, *roles: str, department: str = "alumina") -> Actor:
    """Add a user with the given roles (``expert@smelting`` …) and return their Actor."""
    from workflow import org

    with engine.db.write() as conn:
        org.add_user(conn, username=username, department=department, roles=roles,
                     now=engine.clock.now())
        return org.actor_by_username(conn, username)


def outbox(engine: Engine, key: str | None = None) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from workflow.store import OUTBOX

    with engine.db.read() as conn:
        stmt = select(OUTBOX).order_by(OUTBOX.c.id)
        if key:
            stmt = stmt.where(OUTBOX.c.key == key)
        return [dict(r) for r in conn.execute(stmt).mappings()]


def copy_definitions(folder: Path) -> Path:
    """A copy of the shipped definition files in ``folder`` (created if missing)."""
    from workflow.definition import default_folder, files_in

    folder.mkdir(parents=True, exist_ok=True)
    for path in files_in(default_folder()):
        shutil.copy(path, folder / path.name)
    return folder


def folder_engine(database: Any, clock: Any, calendar: Any, folder: Path) -> Engine:
    """An engine on the definitions in ``folder``, with the demo organisation loaded."""
    from workflow import demo

    engine = Engine(database, clock=clock, calendar=calendar, definitions=folder)
    engine.load_definitions()
    with database.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
    return engine


def actor_getter(engine: Engine) -> ActorGetter:
    """``get("head_smelting")`` → the Actor of a user of ``engine``'s database."""
    from workflow import org

    def get(username: str) -> Actor:
        with engine.db.read() as conn:
            return org.actor_by_username(conn, username)

    return get
