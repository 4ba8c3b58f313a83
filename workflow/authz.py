"""Who may do what: role and scope, ownership, and segregation of duties.

A proposer (and anyone named on the item's team, as its lead or as a payee) never acts on
a step of their own item; an auditor changes nothing; a step's task is acted on only by
its assignee or, for a pooled task, by a holder of its role within its scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .actors import Actor
from .definition import Definition, Transition
from .errors import Forbidden
from .store import OPEN, TaskRow

GLOBAL_VIEWERS = frozenset(
    {"auditor", "sta_admin", "committee_office", "committee_member", "general_manager"}
)

OWNER_ROLE = "owner"
"""The role of an owner's step task (a draft, a revision): held by the item's creator."""

PARTY_LISTS = ("team", "lines")
"""Fields of the item's data listing people as ``{username: …}``: its team, its payees."""
PARTY_NAMES = ("lead", "proposer")
"""Fields of the item's data naming one person by username."""
PARTY_FIELDS = PARTY_LISTS + PARTY_NAMES
"""Every field ``parties`` reads: a list that reads only the named people of many items
(the inbox) fetches these and nothing else of their data."""


def parties(data: Mapping[str, Any]) -> frozenset[str]:
    """Usernames named on the item (besides its creator): team, lead, payees."""
    names: set[str] = set()
    for key in PARTY_LISTS:
        for member in data.get(key) or []:
            if isinstance(member, Mapping) and member.get("username"):
                names.add(str(member["username"]))
    for key in PARTY_NAMES:
        if data.get(key):
            names.add(str(data[key]))
    return frozenset(names)


def is_party(actor: Actor, created_by: int, data: Mapping[str, Any]) -> bool:
    return actor.id == created_by or actor.username in parties(data)


def may_act_on(actor: Actor, *, task_role: str, created_by: int,
               data: Mapping[str, Any]) -> bool:
    """Whether ``authorize`` lets the actor act on an open task of the item they hold:
    an owner's task its creator, any other task nobody named on the item.

    For lists of tasks (the inbox) that must offer exactly what acting allows.
    """
    if actor.is_system or actor.read_only:
        return False
    if task_role == OWNER_ROLE:
        return actor.id == created_by
    return not is_party(actor, created_by, data)


def holds_task(actor: Actor, task: TaskRow) -> bool:
    if task.status != OPEN:
        return False
    if task.assignee_id is not None:
        return task.assignee_id == actor.id
    return actor.holds(task.role, task.scope)


def authorize(transition: Transition, actor: Actor, *, created_by: int,
              data: Mapping[str, Any], tasks: Iterable[TaskRow]) -> TaskRow | None:
    """The task the actor acts on (None for actions without one); Forbidden otherwise."""
    task, refused = _decide(transition, actor, created_by, data, tasks)
    if refused is not None:
        raise Forbidden(refused, action=transition.action)
    return task


def permitted(transition: Transition, actor: Actor, *, created_by: int,
              data: Mapping[str, Any], tasks: Iterable[TaskRow]) -> bool:
    """Whether :func:`authorize` would let the actor act (answered without raising, since
    the actions offered ask it of every action of the state)."""
    return _decide(transition, actor, created_by, data, tasks)[1] is None


def _decide(transition: Transition, actor: Actor, created_by: int, data: Mapping[str, Any],
            tasks: Iterable[TaskRow]) -> tuple[TaskRow | None, str | None]:
    """The task acted on and, when the actor may not act, why not."""
    if transition.by == "system":
        return None, None if actor.is_system else "system_only"
    if actor.is_system or actor.read_only:
        return None, "read_only"
    if transition.by == "owner":
        if actor.id != created_by:
            return None, "owner_only"
        return next((t for t in tasks if t.role == OWNER_ROLE and t.status == OPEN), None), None
    if is_party(actor, created_by, data):
        return None, "own_item"
    if transition.by == "anyone":
        return None, None
    for task in tasks:
        if holds_task(actor, task):
            return task, None
    return None, "not_assigned"


def can_view(actor: Actor, definition: Definition, *, state: str, created_by: int,
             data: Mapping[str, Any],
             task_roles: Iterable[tuple[str, str, int | None]]) -> bool:
    """Visible to its parties, to global viewers, to the roles its steps name (in scope),
    and to whoever had or has a task on it."""
    if actor.is_system or is_party(actor, created_by, data):
        return True
    if definition.states[state].public:
        return True
    if any(role in GLOBAL_VIEWERS for role, _ in actor.roles):
        return True
    for declared in definition.states.values():
        for assignee in declared.step.assignees if declared.step else ():
            scope = str(data.get(assignee.scope_from) or "") if assignee.scope_from \
                else assignee.scope
            if actor.holds(assignee.role, scope):
                return True
    return any(
        assignee == actor.id or (assignee is None and actor.holds(role, scope))
        for role, scope, assignee in task_roles
    )
