"""Every row of every table, for tests that prove an action changed nothing.

``snapshot(db)`` reads every column of every table the database has, each table
ordered by its primary key; two snapshots compare with ``==``, and
``changes(before, after)`` says which tables differ and how.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect, text

from workflow import Database

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(db: Database) -> Snapshot:
    with db.read() as conn:
        return snapshot_of(conn)


def snapshot_of(conn: Connection) -> Snapshot:
    """Read through the database's own catalogue, so a table or column the models do not
    (yet) know is compared too."""
    inspector = inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    tables: Snapshot = {}
    for name in sorted(inspector.get_table_names()):
        columns = [c["name"] for c in inspector.get_columns(name)]
        key = inspector.get_pk_constraint(name).get("constrained_columns") or []
        listed = ", ".join(quote(c) for c in columns)
        query = f"SELECT {listed} FROM {quote(name)}"
        if key:
            query += " ORDER BY " + ", ".join(quote(c) for c in key)
        rows = [tuple(r) for r in conn.execute(text(query))]
        tables[name] = rows if key else sorted(rows, key=repr)
    return tables


def changes(before: Snapshot, after: Snapshot) -> list[str]:
    """What differs, one line per table: rows only before, rows only after."""
    found = []
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None or new is None:
            found.append(f"{name}: table {'added' if old is None else 'dropped'}")
            continue
        gone = [r for r in old if r not in new]
        added = [r for r in new if r not in old]
        found.append(f"{name}: {len(old)} -> {len(new)} rows; removed or changed {gone[:3]}; "
                     f"added or changed {added[:3]}")
    return found


def assert_unchanged(db: Database, before: Snapshot) -> None:
    differences = changes(before, snapshot(db))
    assert not differences, "\n".join(differences)
