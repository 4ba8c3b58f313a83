"""In-app notifications (the bell): what a user has not read yet, and marking it read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update

from ..models import InAppNotification, table_of

NOTIFICATIONS = table_of(InAppNotification)


@dataclass(frozen=True)
class Notification:
    id: int
    key: str
    params: dict[str, Any]
    instance_id: int | None
    created_at: datetime
    read: bool


def unread_count(conn: Connection, user_id: int) -> int:
    n = NOTIFICATIONS.c
    return int(conn.execute(select(func.count()).where(n.user_id == user_id,
                                                       n.read_at.is_(None))).scalar_one())


def latest(conn: Connection, user_id: int, *, limit: int = 20,
           unread_only: bool = False) -> list[Notification]:
    n = NOTIFICATIONS.c
    stmt = select(NOTIFICATIONS).where(n.user_id == user_id).order_by(n.id.desc()).limit(limit)
    if unread_only:
        stmt = stmt.where(n.read_at.is_(None))
    return [Notification(r.id, r.key, dict(r.params), r.instance_id, r.created_at,
                         r.read_at is not None) for r in conn.execute(stmt)]


def mark_read(conn: Connection, user_id: int, ids: Iterable[int] | None, *,
              now: datetime) -> int:
    """Mark the user's notifications ``ids`` (all when None) read; the number changed."""
    n = NOTIFICATIONS.c
    stmt = update(NOTIFICATIONS).where(n.user_id == user_id, n.read_at.is_(None))
    if ids is not None:
        stmt = stmt.where(n.id.in_(list(ids)))
    return conn.execute(stmt.values(read_at=now)).rowcount
