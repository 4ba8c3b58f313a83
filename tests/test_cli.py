"""The ``innoflow`` command line against a temporary SQLite file (INNOFLOW_DATABASE_URL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from click.testing import CliRunner, Result

from tests.snapshot import assert_unchanged, snapshot
from workflow import Database, demo, org
from workflow.cli import cli
from workflow.clock import SystemClock
from workflow.migrate import current


@dataclass
class Cli:
    db: Database

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner(env={"INNOFLOW_DATABASE_URL": self.db.url})
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)


@pytest.fixture
def innoflow(tmp_path) -> Iterator[Cli]:
    """The CLI on an empty database file."""
    db = Database(f"sqlite:///{tmp_path}/cli.db")
    yield Cli(db)
    db.dispose()


@pytest.fixture
def organised(innoflow: Cli) -> Cli:
    """The CLI on a migrated database holding the demo organisation (no passwords)."""
    assert innoflow("db", "upgrade").exit_code == 0
    with innoflow.db.write() as conn:
        demo.load(conn, now=SystemClock().now(), password=None)
    return innoflow


def test_cli__db_upgrade_creates_the_schema(innoflow):
    result = innoflow("db", "upgrade")
    assert result.exit_code == 0, result.output
    revision = current(innoflow.db)
    assert revision
    assert f"schema at revision {revision}" in result.output
    with innoflow.db.read() as conn:
        assert org.list_users(conn) == []
    assert innoflow("db", "upgrade").exit_code == 0


def test_cli__demo_prints_every_user_whose_password_is_demo(innoflow):
    result = innoflow("demo")
    assert result.exit_code == 0, result.output
    printed = result.output.splitlines()
    for username, _name, department, roles in demo.USERS:
        line = next(line for line in printed if line.split()[:1] == [username])
        assert department in line
        for role in roles:
            assert role in line
    with innoflow.db.read() as conn:
        users = org.list_users(conn)
        hashes = dict(conn.execute(org.USERS.select().with_only_columns(
            org.USERS.c.username, org.USERS.c.password_hash)).all())
    assert sorted(u.username for u in users) == sorted(u[0] for u in demo.USERS)
    for user in users:
        assert org.verify_password(hashes[user.username], "demo"), user.username
    assert not org.verify_password(hashes["demo_proposer"], "not-demo")


def test_cli__users_add_stores_the_user_with_a_scoped_role(organised):
    result = organised("users", "add", "lin_head", "--role", "dept_head@smelting",
                       "--name", "林主任 Lin", "--department", "smelting", "--password-stdin",
                       input="long-enough-secret\n")
    assert result.exit_code == 0, result.output
    assert "lin_head" in result.output
    with organised.db.read() as conn:
        user = org.get_user(conn, "lin_head")
        stored = conn.execute(org.USERS.select().where(
            org.USERS.c.username == "lin_head")).one().password_hash
        actor = org.actor_by_username(conn, "lin_head")
    assert (user.name, user.department, user.roles) == (
        "林主任 Lin", "smelting", ("dept_head@smelting",))
    assert actor.holds("dept_head", "smelting")
    assert org.verify_password(stored, "long-enough-secret")


@pytest.mark.parametrize(("args", "field"), [
    (["new_user", "--role", "wizard"], "role"),
    (["new_user", "--role", "dept_head"], "role"),
    (["new_user", "--role", "dept_head@nowhere"], "role"),
    (["new_user", "--role", "finance@smelting"], "role"),
    (["new_user", "--department", "nowhere"], "department"),
    (["head_smelting", "--role", "dept_head@smelting"], "username"),
    (["bad name!"], "username"),
], ids=["unknown_role", "missing_scope", "unknown_scope", "scope_not_allowed",
        "unknown_department", "duplicate_username", "invalid_username"])
def test_cli__users_add_refuses_bad_input_and_stores_nothing(organised, args, field):
    before = snapshot(organised.db)

    result = organised("users", "add", *args, "--password-stdin", input="long-enough-secret\n")

    assert result.exit_code != 0
    assert f"{field}:" in result.output, result.output
    assert_unchanged(organised.db, before)


def test_cli__users_token_prints_a_token_that_authenticates(organised):
    result = organised("users", "token", "finance")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token and " " not in token
    with organised.db.read() as conn:
        actor = org.actor_by_token(conn, token)
        assert org.actor_by_token(conn, token + "x") is None
    assert actor is not None
    assert actor.username == "finance"
    assert actor.holds("finance")


def test_cli__users_token_for_an_unknown_user_fails(organised):
    before = snapshot(organised.db)
    result = organised("users", "token", "nobody")
    assert result.exit_code != 0
    assert "user_not_found" in result.output
    assert_unchanged(organised.db, before)


def test_cli__users_list_json_is_one_array_of_users(organised):
    result = organised("users", "list", "--json")
    assert result.exit_code == 0, result.output
    users = json.loads(result.output)
    assert isinstance(users, list)
    assert all(set(u) == {"username", "name", "department", "roles"} for u in users)
    expected = sorted(
        ({"username": username, "name": name, "department": department, "roles": roles}
         for username, name, department, roles in demo.USERS),
        key=lambda u: u["username"])
    assert sorted(users, key=lambda u: u["username"]) == expected
