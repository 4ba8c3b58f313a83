"""``innoflow audit verify`` finds every kind of tampering done behind the engine's back.

Each case changes the audit trail with raw SQL, the way someone with database access
would, and the command must exit 1 naming the first broken link: instance and event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Connection, func, select, text

from tests.factories import act, make_instance, suggestion_to_committee
from workflow import Database, Engine, store
from workflow.audit import event_hash
from workflow.cli import cli

FORGED_HASH = "f" * 64


def verify(database: Database) -> Result:
    runner = CliRunner(env={"INNOFLOW_DATABASE_URL": database.url})
    return runner.invoke(cli, ["audit", "verify"], catch_exceptions=False)


@pytest.fixture
def trail(engine: Engine, actor) -> dict[str, int]:
    """Three instances with several events each; the one in the middle is the victim."""
    first = make_instance(engine, actor("demo_proposer"), "suggestion")
    act(engine, first, "approve", actor("head_smelting"))
    victim = suggestion_to_committee(engine, actor)
    victim = act(engine, victim, "adopt", actor("committee_office"), comment="Worth doing.")
    last = make_instance(engine, actor("power_engineer"), "suggestion", department="power")
    act(engine, last, "return_for_revision", actor("head_power"), comment="Add the figures.")
    with engine.db.read() as conn:
        newest = conn.execute(select(func.max(store.EVENTS.c.seq))
                              .where(store.EVENTS.c.instance_id == victim.id)).scalar_one()
    assert first.id < victim.id < last.id
    assert newest >= 5
    return {"instance": victim.id, "newest": newest}


def _event(conn: Connection, instance_id: int, seq: int) -> dict[str, Any]:
    return dict(conn.execute(select(store.EVENTS).where(
        store.EVENTS.c.instance_id == instance_id, store.EVENTS.c.seq == seq)).mappings().one())


def edit_comment(conn: Connection, instance: int, newest: int) -> int:
    conn.execute(text("UPDATE audit_events SET comment = 'approved without objection' "
                      "WHERE instance_id = :i AND seq = 3"), {"i": instance})
    return 3


def edit_data(conn: Connection, instance: int, newest: int) -> int:
    json = "CAST(:d AS jsonb)" if conn.dialect.name == "postgresql" else ":d"
    conn.execute(text(f"UPDATE audit_events SET data = {json} "
                      "WHERE instance_id = :i AND seq = 4"),
                 {"i": instance, "d": '{"innovation": 100, "feasibility": 100, "benefit": 100}'})
    return 4


def delete_middle(conn: Connection, instance: int, newest: int) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE instance_id = :i AND seq = 3"),
                 {"i": instance})
    return 3


def delete_newest(conn: Connection, instance: int, newest: int) -> int:
    conn.execute(text("DELETE FROM audit_events WHERE instance_id = :i AND seq = :s"),
                 {"i": instance, "s": newest})
    return newest


def swap_two(conn: Connection, instance: int, newest: int) -> int:
    for old, new in ((2, -1), (3, 2), (-1, 3)):
        conn.execute(text("UPDATE audit_events SET seq = :new "
                          "WHERE instance_id = :i AND seq = :old"),
                     {"i": instance, "old": old, "new": new})
    return 2


_COPY_NEWEST = (
    "INSERT INTO audit_events (instance_id, seq, at, actor, on_behalf_of, action, outcome, "
    "from_state, to_state, fired, target, comment, data, changes, prev_hash, hash) "
    "SELECT instance_id, seq + 1, at, 'committee_member', on_behalf_of, action, outcome, "
    "from_state, to_state, fired, target, 'forged', data, changes, hash, :h "
    "FROM audit_events WHERE instance_id = :i AND seq = :s"
)


def insert_forged(conn: Connection, instance: int, newest: int) -> int:
    conn.execute(text(_COPY_NEWEST), {"i": instance, "s": newest, "h": FORGED_HASH})
    return newest + 1


def insert_forged_with_valid_hash(conn: Connection, instance: int, newest: int) -> int:
    """A forger who knows the hash function: the new event chains correctly to the newest."""
    conn.execute(text(_COPY_NEWEST), {"i": instance, "s": newest, "h": FORGED_HASH})
    forged = _event(conn, instance, newest + 1)
    conn.execute(text("UPDATE audit_events SET hash = :h WHERE instance_id = :i AND seq = :s"),
                 {"h": event_hash(forged), "i": instance, "s": newest + 1})
    return newest + 1


def replace_newest_with_valid_hash(conn: Connection, instance: int, newest: int) -> int:
    """The newest event rewritten and re-hashed: only the instance's record of it disagrees."""
    conn.execute(text("UPDATE audit_events SET comment = 'forged' "
                      "WHERE instance_id = :i AND seq = :s"), {"i": instance, "s": newest})
    rewritten = _event(conn, instance, newest)
    conn.execute(text("UPDATE audit_events SET hash = :h WHERE instance_id = :i AND seq = :s"),
                 {"h": event_hash(rewritten), "i": instance, "s": newest})
    return newest


TAMPERING: dict[str, Callable[[Connection, int, int], int]] = {
    "edit_comment": edit_comment,
    "edit_data": edit_data,
    "delete_middle_event": delete_middle,
    "delete_newest_event": delete_newest,
    "swap_two_events": swap_two,
    "insert_forged_event": insert_forged,
    "insert_forged_event_with_valid_hash": insert_forged_with_valid_hash,
    "replace_newest_event_with_valid_hash": replace_newest_with_valid_hash,
}


def test_audit__verify_passes_an_intact_trail(database, trail):
    with database.read() as conn:
        total = conn.execute(select(func.count()).select_from(store.EVENTS)).scalar_one()
    result = verify(database)
    assert result.exit_code == 0, result.output
    assert f"{total} events verified" in result.output
    assert "BROKEN" not in result.output


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_audit__verify_names_the_first_broken_link(database, trail, how):
    with database.write() as conn:
        seq = TAMPERING[how](conn, trail["instance"], trail["newest"])

    result = verify(database)

    assert result.exit_code == 1, result.output
    assert f"BROKEN: instance {trail['instance']}, event {seq}:" in result.output
