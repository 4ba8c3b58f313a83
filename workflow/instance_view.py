"""The instance as one reader sees it: data, open tasks, the actions offered, the chain.

Built at the end of every action (from the tasks the action already knows) and for every
read; who may see an instance at all is decided here too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Connection

from . import authz, delegation, habits, returns, store
from .actors import Actor
from .catalog import Entry
from .context import ActionContext
from .errors import NotFound
from .store import OPEN, WAITING, TaskRow
from .views import ActionView, ChainLink, InstanceView, task_view


def check_visible(conn: Connection, row: Any, entry: Entry, actor: Actor) -> None:
    """Raise NotFound unless ``actor`` may see the instance (as for one that does not exist)."""
    if authz.can_view(actor, entry.definition, state=row.state, created_by=row.created_by,
                      data=row.data, task_roles=store.task_roles(conn, row.id)):
        return
    if habits.is_observer(conn, row.id, actor.id):
        return
    tasks = store.step_tasks(conn, row.id, row.state_visit)
    if delegation.delegated_task(conn, actor, row, tasks) is not None:
        return
    raise NotFound("instance_not_found", id=row.id)


def build(conn: Connection, row: Any, entry: Entry, actor: Actor | None, *, now: datetime,
          usernames: Callable[[Connection, Sequence[int | None]], Mapping[int, str]],
          detail: bool = True, tasks: Sequence[TaskRow] | None = None) -> InstanceView:
    """The instance as ``actor`` sees it; ``tasks``, when the caller knows the step's
    tasks as they now stand, saves reading them back."""
    definition = entry.definition
    state = definition.states[row.state]
    actions: list[ActionView] = []
    links: dict[str, list[int]] = {}
    chain: tuple[ChainLink, ...] = ()
    if detail:
        if tasks is None:
            tasks = store.step_tasks(conn, row.id, row.state_visit)
        tasks = [t for t in tasks if t.status in (OPEN, WAITING)]
        if actor is not None:
            actions = offered_actions(conn, row, entry, tasks, actor, now)
        if row.get("linked", True):
            links = store.links_of(conn, row.id)
        if links:
            chain = tuple(ChainLink(*c) for c in store.chain_of(conn, row.id))
    else:
        tasks = []
    names = usernames(conn, [row.created_by, *(t.assignee_id for t in tasks)])
    return InstanceView(
        id=row.id,
        workflow=row.workflow,
        definition_version=entry.version,
        state=row.state,
        state_label=state.label,
        version=row.version,
        title=row.title,
        data=row.data,
        created_by=names.get(row.created_by, ""),
        created_at=row.created_at,
        updated_at=row.updated_at,
        tasks=tuple(task_view(t, row.workflow, names, now, instance_id=row.id)
                    for t in tasks),
        actions=tuple(actions),
        links=links,
        chain=chain,
        final=state.final,
    )


def offered_actions(conn: Connection, row: Any, entry: Entry, tasks: Sequence[TaskRow],
                    actor: Actor, now: datetime) -> list[ActionView]:
    """The actions ``actor`` may take now: declared ones whose guards hold, then habits."""
    definition = entry.definition
    found = []
    holding: tuple[TaskRow | None, Actor | None] | None = None
    machine = entry.machine
    ctx = ActionContext(workflow=definition.name, instance_id=row.id, state=row.state,
                        action="", actor=actor, now=now, data=dict(row.data),
                        action_data={}, returned_from=row.returned_from,
                        first_approved=row.first_approved_at is not None)
    for name in definition.actions_from(row.state):
        candidates = definition.transitions_for(row.state, name)
        spec = candidates[0]
        if spec.by == "system" or not machine.may(row.state, name, ctx):
            continue
        principal: Actor | None = None  # the one the actor would stand in for
        if not authz.permitted(spec, actor, created_by=row.created_by, data=row.data,
                               tasks=tasks):
            if spec.by != "step":
                continue
            holding = holding or delegation.holding(conn, actor, row, tasks)
            if holding[0] is None:
                continue
            principal = holding[1]
        if spec.not_by_actors_of:
            earlier = store.prior_actors(conn, row.id, spec.not_by_actors_of)
            if actor.username in earlier or (principal and principal.username in earlier):
                continue  # as acting refuses it (segregation of duties)
        found.append(ActionView(name, spec.label, spec.outcome, spec.requires_comment,
                                definition.memo(("action_schema", row.state, name),
                                                partial(returns.action_schema, candidates))))
    step = definition.states[row.state].step
    if step is not None and step.mode != "owner" and not actor.is_system:
        holding = holding or delegation.holding(conn, actor, row, tasks)
        for name in habits.HABITS_ORDER:
            if name in step.allow and habits.available(
                name, step, actor, created_by=row.created_by, data=row.data,
                tasks=list(tasks), holding=holding[0]
            ):
                found.append(ActionView(name, habits.LABELS[name], "other",
                                        name in habits.REQUIRES_COMMENT,
                                        habits.SCHEMAS[name]))
    return found
