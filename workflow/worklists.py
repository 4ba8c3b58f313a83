"""Worklists: the inbox (open tasks a user may act on now) and the overdue scan.

Both are read on every page view or chasing pass over up to a million instances, so they
run on the transaction's cursor: statements written once per shape, rows fetched as
tuples and turned straight into ``TaskView``, usernames from the caller's per-process
cache. The partial indexes on open tasks (``models.Task``) give every part its order.
The inbox offers only what acting allows: for the few rows read, the database hands over
just the fields naming people (``authz.PARTY_FIELDS``), judged by the rules acting uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection

from . import authz, delegation, rawsql
from .actors import Actor
from .errors import BadRequest
from .store import OPEN
from .views import TaskPage, TaskView

Usernames = Callable[[Connection, Sequence[int | None]], Mapping[int, str]]
"""Usernames by id for the ids given (a cache that fills itself from the database)."""

OverdueKey = tuple[datetime, int]
"""Where a page of overdue tasks ends: the last task's deadline and id."""

_TASK_FIELDS = "id, instance_id, state, role, scope, assignee_id, created_at, due_at"
# Positions in every row these statements return.
_ID, _INSTANCE, _STATE, _ROLE, _SCOPE, _ASSIGNEE, _CREATED, _DUE, _WORKFLOW, _TITLE = range(10)
_CREATED_BY, _NAMED = 10, 11

Keep = Callable[[tuple[Any, ...]], bool]
"""Whether the reader may act on the task of an inbox row (rules read only after the fetch)."""


def _named_sql(sqlite: bool) -> str:
    """The item's fields that name people (``authz.PARTY_FIELDS``) as one JSON array, read
    inside the database: only these few values reach Python, however large the item. NULL
    when none of them is there (most items), which Python then need not decode."""
    none = f"'[{','.join('null' for _ in authz.PARTY_FIELDS)}]'"
    if sqlite:  # json_extract with several paths answers the array of their values
        paths = ", ".join(repr(f"$.{field}") for field in authz.PARTY_FIELDS)
        return f"NULLIF(json_extract(i.data, {paths}), {none})"
    values = ", ".join(f"i.data -> {field!r}" for field in authz.PARTY_FIELDS)
    return f"NULLIF(jsonb_build_array({values}), {none}::jsonb)"


_AFTER_DATED, _AFTER_UNDATED = "dated", "undated"
"""Where a continued read starts: after a task with a deadline, or after one without."""


def _inbox_sql(sqlite: bool, roles: int, by_state: bool, by_workflow: bool, windowed: bool,
               after: str | None) -> str:
    """The inbox statement for a shape of query (built once per shape, then cached)."""
    filters = (" AND state = :state" if by_state else "") + (
        " AND EXISTS (SELECT 1 FROM instances i WHERE i.id = tasks.instance_id"
        " AND i.workflow = :workflow)" if by_workflow else "") + (
        " AND created_at >= :since AND created_at < :until" if windowed else "")
    sources = ["assignee_id = :user"] + [
        f"assignee_id IS NULL AND role = :role{n} AND scope = :scope{n}" for n in range(roles)]
    parts = []
    for source in sources:
        where = f"status = 'open' AND {source}{filters}"
        if after != _AFTER_UNDATED:  # past a task without a deadline, all with one were read
            since = " AND (due_at, id) > (:due, :id)" if after == _AFTER_DATED else ""
            parts.append(f"SELECT * FROM (SELECT {_TASK_FIELDS} FROM tasks WHERE {where} "
                         f"AND due_at IS NOT NULL{since} ORDER BY due_at, id LIMIT :limit) "
                         "AS dated")
        since = " AND id > :id" if after == _AFTER_UNDATED else ""
        parts.append(f"SELECT * FROM (SELECT {_TASK_FIELDS} FROM tasks WHERE {where} "
                     f"AND due_at IS NULL{since} ORDER BY id LIMIT :limit) AS undated")
    return ("SELECT t.id, t.instance_id, t.state, t.role, t.scope, t.assignee_id, "
            f"t.created_at, t.due_at, i.workflow, i.title, i.created_by, {_named_sql(sqlite)} "
            f"FROM ({' UNION ALL '.join(parts)}) AS t JOIN instances i ON i.id = t.instance_id "
            "ORDER BY t.due_at IS NULL, t.due_at, t.id LIMIT :limit")


_INBOX_SQL: dict[tuple[bool, int, bool, bool, bool, str | None], str] = {}

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
                workflow: str | None, state: str | None,
                window: tuple[datetime, datetime] | None = None,
                after: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
    """Open tasks of one holder, earliest deadline first, those without one last; with a
    ``window``, only tasks that arrived in it; ``after`` a row read before, the ones that
    follow it.

    ``WHERE role IN (…) OR assignee = …`` would scan every open task. Instead each source
    (personal tasks, then each role and scope held) gives its own top-N twice, from the
    partial indexes on open tasks: tasks with a deadline in index order, and tasks without
    one; the few rows are merged at the end.
    """
    d = rawsql.dialect_of(conn)
    held = sorted(set(roles))
    since = None if after is None else _AFTER_UNDATED if after[_DUE] is None else _AFTER_DATED
    shape = (d.sqlite, len(held), state is not None, workflow is not None, window is not None,
             since)
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
    if window is not None:
        params["since"], params["until"] = d.time(window[0]), d.time(window[1])
    if after is not None:
        params["due"], params["id"] = after[_DUE], after[_ID]  # as stored: compared as read
    rows: list[tuple[Any, ...]] = rawsql.run(conn, text, params).fetchall()
    return rows


def _first_kept(conn: Connection, user_id: int, roles: Iterable[tuple[str, str]], limit: int,
                workflow: str | None, state: str | None, keep: Keep,
                window: tuple[datetime, datetime] | None = None,
                listed: set[int] | None = None) -> list[tuple[Any, ...]]:
    """The first ``limit`` rows of ``_inbox_rows`` that ``keep`` accepts; given ``listed``
    (instance ids already in the list), only one row per instance not listed yet.

    Whom the item names is known only once its row is read, so a refused row would leave
    the page short: while rows were refused and more may follow, read on after the last
    row read, twice as many each time. Each row is read once, and only as far as the page
    needs: the work grows with the refused rows ahead of it, never with the whole list.
    """
    kept: list[tuple[Any, ...]] = []
    taken = None if listed is None else set(listed)
    fetch, after = limit, None
    while True:
        rows = _inbox_rows(conn, user_id, roles, fetch, workflow, state, window, after)
        for row in rows:
            if taken is not None and row[_INSTANCE] in taken:
                continue
            if keep(row):
                kept.append(row)
                if len(kept) == limit:
                    return kept
                if taken is not None:
                    taken.add(row[_INSTANCE])
        if len(rows) < fetch:
            return kept
        fetch, after = fetch * 2, rows[-1]


_NOBODY: Mapping[str, Any] = MappingProxyType({})


def _named(d: rawsql.Dialect, row: tuple[Any, ...]) -> Mapping[str, Any]:
    """The fields of the row's item that name people, as ``authz.parties`` reads them."""
    values = row[_NAMED]
    if values is None:
        return _NOBODY
    return dict(zip(authz.PARTY_FIELDS, d.read_json(values), strict=True))


def _holder(conn: Connection, user_id: int) -> tuple[str, list[tuple[str, str]]] | None:
    """An active user's name and roles, or None."""
    rows = rawsql.run(conn, _HOLDER_SQL, {"id": user_id}).fetchall()
    if not rows:
        return None
    return rows[0][0], [(role, scope) for _name, role, scope in rows if role is not None]


def _views(rows: Iterable[tuple[Any, ...]], d: rawsql.Dialect, names: Mapping[int, str],
           now: datetime, on_behalf_of: str | None = None) -> list[TaskView]:
    read_time = d.read_time
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

    Exactly what acting allows: no task of an item the actor created or is named on (team,
    lead, payee), except the owner's own task (a draft, a revision); see
    ``authz.may_act_on``. 委托: a principal's tasks that arrived inside a live delegation
    window follow, marked ``on_behalf_of``, never on an item either of them created or is
    named on (``delegation.may_stand_in``), never chained (only what the principal holds
    directly), and only on items not listed yet: where the actor holds a task of their own,
    or an earlier window's principal does, acting takes that one, as ``Engine.act`` does.
    Refused rows never leave a page short (``_first_kept``).
    """
    if limit < 1:
        raise BadRequest("limit_not_positive", fields={"limit": "must be at least 1"})
    if actor.is_system or actor.read_only:
        return []
    d = rawsql.dialect_of(conn)
    me = actor.id

    def mine(row: tuple[Any, ...]) -> bool:
        return authz.may_act_on(actor, task_role=row[_ROLE], created_by=row[_CREATED_BY],
                                data=_named(d, row))

    own = _first_kept(conn, me, actor.roles, limit, workflow, state, mine)
    names = usernames(conn, [r[_ASSIGNEE] for r in own])
    found = _views(own, d, names, now)
    delegated = False
    for window in delegation.windows(conn, me):
        holder = _holder(conn, window.principal_id)
        if holder is None:
            continue
        principal_name, roles = holder
        principal = Actor(window.principal_id, principal_name, frozenset(roles))

        def theirs(row: tuple[Any, ...], principal: Actor = principal) -> bool:
            return delegation.may_stand_in(actor, principal, created_by=row[_CREATED_BY],
                                           data=_named(d, row))

        rows = _first_kept(conn, principal.id, roles, limit, workflow, state, theirs,
                           (window.starts_at, window.ends_at),
                           listed={view.instance_id for view in found})
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
                    (d.read_time(last[_DUE]), last[_ID]) if last else None)
