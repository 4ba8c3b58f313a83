"""委托 standing delegation: a substitute acts on the principal's tasks while they are away.

Tasks that arrive in the window may be acted on by the substitute, recorded as "X on
behalf of Y". Never on the substitute's own items, and never chained: only tasks the
principal holds directly are covered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from . import authz, rawsql
from .actors import Actor
from .definition import Transition
from .errors import Forbidden, NotFound, ValidationFailed
from .models import Delegation, table_of
from .org import actor_by_id, actor_by_username
from .store import USERS, TaskRow

DELEGATIONS = table_of(Delegation)


@dataclass(frozen=True)
class DelegationView:
    id: int
    principal: str
    substitute: str
    starts_at: datetime
    ends_at: datetime
    revoked_at: datetime | None


def create(conn: Connection, *, principal: Actor, substitute: str, starts_at: datetime,
           ends_at: datetime, now: datetime) -> DelegationView:
    if principal.is_system or principal.read_only:
        raise Forbidden("read_only")
    problems: dict[str, str] = {}
    try:
        person = actor_by_username(conn, substitute)
    except NotFound:
        person = None
        problems["substitute"] = f"unknown user {substitute!r}"
    if person is not None and person.id == principal.id:
        problems["substitute"] = "cannot delegate to oneself"
    elif person is not None and person.read_only:
        problems["substitute"] = "an auditor cannot act for others"
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        problems["starts_at"] = "times need a time zone"
    elif ends_at <= starts_at:
        problems["ends_at"] = "must be after starts_at"
    elif ends_at <= now:
        problems["ends_at"] = "must be in the future"
    if problems:
        raise ValidationFailed("invalid_delegation", fields=problems)
    assert person is not None
    new_id = conn.execute(insert(DELEGATIONS).values(
        principal_id=principal.id, substitute_id=person.id, starts_at=starts_at,
        ends_at=ends_at, created_at=now, revoked_at=None).returning(DELEGATIONS.c.id)).scalar_one()
    return DelegationView(int(new_id), principal.username, person.username, starts_at, ends_at,
                          None)


def windows(conn: Connection, substitute_id: int) -> list[rawsql.Record]:
    """The live delegations to this substitute (on every action, so kept cheap)."""
    d = rawsql.dialect_of(conn)
    cursor = rawsql.run(conn, "SELECT principal_id, starts_at, ends_at FROM delegations "
                              "WHERE substitute_id = :s AND revoked_at IS NULL",
                        {"s": substitute_id})
    found = list(rawsql.records(cursor))
    for row in found:
        row["starts_at"], row["ends_at"] = d.read_time(row["starts_at"]), d.read_time(
            row["ends_at"])
    return found


def revoke(conn: Connection, delegation_id: int, *, principal: Actor, now: datetime) -> None:
    row = conn.execute(select(DELEGATIONS).where(DELEGATIONS.c.id == delegation_id)).first()
    if row is None or row.principal_id != principal.id:
        raise NotFound("delegation_not_found", id=delegation_id)
    conn.execute(update(DELEGATIONS).where(DELEGATIONS.c.id == delegation_id,
                                           DELEGATIONS.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def of(conn: Connection, actor: Actor) -> list[DelegationView]:
    """Delegations the actor gave or received."""
    principal = USERS.alias("principal")
    substitute = USERS.alias("substitute")
    rows = conn.execute(
        select(DELEGATIONS, principal.c.username.label("p"), substitute.c.username.label("s"))
        .join(principal, principal.c.id == DELEGATIONS.c.principal_id)
        .join(substitute, substitute.c.id == DELEGATIONS.c.substitute_id)
        .where(or_(DELEGATIONS.c.principal_id == actor.id,
                   DELEGATIONS.c.substitute_id == actor.id))
        .order_by(DELEGATIONS.c.starts_at.desc())
    )
    return [DelegationView(r.id, r.p, r.s, r.starts_at, r.ends_at, r.revoked_at) for r in rows]


# ------------------------------------------------------------------ acting as substitute


def authorize(conn: Connection, spec: Transition, actor: Actor, row: Any,
               tasks: Sequence[TaskRow]) -> tuple[TaskRow | None, Actor | None]:
    """The task the actor acts on, and the principal when acting as a substitute."""
    try:
        return authz.authorize(spec, actor, created_by=row.created_by, data=row.data,
                               tasks=tasks), None
    except Forbidden as exc:
        if exc.message != "not_assigned":
            raise
        delegated = delegated_task(conn, actor, row, tasks)
        if delegated is None:
            raise
        return delegated


def may_stand_in(actor: Actor, principal: Actor, *, created_by: int,
                 data: Mapping[str, Any]) -> bool:
    """Whether the actor may act for the principal on this item at all: never when either
    of them created it or is named on it. The inbox lists a principal's tasks by this too."""
    return not (actor.read_only or authz.is_party(actor, created_by, data)
                or authz.is_party(principal, created_by, data))


def delegated_task(conn: Connection, actor: Actor, row: Any,
                   tasks: Sequence[TaskRow]) -> tuple[TaskRow, Actor] | None:
    """委托: a principal's open task that arrived while the actor was their substitute.

    Only tasks the principal holds directly count, so delegations never chain.
    """
    if actor.read_only or authz.is_party(actor, row.created_by, row.data):
        return None
    if not row.get("substituting", True):
        return None  # read with the instance, for this actor: nobody's substitute now
    for window in windows(conn, actor.id):
        principal = actor_by_id(conn, window.principal_id)
        if principal is None or not may_stand_in(actor, principal, created_by=row.created_by,
                                                 data=row.data):
            continue
        for task in tasks:
            if authz.holds_task(principal, task) and \
                    window.starts_at <= task.created_at < window.ends_at:
                return task, principal
    return None


def holding(conn: Connection, actor: Actor, row: Any, tasks: Sequence[TaskRow]
            ) -> tuple[TaskRow | None, Actor | None]:
    """The open task the actor holds here, directly or as a substitute."""
    if actor.is_system or actor.read_only or authz.is_party(actor, row.created_by, row.data):
        return None, None
    for task in tasks:
        if authz.holds_task(actor, task):
            return task, None
    found = delegated_task(conn, actor, row, tasks)
    return found if found else (None, None)
