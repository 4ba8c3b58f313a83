"""The hot path's statements, run on the transaction's own DBAPI cursor.

An action's handful of statements through SQLAlchemy's statement machinery costs several
times what the database itself spends on them, so the few statements every action runs are
written once per dialect here and executed on the cursor of the same transaction. Values
are stored exactly as SQLAlchemy stores them (UTC timestamps, JSON), so everything else may
keep reading these tables through SQLAlchemy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Connection

from .recent import Recent

_NAMED = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


class Record(dict[str, Any]):
    """A row as a dict with attribute access (the dict is its own attribute namespace, so
    ``row.state`` costs what ``row["state"]`` does)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.__dict__ = self

    if TYPE_CHECKING:
        def __getattr__(self, name: str) -> Any: ...


_REMEMBERED = 512


def dumps(value: Any) -> str:
    """A document as JSON text: what ``json.dumps`` writes, compactly and several times
    faster. What orjson will not write (integers beyond 64 bits, say) goes to ``json``.
    NaN would be written as null, but validated data never holds one (``schema``)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


class Dialect:
    """How one database spells parameters, timestamps, JSON and booleans."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sqlite = name == "sqlite"
        self._cache: dict[str, str] = {}
        self._written: Recent[datetime, Any] = Recent(_REMEMBERED)
        self._read: Recent[str, datetime] = Recent(_REMEMBERED)
        """Timestamps converted lately, both ways: one action writes and reads the same
        few instants many times."""
        if not self.sqlite:
            from psycopg.types.json import Jsonb

            self._jsonb = partial(Jsonb, dumps=dumps)

    def sql(self, text: str) -> str:
        """``:name`` parameters in the database's own paramstyle (cached)."""
        found = self._cache.get(text)
        if found is None:
            found = text if self.sqlite else _NAMED.sub(r"%(\1)s", text.replace("%", "%%"))
            self._cache[text] = found
        return found

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        found = self._written.get(value)
        return self._written.remember(value, self._convert(value)) if found is None else found

    def _convert(self, value: datetime) -> Any:
        if value.tzinfo is None:
            raise ValueError("naive datetime given; times are timezone-aware")
        if self.sqlite:
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")
        return value

    def read_time(self, value: Any) -> Any:
        """A stored timestamp as an aware UTC datetime (None stays None)."""
        if value is None:
            return None
        if not isinstance(value, str):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        found = self._read.get(value)
        if found is None:
            found = self._read.remember(value,
                                        datetime.fromisoformat(value).replace(tzinfo=UTC))
        return found

    def json(self, value: Any) -> Any:
        if value is None:
            return None
        return dumps(value) if self.sqlite else self._jsonb(value)

    def read_json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value


_DIALECTS: dict[str, Dialect] = {}


def dialect_of(conn: Connection) -> Dialect:
    name = conn.dialect.name
    found = _DIALECTS.get(name)
    if found is None:
        found = _DIALECTS[name] = Dialect(name)
    return found


def run(conn: Connection, text: str, params: Mapping[str, Any] | None = None) -> Any:
    """Execute on the transaction's DBAPI cursor; the cursor, for fetching."""
    cursor = conn.connection.cursor()
    cursor.execute(dialect_of(conn).sql(text), params or {})
    return cursor


def run_many(conn: Connection, text: str, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        cursor = conn.connection.cursor()
        cursor.executemany(dialect_of(conn).sql(text), list(rows))


def in_list(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """Placeholders and parameters for ``IN (…)`` over ``values`` (not empty)."""
    params = {f"{prefix}{n}": v for n, v in enumerate(values)}
    return ", ".join(":" + name for name in params), params


def records(cursor: Any) -> Iterable[Record]:
    names = [d[0] for d in cursor.description]
    for row in cursor.fetchall():
        yield Record(zip(names, row, strict=True))
