"""Who gets a step's tasks: role holders in scope, minus the recused, N of them if asked.

Recusal by rule: the creator and everyone named on the item never get a task on it; in a
step that recuses by department (every scoring step) nobody from the creator's department
does either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from . import authz, store
from .definition import Assignee, Step


def scope_of(assignee: Assignee, data: Mapping[str, Any]) -> str:
    if assignee.scope_from:
        return str(data.get(assignee.scope_from) or "")
    return str(assignee.scope or "")


def recused(conn: Connection, step: Step, *, created_by: int, data: Mapping[str, Any]
            ) -> tuple[set[int], set[str], str | None]:
    """User ids, usernames and the department that may not hold this step's tasks."""
    department = store.department_of(conn, created_by) if step.recuse_department else None
    return {created_by}, set(authz.parties(data)), department


def candidates(conn: Connection, step: Step, assignee: Assignee, *, instance_id: int,
               created_by: int, data: Mapping[str, Any], everyone: bool = False
               ) -> list[tuple[int, str]]:
    """Eligible holders of the role in scope; ``step.experts`` of them, rotated per instance
    so the work spreads evenly and the choice is reproducible."""
    ids, names, department = recused(conn, step, created_by=created_by, data=data)
    scope = scope_of(assignee, data)
    people = [(uid, name) for uid, name, theirs
              in store.role_holders_with_department(conn, assignee.role, scope)
              if uid not in ids and name not in names
              and (department is None or theirs != department)]
    if step.experts and len(people) > step.experts and not everyone:
        start = instance_id % len(people)
        people = (people[start:] + people[:start])[: step.experts]
    return people


def may_hold(conn: Connection, step: Step, *, user_id: int, username: str,
             created_by: int, data: Mapping[str, Any]) -> bool:
    """Whether the person may hold a task of this step at all (recusal rules)."""
    ids, names, department = recused(conn, step, created_by=created_by, data=data)
    if user_id in ids or username in names:
        return False
    if department is not None:
        return store.department_of(conn, user_id) != department
    return True


def members(conn: Connection, assignee: Assignee, data: Mapping[str, Any]) -> int:
    """How many people hold the role in scope (a vote's quorum counts the recused too)."""
    return len(store.role_holders(conn, assignee.role, scope_of(assignee, data)))
