"""Logins: credentials, session epochs, and throttling of failed attempts in the database.

The throttle lives in a table so every web process sees the same count. Service functions
take a connection (the caller owns the transaction) and keyword-only arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, insert, select, update

from . import org
from .actors import Actor
from .models import LoginThrottle, table_of

THROTTLE = table_of(LoginThrottle)
MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class SessionUser:
    actor: Actor
    name: str
    epoch: int


def check_password(conn: Connection, *, username: str, password: str) -> SessionUser | None:
    """The user when the password is right; None for a wrong password or an unknown user,
    after the same amount of work either way."""
    row = conn.execute(select(org.USERS).where(org.USERS.c.username == username,
                                               org.USERS.c.active.is_(True))).first()
    if not org.verify_password(row.password_hash if row else None, password) or row is None:
        return None
    return session_user(conn, user_id=row.id)


def session_user(conn: Connection, *, user_id: int) -> SessionUser | None:
    row = conn.execute(select(org.USERS.c.name, org.USERS.c.session_epoch)
                       .where(org.USERS.c.id == user_id)).first()
    actor = org.actor_by_id(conn, user_id)
    if row is None or actor is None:
        return None
    return SessionUser(actor, row.name, row.session_epoch)


def end_sessions(conn: Connection, *, user_id: int) -> None:
    """Invalidate every session of the user (logout everywhere)."""
    conn.execute(update(org.USERS).where(org.USERS.c.id == user_id)
                 .values(session_epoch=org.USERS.c.session_epoch + 1))


def locked(conn: Connection, *, keys: list[str], now: datetime) -> bool:
    rows = conn.execute(select(THROTTLE.c.locked_until).where(THROTTLE.c.key.in_(keys))).all()
    return any(r.locked_until is not None and r.locked_until > now for r in rows)


def record_failure(conn: Connection, *, keys: list[str], now: datetime) -> None:
    for key in keys:
        row = conn.execute(select(THROTTLE).where(THROTTLE.c.key == key)).first()
        if row is None:
            conn.execute(insert(THROTTLE).values(key=key, failures=1, window_started_at=now,
                                                 locked_until=None))
            continue
        failures = row.failures + 1
        started = row.window_started_at
        if now - started > WINDOW:
            failures, started = 1, now
        until = now + LOCKOUT if failures >= MAX_FAILURES else row.locked_until
        conn.execute(update(THROTTLE).where(THROTTLE.c.key == key).values(
            failures=failures, window_started_at=started, locked_until=until))


def clear_failures(conn: Connection, *, keys: list[str]) -> None:
    conn.execute(delete(THROTTLE).where(THROTTLE.c.key.in_(keys)))


def display_names(conn: Connection) -> list[tuple[str, str]]:
    """(username, name) of every active user, for pickers; one query however many users."""
    rows = conn.execute(select(org.USERS.c.username, org.USERS.c.name)
                        .where(org.USERS.c.active.is_(True)).order_by(org.USERS.c.username))
    return [(r.username, r.name) for r in rows]
