"""Who gets a step's tasks: role holders in scope, minus the recused, N of them if asked.

Recusal by rule: the creator and everyone named on the item never get a task on it; in a
step that recuses by department (every scoring step) nobody from the creator's department
does either.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from . import authz, store
from .definition import Assignee, Step


def scope_of(assignee: Assignee, data: Mapping[str, Any]) -> str:
    if assignee.scope_from:
        return str(data.get(assignee.scope_from) or "")
    return str(assignee.scope or "")


def creator_department(conn: Connection, created_by: int) -> str | None:
    return conn.execute(select(store.USERS.c.department)
                        .where(store.USERS.c.id == created_by)).scalar()


def recused(conn: Connection, step: Step, *, created_by: int, data: Mapping[str, Any]
            ) -> tuple[set[int], set[str], str | None]:
    """User ids, usernames and the department that may not hold this step's tasks."""
    department = creator_department(conn, created_by) if step.recuse_department else None
    return {created_by}, set(authz.parties(data)), department


def candidates(conn: Connection, step: Step, assignee: Assignee, *, instance_id: int,
               created_by: int, data: Mapping[str, Any], everyone: bool = False
               ) -> list[tuple[int, str]]:
    """Eligible holders of the role in scope; ``step.experts`` of them, rotated per instance
    so the work spreads evenly and the choice is reproducible."""
    ids, names, department = recused(conn, step, created_by=created_by, data=data)
    scope = scope_of(assignee, data)
    rows = conn.execute(
        select(store.USERS.c.id, store.USERS.c.username, store.USERS.c.department)
        .join(store.ROLES, store.ROLES.c.user_id == store.USERS.c.id)
        .where(store.ROLES.c.role == assignee.role, store.ROLES.c.scope == scope,
               store.USERS.c.active.is_(True))
        .order_by(store.USERS.c.username)
    ).all()
    people = [(r.id, r.username) for r in rows
              if r.id not in ids and r.username not in names
              and (department is None or r.department != department)]
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
        theirs = conn.execute(select(store.USERS.c.department)
                              .where(store.USERS.c.id == user_id)).scalar()
        return theirs != department
    return True


def members(conn: Connection, assignee: Assignee, data: Mapping[str, Any]) -> int:
    """How many people hold the role in scope (a vote's quorum counts the recused too)."""
    return len(store.role_holders(conn, assignee.role, scope_of(assignee, data)))
