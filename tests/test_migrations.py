"""Migrations build exactly the schema of ``workflow/models.py``, on SQLite and PostgreSQL.

The PostgreSQL case works in a schema of its own (through ``search_path``), dropped and
created anew, so it never meets the tables the other engine tests use.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, insert, make_url, select, text

from tests.conftest import BACKENDS, POSTGRES_URL
from workflow import Database
from workflow.migrate import alembic_config, current, upgrade
from workflow.models import Base, Department

SCHEMA = "innoflow_migration_check"
DEPARTMENTS = Department.__table__


def _own_schema(url: str) -> str:
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={SCHEMA}"})
    return with_path.render_as_string(hide_password=False)


def _reset_schema(url: str, *, recreate: bool = True) -> None:
    admin = create_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            if recreate:
                conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    finally:
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path}/fresh.db")
    else:
        assert POSTGRES_URL is not None
        _reset_schema(POSTGRES_URL)
        db = Database(_own_schema(POSTGRES_URL))
    try:
        yield db
    finally:
        db.dispose()
        if request.param == "postgresql":
            assert POSTGRES_URL is not None
            _reset_schema(POSTGRES_URL, recreate=False)


def differences(db: Database) -> list[object]:
    with db.writer.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def table_names(db: Database) -> set[str]:
    with db.writer.connect() as conn:
        return set(conn.dialect.get_table_names(conn))


def head(db: Database) -> str | None:
    return ScriptDirectory.from_config(alembic_config(db)).get_current_head()


def test_migrations__upgrade_builds_the_models_schema(empty_database):
    assert table_names(empty_database) == set()

    upgrade(empty_database)

    assert table_names(empty_database) == {*Base.metadata.tables, "alembic_version"}
    assert differences(empty_database) == []
    assert current(empty_database) == head(empty_database)


def test_migrations__upgrading_twice_is_harmless(empty_database):
    upgrade(empty_database)
    with empty_database.write() as conn:
        conn.execute(insert(DEPARTMENTS).values(code="smelting", name_zh="电解铝厂",
                                                name_en="Smelting plant"))

    upgrade(empty_database)

    assert differences(empty_database) == []
    assert current(empty_database) == head(empty_database)
    with empty_database.read() as conn:
        assert conn.execute(select(DEPARTMENTS.c.code)).scalars().all() == ["smelting"]
