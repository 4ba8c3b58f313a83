"""Confirming a payment: 20 finance clerks at once pay once; monthly batches; failure and
retry — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.payout_helpers import bonus_folder, bonus_payout, to_awaiting_payment
from workflow import Engine, payouts, store
from workflow.errors import InvalidAction, VersionConflict, WorkflowError

CLERKS = 20


@pytest.fixture
def definitions_folder(tmp_path):
    """The shipped lifecycles plus ``bonus``, which spawns a payout in two actions."""
    return bonus_folder(tmp_path)


def _events(engine: Engine, instance_id: int, action: str) -> list:
    with engine.db.read() as conn:
        return list(conn.execute(select(store.EVENTS).where(
            store.EVENTS.c.instance_id == instance_id, store.EVENTS.c.action == action)))


def test_payout__twenty_concurrent_confirmations_pay_once(engine, actor):
    payout = bonus_payout(engine, actor, "5000.00")
    payout = to_awaiting_payment(engine, actor, payout.id)
    finance = [actor("finance"), actor("finance_2")]
    version = payout.version
    barrier = threading.Barrier(CLERKS)
    results: list[object] = [None] * CLERKS

    def confirm(i: int) -> None:
        # Half send the same reference, a quarter a different one, a quarter a stale version.
        reference = "PAY-2026-1" if i % 4 in (0, 1) else f"PAY-2026-{i}"
        expected = version - 1 if i % 4 == 3 else version
        barrier.wait(timeout=120)
        try:
            results[i] = engine.act(payout.id, "confirm_payment", actor=finance[i % 2],
                                    data={"payment_reference": reference},
                                    expected_version=expected)
        except WorkflowError as exc:
            results[i] = exc

    threads = [threading.Thread(target=confirm, args=(i,)) for i in range(CLERKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    kinds = Counter(type(r).__name__ for r in results)
    assert set(kinds) <= {"InstanceView", "InvalidAction", "VersionConflict"}, results
    paid = _events(engine, payout.id, "confirm_payment")
    assert len(paid) == 1
    winner = paid[0].data["payment_reference"]
    for i, result in enumerate(results):
        reference = "PAY-2026-1" if i % 4 in (0, 1) else f"PAY-2026-{i}"
        if isinstance(result, InvalidAction):
            assert result.message == "already_done_differently" and reference != winner
        elif isinstance(result, VersionConflict):
            assert i % 4 == 3
        else:
            assert result.state == "paid" and reference == winner  # the payment or a replay
            assert result.version == version + 1
    final = engine.get(payout.id, actor=actor("finance"))
    assert final.state == "paid" and final.version == version + 1


def test_payout__same_reference_answers_the_same_a_different_one_conflicts(engine, actor):
    payout = to_awaiting_payment(engine, actor, bonus_payout(engine, actor, "12.34").id)
    first = engine.act(payout.id, "confirm_payment", actor=actor("finance"),
                       data={"payment_reference": "PAY-7"})
    again = engine.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                       data={"payment_reference": "PAY-7"}, expected_version=payout.version)
    assert (again.state, again.version) == (first.state, first.version)
    with pytest.raises(InvalidAction):
        engine.act(payout.id, "confirm_payment", actor=actor("finance"),
                   data={"payment_reference": "PAY-8"})
    assert len(_events(engine, payout.id, "confirm_payment")) == 1


def test_payout__failure_and_retry_then_paid(engine, actor):
    payout = to_awaiting_payment(engine, actor, bonus_payout(engine, actor, "800.00").id)
    failed = engine.act(payout.id, "report_failure", actor=actor("finance"),
                        comment="bank account closed")
    assert failed.state == "payment_failed"
    retried = engine.act(payout.id, "retry", actor=actor("finance"))
    assert retried.state == "awaiting_payment"
    paid = engine.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                      data={"payment_reference": "PAY-9"})
    assert paid.state == "paid"


def test_payout__monthly_batch_confirms_each_on_its_own(engine, actor):
    ids = [bonus_payout(engine, actor, f"{100 + i}.50").id for i in range(5)]
    for payout_id in ids[:4]:
        to_awaiting_payment(engine, actor, payout_id)
    finance = actor("finance")
    waiting = payouts.awaiting_payment(engine, actor=finance)
    assert [pid for pid, _ in waiting] == ids[:4]
    stale = (waiting[0][0], waiting[0][1] - 1)
    result = payouts.confirm_batch(engine, [stale, *waiting[1:], ids[4]], actor=finance,
                                   batch_reference="BATCH-2026-11")
    assert result.confirmed == 3
    assert result.total == Decimal("101.50") + Decimal("102.50") + Decimal("103.50")
    errors = {line.payout_id: line.error for line in result.lines if not line.ok}
    assert errors == {ids[0]: "version_conflict", ids[4]: "invalid_action"}
    for line in result.lines[1:4]:
        events = _events(engine, line.payout_id, "confirm_payment")
        assert [e.data["payment_reference"] for e in events] == [line.payment_reference]
        assert line.payment_reference == f"BATCH-2026-11-{line.payout_id}"
    again = payouts.confirm_batch(engine, ids[:4], actor=finance,
                                  batch_reference="BATCH-2026-11")
    assert again.confirmed == 4  # the three paid ones are replays; the stale one now pays
    assert sum(len(_events(engine, i, "confirm_payment")) for i in ids[:4]) == 4
    other = payouts.confirm_batch(engine, ids[:1], actor=finance,
                                  batch_reference="BATCH-2026-12")
    assert [line.error for line in other.lines] == ["invalid_action"]


def test_payout__batch_reference_is_checked(engine, actor):
    with pytest.raises(WorkflowError) as caught:
        payouts.confirm_batch(engine, [1], actor=actor("finance"), batch_reference="x y")
    assert caught.value.code == "validation_failed"
