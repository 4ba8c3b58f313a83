"""Replaying the audit trail of every stored instance reproduces its stored state and data."""

from __future__ import annotations

from sqlalchemy import select

from workflow import Engine
from workflow.store import INSTANCES


def assert_all_replay(engine: Engine) -> int:
    """Check ``engine.replay`` for every instance in the database; the number checked."""
    with engine.db.read() as conn:
        rows = list(conn.execute(select(INSTANCES.c.id, INSTANCES.c.state, INSTANCES.c.data)
                                 .order_by(INSTANCES.c.id)))
    for row in rows:
        state, data = engine.replay(row.id)
        assert (state, data) == (row.state, row.data), (
            f"instance {row.id}: replay gives {state!r} {data!r}, "
            f"stored {row.state!r} {row.data!r}"
        )
    return len(rows)
