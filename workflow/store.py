"""The statements behind the engine, in SQLAlchemy Core (the hot path avoids the ORM)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, union_all, update

from .models import (
    AuditEvent,
    DefinitionVersion,
    Instance,
    Link,
    OutboxMessage,
    RoleAssignment,
    Task,
    User,
)

INSTANCES = Instance.__table__
TASKS = Task.__table__
EVENTS = AuditEvent.__table__
LINKS = Link.__table__
OUTBOX = OutboxMessage.__table__
USERS = User.__table__
ROLES = RoleAssignment.__table__
DEFINITIONS = DefinitionVersion.__table__

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


def _task(row: Any) -> TaskRow:
    return TaskRow(row.id, row.state, row.role, row.scope, row.assignee_id, row.seq, row.status,
                   row.created_at, row.due_at, row.data, row.completed_by, row.kind, row.pooled,
                   row.waiting_for, row.decision, row.added_by)


def load_instance(conn: Connection, instance_id: int, *, lock: bool) -> Any:
    stmt = select(INSTANCES).where(INSTANCES.c.id == instance_id)
    if lock and conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return conn.execute(stmt).first()


def step_tasks(conn: Connection, instance_id: int, visit: int) -> list[TaskRow]:
    """The tasks of the current visit to the instance's state (a return opens a new visit)."""
    rows = conn.execute(
        select(TASKS)
        .where(TASKS.c.instance_id == instance_id, TASKS.c.visit == visit)
        .order_by(TASKS.c.seq, TASKS.c.id)
    ).all()
    return [_task(r) for r in rows]


def insert_instance(conn: Connection, values: Mapping[str, Any]) -> int:
    return int(conn.execute(insert(INSTANCES).values(**values).returning(INSTANCES.c.id))
               .scalar_one())


def update_instance(conn: Connection, instance_id: int, expected_version: int,
                    values: Mapping[str, Any]) -> bool:
    result = conn.execute(
        update(INSTANCES)
        .where(INSTANCES.c.id == instance_id, INSTANCES.c.version == expected_version)
        .values(**values)
    )
    return result.rowcount == 1


def insert_tasks(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    ids = []
    for row in rows:
        ids.append(int(conn.execute(insert(TASKS).values(**row).returning(TASKS.c.id))
                       .scalar_one()))
    return ids


def close_task(conn: Connection, task_id: int, *, status: str, at: datetime,
               by: int | None, decision: str | None, data: Mapping[str, Any] | None) -> None:
    conn.execute(
        update(TASKS).where(TASKS.c.id == task_id)
        .values(status=status, completed_at=at, completed_by=by, decision=decision, data=data)
    )


def cancel_tasks(conn: Connection, task_ids: Iterable[int], at: datetime) -> None:
    ids = list(task_ids)
    if ids:
        conn.execute(update(TASKS).where(TASKS.c.id.in_(ids))
                     .values(status=CANCELLED, completed_at=at))


def open_task(conn: Connection, task_id: int, at: datetime, due_at: datetime | None) -> None:
    conn.execute(update(TASKS).where(TASKS.c.id == task_id)
                 .values(status=OPEN, created_at=at, due_at=due_at))


def insert_event(conn: Connection, values: Mapping[str, Any]) -> None:
    conn.execute(insert(EVENTS).values(**values))


def insert_outbox(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(OUTBOX), list(rows))


def insert_links(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        conn.execute(insert(LINKS), list(rows))


def links_of(conn: Connection, instance_id: int) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for row in conn.execute(select(LINKS.c.kind, LINKS.c.to_id)
                            .where(LINKS.c.from_id == instance_id).order_by(LINKS.c.id)):
        out.setdefault(row.kind, []).append(row.to_id)
    incoming = conn.execute(
        select(INSTANCES.c.workflow, LINKS.c.from_id)
        .join(INSTANCES, INSTANCES.c.id == LINKS.c.from_id)
        .where(LINKS.c.to_id == instance_id).order_by(LINKS.c.id)
    )
    for row in incoming:
        out.setdefault(row.workflow, []).append(row.from_id)
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
    rows = conn.execute(select(INSTANCES.c.id, INSTANCES.c.workflow, INSTANCES.c.state)
                        .where(INSTANCES.c.id.in_(seen))).all()
    order = {name: n for n, name in enumerate(CHAIN_ORDER)}
    return sorted(((r.id, r.workflow, r.state) for r in rows),
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


def inbox(conn: Connection, *, user_id: int, roles: Iterable[tuple[str, str]], limit: int,
          workflow: str | None = None, state: str | None = None) -> list[Any]:
    """Open tasks a user may act on: one indexed top-N per role, then merged.

    ``WHERE role IN (…) OR assignee = …`` would scan every open task; a UNION ALL of one
    index range per role and one for personal tasks stays fast at a million instances.
    """
    columns = (TASKS.c.id, TASKS.c.instance_id, TASKS.c.state, TASKS.c.role, TASKS.c.scope,
               TASKS.c.assignee_id, TASKS.c.status, TASKS.c.created_at, TASKS.c.due_at)
    due_order = (TASKS.c.due_at.is_(None), TASKS.c.due_at, TASKS.c.id)

    def limited(stmt: Any) -> Any:
        return stmt.order_by(*due_order).limit(limit).subquery().select()

    parts = [limited(select(*columns).where(TASKS.c.status == OPEN,
                                            TASKS.c.assignee_id == user_id))]
    for role, scope in sorted(set(roles)):
        parts.append(limited(select(*columns).where(
            TASKS.c.status == OPEN, TASKS.c.assignee_id.is_(None),
            TASKS.c.role == role, TASKS.c.scope == scope)))
    merged = union_all(*parts).subquery()
    stmt = (
        select(merged, INSTANCES.c.workflow, INSTANCES.c.title, INSTANCES.c.created_by)
        .join(INSTANCES, INSTANCES.c.id == merged.c.instance_id)
        .order_by(merged.c.due_at.is_(None), merged.c.due_at, merged.c.id)
        .limit(limit)
    )
    if workflow:
        stmt = stmt.where(INSTANCES.c.workflow == workflow)
    if state:
        stmt = stmt.where(merged.c.state == state)
    return list(conn.execute(stmt))


def overdue(conn: Connection, now: datetime, limit: int) -> list[Any]:
    return list(conn.execute(
        select(TASKS.c.id, TASKS.c.instance_id, TASKS.c.state, TASKS.c.role, TASKS.c.scope,
               TASKS.c.assignee_id, TASKS.c.due_at)
        .where(TASKS.c.status == OPEN, TASKS.c.due_at.is_not(None), TASKS.c.due_at < now)
        .order_by(TASKS.c.due_at, TASKS.c.id).limit(limit)
    ))


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

