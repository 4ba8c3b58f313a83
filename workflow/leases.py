"""Claims with leases: how several scheduler processes share due work without doubling it.

A claimable table has ``status``, ``next_attempt_at``, ``attempts``, ``lease_owner`` and
``lease_until``. A claim takes due pending rows (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
SQLite: the write lock of ``BEGIN IMMEDIATE``), stamps the owner and pushes
``next_attempt_at`` to the end of the lease, so nobody else sees the rows until it
expires. Finishing is fenced by the owner: a worker whose lease ran out and was taken
over changes nothing. A worker that dies after claiming leaves rows that come back
once the lease expires. Each effect also carries a unique key, so a retried effect that
writes rows writes them once.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, func, select, update

PENDING, DONE, FAILED = "pending", "done", "failed"
DEFAULT_LEASE = timedelta(minutes=5)


def worker_name() -> str:
    """A name unique to this worker: host, process and a random part (threads share a pid)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(conn: Connection, table: Table, *, owner: str, now: datetime, limit: int,
          lease: timedelta = DEFAULT_LEASE, where: Sequence[Any] = ()) -> list[Any]:
    """Take up to ``limit`` due pending rows for ``owner`` until ``now + lease``."""
    c = table.c
    due = (select(c.id)
           .where(c.status == PENDING, c.next_attempt_at <= now, *where)
           .order_by(c.next_attempt_at, c.id)
           .limit(limit))
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    until = now + lease
    stmt = (update(table)
            .where(c.id.in_(due.scalar_subquery()))
            .values(lease_owner=owner, lease_until=until, next_attempt_at=until,
                    attempts=c.attempts + 1)
            .returning(*c))
    rows = list(conn.execute(stmt))
    rows.sort(key=lambda r: r.id)
    return rows


def finish(conn: Connection, table: Table, row_id: int, *, owner: str,
           **values: Any) -> bool:
    """Record the outcome of a claimed row; False when the lease was lost to someone else."""
    c = table.c
    result = conn.execute(
        update(table).where(c.id == row_id, c.lease_owner == owner, c.status == PENDING)
        .values(lease_owner=None, lease_until=None, **values))
    return result.rowcount == 1


def retry_later(conn: Connection, table: Table, row: Any, *, owner: str, now: datetime,
                error: str, backoff: Sequence[timedelta]) -> bool:
    """A failed attempt: try again after the backoff for this attempt, or give up (failed)."""
    if row.attempts >= len(backoff) + 1:
        return finish(conn, table, row.id, owner=owner, status=FAILED, last_error=error[:2000])
    delay = backoff[min(row.attempts, len(backoff)) - 1]
    return finish(conn, table, row.id, owner=owner, next_attempt_at=now + delay,
                  last_error=error[:2000])


def insert_once(conn: Connection, table: Table, rows: Sequence[dict[str, Any]],
                key: str) -> int:
    """Insert rows whose unique ``key`` is not taken yet (the driver's rowcount, or -1)."""
    if not rows:
        return 0
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=[key])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=[key])
    result = conn.execute(stmt, list(rows))
    return max(result.rowcount, 0)


def finish_many(conn: Connection, table: Table, row_ids: Sequence[int], *, owner: str,
                **values: Any) -> set[int]:
    """``finish`` for many rows at once; the ids whose lease was still ``owner``'s."""
    if not row_ids:
        return set()
    c = table.c
    result = conn.execute(
        update(table).where(c.id.in_(list(row_ids)), c.lease_owner == owner,
                            c.status == PENDING)
        .values(lease_owner=None, lease_until=None, **values).returning(c.id))
    return set(result.scalars())


def try_lock(conn: Connection, name: str) -> bool:
    """A transaction-long lock on ``name`` among PostgreSQL sessions (SQLite's write lock
    already serializes writers); False when someone else holds it."""
    if conn.dialect.name != "postgresql":
        return True
    key = int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "big", signed=True)
    return bool(conn.execute(select(func.pg_try_advisory_xact_lock(key))).scalar())
