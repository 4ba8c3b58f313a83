"""Fixtures: database (SQLite always, PostgreSQL when INNOFLOW_TEST_POSTGRES_URL is set),
a fake clock, an engine with the shipped definitions and the demo organisation."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from workflow import Actor, Database, Engine, FakeClock, demo, org
from workflow.calendar import WorkingCalendar
from workflow.models import Base

POSTGRES_URL = os.environ.get("INNOFLOW_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]

MONDAY_MORNING = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
"""A named point in time: the tests' working week starts here."""

_CALENDAR = WorkingCalendar.from_package(range(2024, 2028))
_pg_ready = False


def _postgres() -> Database:
    global _pg_ready
    assert POSTGRES_URL is not None
    db = Database(POSTGRES_URL)
    if not _pg_ready:
        Base.metadata.drop_all(db.writer)
        Base.metadata.create_all(db.writer)
        _pg_ready = True
    else:
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with db.write() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return db


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/innoflow.db")
        db.create_all()
    else:
        db = _postgres()
    yield db
    db.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY_MORNING)


@pytest.fixture
def calendar() -> WorkingCalendar:
    return _CALENDAR


@pytest.fixture
def definitions_folder() -> Path | None:
    """The shipped definitions; a test module overrides this to run its own lifecycles."""
    return None


@pytest.fixture
def engine(database: Database, clock: FakeClock, calendar: WorkingCalendar,
           definitions_folder: Path | None) -> Engine:
    engine = Engine(database, clock=clock, calendar=calendar, definitions=definitions_folder)
    engine.load_definitions()
    with database.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
    return engine


@pytest.fixture
def actor(engine: Engine):
    """``actor("head_smelting")`` → the Actor of a demo user."""

    def get(username: str) -> Actor:
        with engine.db.read() as conn:
            return org.actor_by_username(conn, username)

    return get
