"""``Database.one_read``: one statement with no transaction around it, for the token check of
every API request, and a connection that goes back as it came."""

from __future__ import annotations

from typing import Any

import pytest

from workflow import Database, Engine, FakeClock, org, rawsql

LOOKUP = "SELECT username FROM users WHERE username = :name"


def _driver(conn: Any) -> Any:
    return conn.connection.dbapi_connection


def test_the_statement_runs_alone_without_begin_or_commit(database: Database,
                                                         engine: Engine) -> None:
    with database.one_read() as conn:
        driver = _driver(conn)
        if database.is_sqlite:
            sent: list[str] = []
            driver.set_trace_callback(sent.append)
        found = rawsql.run(conn, LOOKUP, {"name": "head_smelting"}).fetchall()
        if database.is_sqlite:
            driver.set_trace_callback(None)
            assert [s.split()[0] for s in sent] == ["SELECT"]
        else:
            import psycopg

            assert driver.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    assert found == [("head_smelting",)]


def test_the_connection_goes_back_ready_for_transactions(database: Database,
                                                         engine: Engine) -> None:
    with database.one_read() as conn:
        rawsql.run(conn, LOOKUP, {"name": "head_smelting"}).fetchall()
        used = _driver(conn)
    with database.read() as conn:
        assert _driver(conn) is used, "the connection was not kept for the next request"
        if not database.is_sqlite:
            assert used.autocommit is False
        rawsql.run(conn, LOOKUP, {"name": "head_smelting"}).fetchall()
        assert conn.in_transaction()


def test_an_error_leaves_no_autocommit_connection_behind(database: Database,
                                                         engine: Engine) -> None:
    with pytest.raises(ZeroDivisionError), database.one_read() as conn:
        used = _driver(conn)
        1 / 0  # noqa: B018
    if not database.is_sqlite:
        assert used.autocommit is False
    with database.write() as conn:  # a write after the error is still one transaction
        rawsql.run(conn, "UPDATE users SET name = 'x' WHERE username = 'head_smelting'")
        if not database.is_sqlite:
            assert _driver(conn).autocommit is False


def test_a_revoked_token_is_refused_on_the_next_read(database: Database, engine: Engine,
                                                    clock: FakeClock) -> None:
    with database.write() as conn:
        token = org.issue_token(conn, username="head_smelting", now=clock.now())
    with database.one_read() as conn:
        actor = org.actor_by_token(conn, token)
    assert actor is not None and actor.username == "head_smelting"
    with database.write() as conn:
        [mine] = org.tokens_of(conn, user_id=actor.id)
        assert org.revoke_token(conn, user_id=actor.id, token_id=mine.id)
    with database.one_read() as conn:
        assert org.actor_by_token(conn, token) is None
