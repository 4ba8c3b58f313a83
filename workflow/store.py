"""The statements behind the engine, in SQLAlchemy Core (the hot path avoids the ORM)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, func, select

from . import rawsql
from .errors import VersionConflict
from .models import (
    AuditEvent,
    DefinitionVersion,
    Instance,
    Link,
    OutboxMessage,
    RoleAssignment,
    Task,
    User,
    table_of,
)

INSTANCES = table_of(Instance)
TASKS = table_of(Task)
EVENTS = table_of(AuditEvent)
LINKS = table_of(Link)
OUTBOX = table_of(OutboxMessage)
USERS = table_of(User)
ROLES = table_of(RoleAssignment)
DEFINITIONS = table_of(DefinitionVersion)

OPEN, WAITING, DONE, CANCELLED = "open", "waiting", "done", "cancelled"


@dataclass(frozen=True)
class TaskRow:
    id: int
    state: str
    role: str
    scope: str
    assignee_id: int | None
    seq: int
    status: str
    created_at: datetime
    due_at: datetime | None
    data: Mapping[str, Any] | None = None
    completed_by: int | None = None
    kind: str = "step"
    pooled: bool = False
    waiting_for: int | None = None
    decision: str | None = None
    added_by: int | None = None


_TASK_ROW_COLUMNS = ("id, state, role, scope, assignee_id, seq, status, created_at, due_at, "
                     "data, completed_by, kind, pooled, waiting_for, decision, added_by")
"""What :func:`_task` reads, in ``TaskRow``'s order."""


def _task(row: Sequence[Any], d: rawsql.Dialect) -> TaskRow:
    """A row of ``_TASK_ROW_COLUMNS`` as a ``TaskRow``."""
    (task_id, state, role, scope, assignee_id, seq, status, created_at, due_at, data,
     completed_by, kind, pooled, waiting_for, decision, added_by) = row
    return TaskRow(task_id, state, role, scope, assignee_id, seq, status,
                   d.read_time(created_at), d.read_time(due_at),
                   None if data is None else d.read_json(data), completed_by, kind,
                   bool(pooled), waiting_for, decision, added_by)


_INSTANCE_TIMES = ("created_at", "updated_at", "state_entered_at", "first_approved_at",
                   "timer_due_at")


def load_instance(conn: Connection, instance_id: int, *, lock: bool,
                  substitute: int | None = None) -> rawsql.Record | None:
    """The instance row (under a row lock on PostgreSQL when ``lock``), or None; ``linked``
    says whether any link leads to or from it, and ``substituting`` (when ``substitute``
    names a user) whether that user is anyone's substitute now, which spares the
    delegation lookups of acting and reading in the common case."""
    d = rawsql.dialect_of(conn)
    params: dict[str, Any] = {"id": instance_id}
    text = ("SELECT instances.*, (EXISTS (SELECT 1 FROM links WHERE from_id = :id) OR EXISTS "
            "(SELECT 1 FROM links WHERE to_id = :id)) AS linked")
    if substitute is not None:
        text += (", EXISTS (SELECT 1 FROM delegations WHERE substitute_id = :substitute "
                 "AND revoked_at IS NULL) AS substituting")
        params["substitute"] = substitute
    text += " FROM instances WHERE id = :id"
    if lock and not d.sqlite:
        text += " FOR UPDATE OF instances"
    found = list(rawsql.records(rawsql.run(conn, text, params)))
    if not found:
        return None
    row = found[0]
    for name in _INSTANCE_TIMES:
        row[name] = d.read_time(row[name])
    row["data"] = d.read_json(row["data"])
    return row


def step_tasks(conn: Connection, instance_id: int, visit: int) -> list[TaskRow]:
    """The tasks of the current visit to the instance's state (a return opens a new visit)."""
    d = rawsql.dialect_of(conn)
    cursor = rawsql.run(conn, f"SELECT {_TASK_ROW_COLUMNS} FROM tasks WHERE instance_id = :i "
                              "AND visit = :v ORDER BY seq, id", {"i": instance_id, "v": visit})
    return [_task(r, d) for r in cursor.fetchall()]


def task_roles(conn: Connection, instance_id: int) -> list[tuple[str, str, int | None]]:
    """Role, scope and assignee of every task the instance ever had (who may see it)."""
    rows: list[tuple[str, str, int | None]] = rawsql.run(
        conn, "SELECT role, scope, assignee_id FROM tasks WHERE instance_id = :i",
        {"i": instance_id}).fetchall()
    return rows


def insert_instance(conn: Connection, values: Mapping[str, Any]) -> int:
    d = rawsql.dialect_of(conn)
    columns = sorted(values)
    text = (f"INSERT INTO instances ({', '.join(columns)}) VALUES "
            f"({', '.join(':' + c for c in columns)}) RETURNING id")
    params = _encode(d, values, _INSTANCE_TIMES, ("data",))
    return int(rawsql.run(conn, text, params).fetchone()[0])


def _encode(d: rawsql.Dialect, values: Mapping[str, Any], times: Iterable[str],
            documents: Iterable[str]) -> dict[str, Any]:
    encoded = dict(values)
    for name in times:
        if name in encoded:
            encoded[name] = d.time(encoded[name])
    for name in documents:
        if name in encoded:
            encoded[name] = d.json(encoded[name])
    return encoded


def update_instance(conn: Connection, instance_id: int, expected_version: int,
                    values: Mapping[str, Any]) -> bool:
    """Compare-and-set on the version: False when someone else changed the instance first."""
    d = rawsql.dialect_of(conn)
    columns = sorted(values)
    text = (f"UPDATE instances SET {', '.join(f'{c} = :{c}' for c in columns)} "
            "WHERE id = :id_ AND version = :expected_")
    params = _encode(d, values, _INSTANCE_TIMES, ("data",))
    params.update(id_=instance_id, expected_=expected_version)
    return int(rawsql.run(conn, text, params).rowcount) == 1


_TASK_COLUMNS = ("instance_id", "state", "role", "scope", "assignee_id", "visit", "seq",
                 "status", "kind", "pooled", "waiting_for", "added_by", "created_at", "due_at")
_INSERT_TASK = (f"INSERT INTO tasks ({', '.join(_TASK_COLUMNS)}) VALUES "
                f"({', '.join(':' + c for c in _TASK_COLUMNS)}) RETURNING id")


def insert_tasks(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    d = rawsql.dialect_of(conn)
    ids = []
    for row in rows:
        params = {c: row.get(c) for c in _TASK_COLUMNS}
        params.update(created_at=d.time(row["created_at"]), due_at=d.time(row.get("due_at")),
                      kind=row.get("kind", "step"), pooled=bool(row.get("pooled", False)),
                      seq=row.get("seq", 0))
        ids.append(int(rawsql.run(conn, _INSERT_TASK, params).fetchone()[0]))
    return ids


def task_row(task_id: int, values: Mapping[str, Any]) -> TaskRow:
    """The row :func:`insert_tasks` stored from ``values``, without reading it back."""
    return TaskRow(task_id, values["state"], values["role"], values["scope"],
                   values.get("assignee_id"), values.get("seq", 0), values["status"],
                   values["created_at"], values.get("due_at"), None, None,
                   values.get("kind", "step"), bool(values.get("pooled", False)),
                   values.get("waiting_for"), None, values.get("added_by"))


def close_task(conn: Connection, task_id: int, *, status: str, at: datetime,
               by: int | None, decision: str | None, data: Mapping[str, Any] | None) -> None:
    d = rawsql.dialect_of(conn)
    rawsql.run(conn, "UPDATE tasks SET status = :status, completed_at = :at, completed_by = :by, "
                     "decision = :decision, data = :data WHERE id = :id",
               {"status": status, "at": d.time(at), "by": by, "decision": decision,
                "data": d.json(dict(data)) if data else None, "id": task_id})


def cancel_tasks(conn: Connection, task_ids: Iterable[int], at: datetime) -> None:
    d = rawsql.dialect_of(conn)
    rawsql.run_many(conn, "UPDATE tasks SET status = 'cancelled', completed_at = :at "
                          "WHERE id = :id", [{"at": d.time(at), "id": i} for i in task_ids])


def open_task(conn: Connection, task_id: int, at: datetime, due_at: datetime | None) -> None:
    d = rawsql.dialect_of(conn)
    rawsql.run(conn, "UPDATE tasks SET status = 'open', waiting_for = NULL, created_at = :at, "
                     "due_at = :due WHERE id = :id",
               {"at": d.time(at), "due": d.time(due_at), "id": task_id})


_EVENT_COLUMNS = ("instance_id", "seq", "at", "actor", "on_behalf_of", "action", "outcome",
                  "from_state", "to_state", "fired", "target", "comment", "data", "changes",
                  "prev_hash", "hash")
_INSERT_EVENT = (f"INSERT INTO audit_events ({', '.join(_EVENT_COLUMNS)}) VALUES "
                 f"({', '.join(':' + c for c in _EVENT_COLUMNS)})")


def insert_event(conn: Connection, values: Mapping[str, Any]) -> None:
    d = rawsql.dialect_of(conn)
    params = _encode(d, {c: values[c] for c in _EVENT_COLUMNS}, ("at",), ("data", "changes"))
    rawsql.run(conn, _INSERT_EVENT, params)


_OUTBOX_COLUMNS = ("created_at", "instance_id", "recipient_id", "role", "scope", "key",
                   "params", "status", "attempts", "next_attempt_at")
_OUTBOX_KNOWN = frozenset({*_OUTBOX_COLUMNS, "sent_at", "last_error"})


def insert_outbox(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Notifications written in the action's transaction, delivered after it commits."""
    if not rows:
        return
    d = rawsql.dialect_of(conn)
    extra = sorted({k for r in rows for k in r} - _OUTBOX_KNOWN)
    columns = (*_OUTBOX_COLUMNS, *extra)
    text = (f"INSERT INTO outbox ({', '.join(columns)}) VALUES "
            f"({', '.join(':' + c for c in columns)})")
    time, document = d.time, d.json
    rawsql.run_many(conn, text, [
        {**{c: r.get(c) for c in columns}, "created_at": time(r.get("created_at")),
         "next_attempt_at": time(r.get("next_attempt_at")), "params": document(r.get("params"))}
        for r in rows])


def insert_links(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    rawsql.run_many(conn, "INSERT INTO links (from_id, to_id, kind) "
                          "VALUES (:from_id, :to_id, :kind)",
                    [{"from_id": r["from_id"], "to_id": r["to_id"], "kind": r["kind"]}
                     for r in rows])


def links_of(conn: Connection, instance_id: int) -> dict[str, list[int]]:
    """Related instances by kind: outgoing links by their kind, incoming by the source's
    lifecycle (one statement)."""
    cursor = rawsql.run(conn, "SELECT links.kind, links.from_id, links.to_id, instances.workflow "
                              "FROM links JOIN instances ON instances.id = links.from_id "
                              "WHERE links.from_id = :i OR links.to_id = :i ORDER BY links.id",
                        {"i": instance_id})
    out: dict[str, list[int]] = {}
    for kind, from_id, to_id, workflow in cursor.fetchall():
        if from_id == instance_id:
            out.setdefault(kind, []).append(to_id)
        else:
            out.setdefault(workflow, []).append(from_id)
    return out


CHAIN_ORDER = ("suggestion", "project", "acceptance", "award", "payout")


def chain_of(conn: Connection, instance_id: int, limit: int = 50) -> list[tuple[int, str, str]]:
    """Every instance linked to this one, directly or through others, in lifecycle order."""
    seen = {instance_id}
    frontier = [instance_id]
    while frontier and len(seen) < limit:
        marks, params = rawsql.in_list("n", frontier)
        rows = rawsql.run(conn, f"SELECT from_id, to_id FROM links WHERE from_id IN ({marks}) "
                                f"OR to_id IN ({marks})", params).fetchall()
        frontier = list(dict.fromkeys(n for r in rows for n in r if n not in seen))
        seen.update(frontier)
    marks, params = rawsql.in_list("n", sorted(seen))
    found = rawsql.run(conn, f"SELECT id, workflow, state FROM instances WHERE id IN ({marks})",
                       params).fetchall()
    order = {name: n for n, name in enumerate(CHAIN_ORDER)}
    return sorted(((i, w, s) for i, w, s in found),
                  key=lambda item: (order.get(item[1], len(order)), item[0]))


def prior_actors(conn: Connection, instance_id: int, actions: Sequence[str]) -> set[str]:
    """Who did (or on whose behalf someone did) any of ``actions`` on the instance."""
    if not actions:
        return set()
    marks, params = rawsql.in_list("a", actions)
    rows = rawsql.run(conn, "SELECT actor, on_behalf_of FROM audit_events WHERE instance_id = "
                            f":i AND action IN ({marks})", {"i": instance_id, **params})
    return {name for pair in rows.fetchall() for name in pair if name}


def fired_event(conn: Connection, instance_id: int, action: str) -> rawsql.Record | None:
    """The newest event in which ``action`` moved the instance (its actor and data)."""
    d = rawsql.dialect_of(conn)
    row = rawsql.run(conn, "SELECT actor, data FROM audit_events WHERE instance_id = :i AND "
                           "action = :a AND fired = :yes ORDER BY seq DESC LIMIT 1",
                     {"i": instance_id, "a": action, "yes": True}).fetchone()
    return rawsql.Record(actor=row[0], data=d.read_json(row[1])) if row else None


def events_of(conn: Connection, instance_id: int) -> list[Any]:
    return list(conn.execute(select(EVENTS).where(EVENTS.c.instance_id == instance_id)
                             .order_by(EVENTS.c.seq)).mappings())


def usernames(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks, params = rawsql.in_list("u", wanted)
    return dict(rawsql.run(conn, f"SELECT id, username FROM users WHERE id IN ({marks})",
                           params).fetchall())


def user_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    if not wanted:
        return {}
    return {r.username: r.id for r in conn.execute(
        select(USERS.c.id, USERS.c.username).where(USERS.c.username.in_(wanted)))}


def role_holders(conn: Connection, role: str, scope: str) -> list[tuple[int, str]]:
    """Active holders of a role in a scope, by username."""
    return [(i, name) for i, name, _ in role_holders_with_department(conn, role, scope)]


def role_holders_with_department(conn: Connection, role: str, scope: str
                                 ) -> list[tuple[int, str, str | None]]:
    rows = rawsql.run(conn, "SELECT users.id, users.username, users.department FROM users "
                            "JOIN role_assignments ON role_assignments.user_id = users.id "
                            "WHERE role_assignments.role = :role AND role_assignments.scope = "
                            ":scope AND users.active = :yes ORDER BY users.username",
                      {"role": role, "scope": scope, "yes": True})
    return [(i, name, dept) for i, name, dept in rows.fetchall()]


def department_of(conn: Connection, user_id: int) -> str | None:
    row = rawsql.run(conn, "SELECT department FROM users WHERE id = :u",
                     {"u": user_id}).fetchone()
    return row[0] if row else None


def reassign_task(conn: Connection, task_id: int, assignee_id: int, at: datetime,
                  due_at: datetime | None) -> None:
    d = rawsql.dialect_of(conn)
    rawsql.run(conn, "UPDATE tasks SET assignee_id = :u, created_at = :at, due_at = :due "
                     "WHERE id = :id",
               {"u": assignee_id, "at": d.time(at), "due": d.time(due_at), "id": task_id})


def append_action(conn: Connection, row: rawsql.Record, event: Mapping[str, Any],
           values: Mapping[str, Any], outbox: Sequence[Mapping[str, Any]]) -> rawsql.Record:
    """Store an action that moves no state: the instance's next version (compare-and-set),
    its audit event and its notifications; the row as now stored."""
    values = {**values, "version": row.version + 1, "audit_seq": event["seq"],
              "audit_head": event["hash"]}
    if not update_instance(conn, row.id, row.version, values):
        raise VersionConflict("stale_version", current=row.version)
    insert_event(conn, event)
    insert_outbox(conn, outbox)
    return as_stored(row, values)


def as_stored(row: Mapping[str, Any] | None, values: Mapping[str, Any]) -> rawsql.Record:
    """The instance row as it is after a transaction's writes, without reading it back."""
    return rawsql.Record({**(row or {}), **values})


def set_audit_head(conn: Connection, instance_id: int, head: str) -> None:
    rawsql.run(conn, "UPDATE instances SET audit_head = :h WHERE id = :i",
               {"h": head, "i": instance_id})


def chain_waiting(conn: Connection, task_ids: Sequence[int]) -> None:
    """Each task of a sequential step waits for the one before it."""
    rawsql.run_many(conn, "UPDATE tasks SET waiting_for = :previous WHERE id = :id",
                    [{"previous": a, "id": b} for a, b in pairwise(task_ids)])


def due_timers(conn: Connection, now: datetime, limit: int) -> list[Any]:
    return list(conn.execute(
        select(INSTANCES.c.id, INSTANCES.c.version, INSTANCES.c.timer_due_at)
        .where(INSTANCES.c.timer_due_at.is_not(None), INSTANCES.c.timer_due_at <= now)
        .order_by(INSTANCES.c.timer_due_at, INSTANCES.c.id).limit(limit)
    ))


def count_by_state(conn: Connection) -> list[Any]:
    return list(conn.execute(
        select(INSTANCES.c.workflow, INSTANCES.c.state, func.count())
        .group_by(INSTANCES.c.workflow, INSTANCES.c.state)
    ))

