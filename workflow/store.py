"""The statements behind the engine, in SQLAlchemy Core (the hot path avoids the ORM)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from . import rawsql
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


def _task(row: Any, d: rawsql.Dialect) -> TaskRow:
    return TaskRow(row["id"], row["state"], row["role"], row["scope"], row["assignee_id"],
                   row["seq"], row["status"], d.read_time(row["created_at"]),
                   d.read_time(row["due_at"]), d.read_json(row["data"]), row["completed_by"],
                   row["kind"], bool(row["pooled"]), row["waiting_for"], row["decision"],
                   row["added_by"])


_INSTANCE_TIMES = ("created_at", "updated_at", "state_entered_at", "first_approved_at",
                   "timer_due_at")


def load_instance(conn: Connection, instance_id: int, *, lock: bool) -> rawsql.Record | None:
    """The instance row (under a row lock on PostgreSQL when ``lock``), or None."""
    d = rawsql.dialect_of(conn)
    text = "SELECT * FROM instances WHERE id = :id"
    if lock and not d.sqlite:
        text += " FOR UPDATE"
    found = list(rawsql.records(rawsql.run(conn, text, {"id": instance_id})))
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
    cursor = rawsql.run(conn, "SELECT * FROM tasks WHERE instance_id = :i AND visit = :v "
                              "ORDER BY seq, id", {"i": instance_id, "v": visit})
    return [_task(r, d) for r in rawsql.records(cursor)]


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


def insert_outbox(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Notifications written in the action's transaction, delivered after it commits."""
    if not rows:
        return
    d = rawsql.dialect_of(conn)
    extra = sorted({k for r in rows for k in r} - set(_OUTBOX_COLUMNS)
                   - {"sent_at", "last_error"})
    columns = (*_OUTBOX_COLUMNS, *extra)
    text = (f"INSERT INTO outbox ({', '.join(columns)}) VALUES "
            f"({', '.join(':' + c for c in columns)})")
    rawsql.run_many(conn, text, [
        _encode(d, {c: r.get(c) for c in columns}, ("created_at", "next_attempt_at"),
                ("params",)) for r in rows])


def insert_links(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(LINKS), list(rows))


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
        rows = conn.execute(select(LINKS.c.from_id, LINKS.c.to_id).where(
            LINKS.c.from_id.in_(frontier) | LINKS.c.to_id.in_(frontier))).all()
        frontier = [n for r in rows for n in (r.from_id, r.to_id) if n not in seen]
        seen.update(frontier)
    found = conn.execute(select(INSTANCES.c.id, INSTANCES.c.workflow, INSTANCES.c.state)
                         .where(INSTANCES.c.id.in_(seen))).all()
    order = {name: n for n, name in enumerate(CHAIN_ORDER)}
    return sorted(((r.id, r.workflow, r.state) for r in found),
                  key=lambda item: (order.get(item[1], len(order)), item[0]))


def prior_actors(conn: Connection, instance_id: int, actions: Sequence[str]) -> set[str]:
    if not actions:
        return set()
    rows = conn.execute(
        select(EVENTS.c.actor, EVENTS.c.on_behalf_of)
        .where(EVENTS.c.instance_id == instance_id, EVENTS.c.action.in_(actions))
    )
    found: set[str] = set()
    for row in rows:
        found.add(row.actor)
        if row.on_behalf_of:
            found.add(row.on_behalf_of)
    return found


def fired_event(conn: Connection, instance_id: int, action: str) -> Any:
    return conn.execute(
        select(EVENTS).where(EVENTS.c.instance_id == instance_id, EVENTS.c.action == action,
                             EVENTS.c.fired.is_(True))
        .order_by(EVENTS.c.seq.desc()).limit(1)
    ).first()


def events_of(conn: Connection, instance_id: int) -> list[Any]:
    return list(conn.execute(select(EVENTS).where(EVENTS.c.instance_id == instance_id)
                             .order_by(EVENTS.c.seq)).mappings())


def usernames(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {r.id: r.username for r in conn.execute(
        select(USERS.c.id, USERS.c.username).where(USERS.c.id.in_(wanted)))}


def user_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    wanted = set(names)
    if not wanted:
        return {}
    return {r.username: r.id for r in conn.execute(
        select(USERS.c.id, USERS.c.username).where(USERS.c.username.in_(wanted)))}


def role_holders(conn: Connection, role: str, scope: str) -> list[tuple[int, str]]:
    rows = conn.execute(
        select(USERS.c.id, USERS.c.username)
        .join(ROLES, ROLES.c.user_id == USERS.c.id)
        .where(ROLES.c.role == role, ROLES.c.scope == scope, USERS.c.active.is_(True))
        .order_by(USERS.c.username)
    )
    return [(r.id, r.username) for r in rows]


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

