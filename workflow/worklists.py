"""Worklists: the inbox (open tasks a user may act on now) and the overdue scan.

Both are read on every page view or chasing pass over up to a million instances, so they
run on the transaction's cursor: statements written once per shape, rows fetched as
tuples and turned straight into ``TaskView``, usernames from the caller's per-process
cache. The partial indexes on open tasks (``models.Task``) give every part its order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from . import delegation, rawsql
from .actors import Actor
from .store import OPEN
from .views import TaskPage, TaskView

Usernames = Callable[[Connection, Sequence[int | None]], Mapping[int, str]]
"""Usernames by id for the ids given (a cache that fills itself from the database)."""

OverdueKey = tuple[datetime, int]
"""Where a page of overdue tasks ends: the last task's deadline and id."""

_TASK_FIELDS = "id, instance_id, state, role, scope, assignee_id, created_at, due_at"
# Positions in every row these statements return.
_ID, _INSTANCE, _STATE, _ROLE, _SCOPE, _ASSIGNEE, _CREATED, _DUE, _WORKFLOW, _TITLE = range(10)
_CREATED_BY = 10


def _inbox_sql(roles: int, by_state: bool, by_workflow: bool) -> str:
    """The inbox statement for a shape of query (built once per shape, then cached)."""
    filters = (" AND state = :state" if by_state else "") + (
        " AND EXISTS (SELECT 1 FROM instances i WHERE i.id = tasks.instance_id"
        " AND i.workflow = :workflow)" if by_workflow else "")
    sources = ["assignee_id = :user"] + [
        f"assignee_id IS NULL AND role = :role{n} AND scope = :scope{n}" for n in range(roles)]
    parts = []
    for source in sources:
        where = f"status = 'open' AND {source}{filters}"
        parts.append(f"SELECT * FROM (SELECT {_TASK_FIELDS} FROM tasks WHERE {where} "
                     "AND due_at IS NOT NULL ORDER BY due_at, id LIMIT :limit) AS dated")
        parts.append(f"SELECT * FROM (SELECT {_TASK_FIELDS} FROM tasks WHERE {where} "
                     "AND due_at IS NULL ORDER BY id LIMIT :limit) AS undated")
    return ("SELECT t.id, t.instance_id, t.state, t.role, t.scope, t.assignee_id, "
            "t.created_at, t.due_at, i.workflow, i.title, i.created_by "
            f"FROM ({' UNION ALL '.join(parts)}) AS t JOIN instances i ON i.id = t.instance_id "
            "ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT :limit")


_INBOX_SQL: dict[tuple[int, bool, bool], str] = {}

_HOLDER_SQL = ("SELECT u.username, r.role, r.scope FROM users u "
               "LEFT JOIN role_assignments r ON r.user_id = u.id WHERE u.id = :id AND u.active")

_OVERDUE_SQL = ("SELECT t.id, t.instance_id, t.state, t.role, t.scope, t.assignee_id, "
                "t.created_at, t.due_at, i.workflow, i.title "
                "FROM tasks t JOIN instances i ON i.id = t.instance_id "
                "WHERE t.status = 'open' AND t.due_at IS NOT NULL AND t.due_at < :now{after} "
                "ORDER BY t.due_at, t.id LIMIT :limit")
_OVERDUE_FIRST = _OVERDUE_SQL.format(after="")
_OVERDUE_AFTER = _OVERDUE_SQL.format(after=" AND (t.due_at, t.id) > (:due, :id)")


def _inbox_rows(conn: Connection, user_id: int, roles: Iterable[tuple[str, str]], limit: int,
                workflow: str | None, state: str | None) -> list[tuple[Any, ...]]:
    """Open tasks of one holder, earliest deadline first, those without one last.

    ``WHERE role IN (…) OR assignee = …`` would scan every open task. Instead each source
    (personal tasks, then each role and scope held) gives its own top-N twice, from the
    partial indexes on open tasks: tasks with a deadline in index order, and tasks without
    one; the few rows are merged at the end.
    """
    held = sorted(set(roles))
    shape = (len(held), state is not None, workflow is not None)
    text = _INBOX_SQL.get(shape)
    if text is None:
        text = _INBOX_SQL[shape] = _inbox_sql(*shape)
    params: dict[str, Any] = {"user": user_id, "limit": limit}
    for n, (role, scope) in enumerate(held):
        params[f"role{n}"], params[f"scope{n}"] = role, scope
    if state is not None:
        params["state"] = state
    if workflow is not None:
        params["workflow"] = workflow
    rows: list[tuple[Any, ...]] = rawsql.run(conn, text, params).fetchall()
    return rows


def _holder(conn: Connection, user_id: int) -> tuple[str, list[tuple[str, str]]] | None:
    """An active user's name and roles, or None."""
    rows = rawsql.run(conn, _HOLDER_SQL, {"id": user_id}).fetchall()
    if not rows:
        return None
    return rows[0][0], [(role, scope) for _name, role, scope in rows if role is not None]


def _sqlite_time(value: str | None) -> datetime | None:
    """SQLite keeps UTC as text without a zone; naming the zone in the text is the cheapest
    way to an aware datetime."""
    return None if value is None else datetime.fromisoformat(value + "+00:00")


def _time_reader(d: rawsql.Dialect) -> Callable[[Any], Any]:
    return _sqlite_time if d.sqlite else d.read_time


def _views(rows: Iterable[tuple[Any, ...]], d: rawsql.Dialect, names: Mapping[int, str],
           now: datetime, on_behalf_of: str | None = None) -> list[TaskView]:
    read_time = _time_reader(d)
    views = []
    for row in rows:
        due = read_time(row[_DUE])
        assignee = row[_ASSIGNEE]
        views.append(TaskView(
            row[_ID], row[_INSTANCE], row[_WORKFLOW], row[_STATE], row[_STATE], row[_ROLE],
            row[_SCOPE], names.get(assignee) if assignee else None, OPEN,
            read_time(row[_CREATED]), due, due is not None and due < now, row[_TITLE] or "",
            on_behalf_of))
    return views


def inbox(conn: Connection, *, actor: Actor, now: datetime, usernames: Usernames,
          limit: int = 50, workflow: str | None = None, state: str | None = None
          ) -> list[TaskView]:
    """Open tasks the actor can act on now, most urgent first, also as a substitute.

    The actor's own items are left out unless the task is theirs personally (an owner's
    revision step). 委托: a principal's tasks that arrived inside a live delegation window
    follow, marked ``on_behalf_of``, never on the actor's or the principal's own items,
    and never chained (only what the principal holds directly).
    """
    if actor.is_system or actor.read_only:
        return []
    d = rawsql.dialect_of(conn)
    read_time = _time_reader(d)
    me = actor.id
    own = [r for r in _inbox_rows(conn, me, actor.roles, limit, workflow, state)
           if r[_ASSIGNEE] == me or r[_CREATED_BY] != me]
    names = usernames(conn, [r[_ASSIGNEE] for r in own])
    found = _views(own, d, names, now)
    delegated = False
    for window in delegation.windows(conn, me):
        holder = _holder(conn, window.principal_id)
        if holder is None:
            continue
        principal_name, roles = holder
        principal = window.principal_id
        seen = {view.id for view in found}
        rows = [r for r in _inbox_rows(conn, principal, roles, limit, workflow, state)
                if r[_CREATED_BY] not in (me, principal) and r[_ID] not in seen
                and window.starts_at <= read_time(r[_CREATED]) < window.ends_at]
        if rows:
            names = usernames(conn, [r[_ASSIGNEE] for r in rows])
            found += _views(rows, d, names, now, principal_name)
            delegated = True
    if delegated:
        found.sort(key=lambda t: (t.due_at is None, t.due_at or now, t.id))
        del found[limit:]
    return found


def overdue(conn: Connection, *, now: datetime, usernames: Usernames, limit: int = 100,
            after: OverdueKey | None = None) -> TaskPage:
    """Open tasks past their deadline, most overdue first (deadline, then id), one page.

    Keyset paging on the partial index of open tasks with a deadline: each page costs the
    same however deep it lies, and a task the caller reassigns or closes meanwhile neither
    shifts the pages after it nor makes one repeat. ``next`` is where to continue, or None
    after the last page.
    """
    d = rawsql.dialect_of(conn)
    params: dict[str, Any] = {"now": d.time(now), "limit": limit + 1}
    if after is None:
        text = _OVERDUE_FIRST
    else:
        text = _OVERDUE_AFTER
        params["due"], params["id"] = d.time(after[0]), after[1]
    rows = rawsql.run(conn, text, params).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    names = usernames(conn, [r[_ASSIGNEE] for r in rows])
    last = rows[-1] if more and rows else None
    return TaskPage(tuple(_views(rows, d, names, now)),
                    (_time_reader(d)(last[_DUE]), last[_ID]) if last else None)
