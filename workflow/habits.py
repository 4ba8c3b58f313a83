"""The built-in approval habits every step has (as its definition allows):

转交 transfer, 认领 claim / release, 加签 add_signer, 减签 remove_signer, 抄送 copy, 催办 urge.

They never move the instance; each is one audited action through ``Engine.act``, so it
bumps the version and appends an audit event like any other action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from . import assign, authz, rawsql, store
from .actors import Actor
from .definition import Definition, Step
from .errors import Forbidden, InvalidAction, ValidationFailed
from .models import Observer, table_of
from .org import actor_by_username
from .store import DONE, OPEN, WAITING, TaskRow

OBSERVERS = table_of(Observer)
USERNAME = {"type": "string", "minLength": 1, "maxLength": 60}

SCHEMAS: dict[str, dict[str, Any]] = {
    "transfer": {"type": "object", "additionalProperties": False, "required": ["to"],
                 "properties": {"to": USERNAME}},
    "claim": {"type": "object", "additionalProperties": False, "properties": {}},
    "release": {"type": "object", "additionalProperties": False, "properties": {}},
    "add_signer": {"type": "object", "additionalProperties": False,
                   "required": ["username", "position"],
                   "properties": {"username": USERNAME,
                                  "position": {"enum": ["before", "after", "parallel"]}}},
    "remove_signer": {"type": "object", "additionalProperties": False,
                      "required": ["username"], "properties": {"username": USERNAME}},
    "copy": {"type": "object", "additionalProperties": False, "required": ["to"],
             "properties": {"to": {"type": "array", "minItems": 1, "maxItems": 50,
                                   "items": USERNAME}}},
    "urge": {"type": "object", "additionalProperties": False, "properties": {}},
}
LABELS = {
    "transfer": {"en": "Transfer", "zh": "转交"},
    "claim": {"en": "Claim", "zh": "认领"},
    "release": {"en": "Release", "zh": "退回任务池"},
    "add_signer": {"en": "Add signer", "zh": "加签"},
    "remove_signer": {"en": "Remove signer", "zh": "减签"},
    "copy": {"en": "Copy to", "zh": "抄送"},
    "urge": {"en": "Urge", "zh": "催办"},
}
REQUIRES_COMMENT = frozenset({"transfer"})
HABITS_ORDER = ("claim", "release", "transfer", "add_signer", "remove_signer", "copy", "urge")


@dataclass
class Unit:
    """One habit action in progress: what it may read and what it adds to the outbox."""

    conn: Connection
    row: Any
    definition: Definition
    step: Step
    actor: Actor
    task: TaskRow | None
    """The open task the actor holds here (directly or as a substitute), if any."""
    tasks: list[TaskRow]
    now: datetime
    data: dict[str, Any]
    message: Callable[..., dict[str, Any]]
    working_day: Callable[[datetime], Any]
    outbox: list[dict[str, Any]] = field(default_factory=list)


def available(name: str, step: Step | None, actor: Actor, *, created_by: int,
              data: Any, tasks: list[TaskRow], holding: TaskRow | None) -> bool:
    """Whether ``actor`` may use habit ``name`` now (for the actions list)."""
    if step is None or step.mode == "owner" or name not in step.allow:
        return False
    if actor.is_system or actor.read_only:
        return False
    if name == "urge":
        return actor.id == created_by and any(t.status == OPEN for t in tasks)
    if authz.is_party(actor, created_by, data):
        return False
    if name == "claim":
        return any(t.status == OPEN and t.pooled and t.assignee_id is None
                   and actor.holds(t.role, t.scope) for t in tasks)
    if name == "release":
        return any(t.status == OPEN and t.pooled and t.assignee_id == actor.id for t in tasks)
    if name == "remove_signer":  # the adder may be waiting for the signer, holding nothing
        return any(t.kind == "added" and t.added_by == actor.id and t.status in (OPEN, WAITING)
                   for t in tasks)
    if holding is None:
        return False
    if name == "add_signer":
        return holding.kind == "step"
    if name == "transfer":
        return holding.kind == "step"
    return True


def perform(name: str, unit: Unit) -> dict[str, Any]:
    """Carry out the habit; the data recorded on its audit event."""
    if not available(name, unit.step, unit.actor, created_by=unit.row.created_by,
                     data=unit.row.data, tasks=unit.tasks, holding=unit.task):
        if unit.step is None or name not in unit.step.allow or unit.step.mode == "owner":
            raise InvalidAction("action_not_available", action=name, state=unit.row.state)
        raise Forbidden("not_permitted", action=name)
    return _HANDLERS[name](unit)


def _person(unit: Unit, username: str, field: str) -> Actor:
    try:
        person = actor_by_username(unit.conn, username)
    except Exception as exc:
        raise ValidationFailed("unknown_user", fields={field: f"unknown user {username!r}"}) \
            from exc
    if person.id == unit.actor.id:
        raise ValidationFailed("self", fields={field: "choose someone else"})
    if person.read_only or not assign.may_hold(unit.conn, unit.step, user_id=person.id,
                                               username=person.username,
                                               created_by=unit.row.created_by,
                                               data=unit.row.data):
        raise ValidationFailed("not_eligible", fields={field: f"{username} may not act on this"})
    if any(t.assignee_id == person.id and t.status in (OPEN, WAITING) for t in unit.tasks):
        raise ValidationFailed("already_holds", fields={field: f"{username} already has a task"})
    if any(t.status == DONE and person.id in (t.assignee_id, t.completed_by) for t in unit.tasks):
        # Handing a second task of the step to someone who already decided would count
        # their score or vote twice.
        raise ValidationFailed("already_decided", fields={field: f"{username} already decided"})
    return person


def _transfer(unit: Unit) -> dict[str, Any]:
    assert unit.task is not None
    person = _person(unit, unit.data["to"], "to")
    if not person.holds(unit.task.role, unit.task.scope):
        raise ValidationFailed("not_eligible", fields={
            "to": f"{person.username} does not hold {unit.task.role}"
                  + (f"@{unit.task.scope}" if unit.task.scope else "")})
    unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == unit.task.id)
                      .values(assignee_id=person.id))
    unit.outbox.append(unit.message("task_opened", recipient=person.id,
                                    params={"state": unit.row.state, "via": "transfer"}))
    return {"to": person.username, "task": unit.task.id}


def _claim(unit: Unit) -> dict[str, Any]:
    task = next(t for t in unit.tasks if t.status == OPEN and t.pooled and t.assignee_id is None
                and unit.actor.holds(t.role, t.scope))
    unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == task.id,
                                                store.TASKS.c.assignee_id.is_(None))
                      .values(assignee_id=unit.actor.id))
    return {"task": task.id}


def _release(unit: Unit) -> dict[str, Any]:
    task = next(t for t in unit.tasks if t.status == OPEN and t.pooled
                and t.assignee_id == unit.actor.id)
    unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == task.id)
                      .values(assignee_id=None))
    unit.outbox.append(unit.message("task_opened", role=task.role, scope=task.scope,
                                    params={"state": unit.row.state, "via": "release"}))
    return {"task": task.id}


def _add_signer(unit: Unit) -> dict[str, Any]:
    assert unit.task is not None
    person = _person(unit, unit.data["username"], "username")
    position = unit.data["position"]
    holder = unit.task
    values = {"instance_id": unit.row.id, "state": unit.row.state, "visit": unit.row.state_visit,
              "role": "signer", "scope": "", "assignee_id": person.id, "seq": 100 + len(
                  unit.tasks), "kind": "added", "pooled": False, "added_by": unit.actor.id,
              "created_at": unit.now, "due_at": holder.due_at}
    if position == "after":
        values.update(status=WAITING, waiting_for=holder.id)
    else:
        values.update(status=OPEN, waiting_for=None)
    (new_id,) = store.insert_tasks(unit.conn, [values])
    if position == "before":
        unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == holder.id)
                          .values(status=WAITING, waiting_for=new_id))
    if position != "after":
        unit.outbox.append(unit.message("task_opened", recipient=person.id,
                                        params={"state": unit.row.state, "via": "add_signer"}))
    return {"username": person.username, "position": position, "task": new_id}


def _remove_signer(unit: Unit) -> dict[str, Any]:
    username = unit.data["username"]
    removed = next((t for t in unit.tasks if t.kind == "added" and t.added_by == unit.actor.id
                    and t.status in (OPEN, WAITING) and _username(unit, t) == username), None)
    if removed is None:
        raise ValidationFailed("not_added", fields={
            "username": f"{username} is not a pending signer you added"})
    store.cancel_tasks(unit.conn, [removed.id], unit.now)
    for task in unit.tasks:
        if task.status == WAITING and task.waiting_for == removed.id:
            if removed.status == WAITING and removed.waiting_for is not None:
                unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == task.id)
                                  .values(waiting_for=removed.waiting_for))
            else:
                unit.conn.execute(update(store.TASKS).where(store.TASKS.c.id == task.id)
                                  .values(status=OPEN, waiting_for=None))
    return {"username": username, "task": removed.id}


def _username(unit: Unit, task: TaskRow) -> str | None:
    return store.usernames(unit.conn, [task.assignee_id or 0]).get(task.assignee_id or 0)


def _copy(unit: Unit) -> dict[str, Any]:
    names = list(dict.fromkeys(unit.data["to"]))
    ids = store.user_ids(unit.conn, names)
    unknown = [n for n in names if n not in ids]
    if unknown:
        raise ValidationFailed("unknown_user", fields={"to": f"unknown: {', '.join(unknown)}"})
    added = add_observers(unit.conn, unit.row.id, list(ids.values()), unit.actor.id, unit.now)
    for user_id in added:
        unit.outbox.append(unit.message("copied", recipient=user_id,
                                        params={"state": unit.row.state}))
    return {"to": names}


def add_observers(conn: Connection, instance_id: int, user_ids: list[int], added_by: int,
                  now: datetime) -> list[int]:
    """Copy people on the instance; the ones not copied on it before."""
    existing = {r[0] for r in rawsql.run(conn, "SELECT user_id FROM observers WHERE "
                                               "instance_id = :i", {"i": instance_id})}
    new = [u for u in dict.fromkeys(user_ids) if u not in existing]
    at = rawsql.dialect_of(conn).time(now)
    rawsql.run_many(conn, "INSERT INTO observers (instance_id, user_id, added_by, created_at) "
                          "VALUES (:i, :u, :by, :at)",
                    [{"i": instance_id, "u": u, "by": added_by, "at": at} for u in new])
    return new


def is_observer(conn: Connection, instance_id: int, user_id: int) -> bool:
    return rawsql.run(conn, "SELECT 1 FROM observers WHERE instance_id = :i AND user_id = :u",
                      {"i": instance_id, "u": user_id}).fetchone() is not None


def _urge(unit: Unit) -> dict[str, Any]:
    today = unit.working_day(unit.now)
    earlier = unit.conn.execute(
        select(store.EVENTS.c.at).where(store.EVENTS.c.instance_id == unit.row.id,
                                        store.EVENTS.c.action == "urge",
                                        store.EVENTS.c.seq > unit.row.state_visit)).scalars()
    if any(unit.working_day(at) == today for at in earlier):
        raise InvalidAction("already_urged_today", state=unit.row.state)
    for task in unit.tasks:
        if task.status != OPEN:
            continue
        if task.assignee_id is not None:
            unit.outbox.append(unit.message("urged", recipient=task.assignee_id,
                                            params={"state": unit.row.state}))
        else:
            unit.outbox.append(unit.message("urged", role=task.role, scope=task.scope,
                                            params={"state": unit.row.state}))
    return {}


_HANDLERS: dict[str, Callable[[Unit], dict[str, Any]]] = {
    "transfer": _transfer,
    "claim": _claim,
    "release": _release,
    "add_signer": _add_signer,
    "remove_signer": _remove_signer,
    "copy": _copy,
    "urge": _urge,
}
