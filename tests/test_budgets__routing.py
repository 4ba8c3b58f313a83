"""Yearly reward budgets: set by S&T admins, checked when a payout is created, over budget
routed to the general manager, remaining budget visible — on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.payout_helpers import bonus_folder, bonus_payout, to_awaiting_payment
from workflow import budgets
from workflow.errors import Forbidden, ValidationFailed


@pytest.fixture
def definitions_folder(tmp_path):
    """The shipped lifecycles plus ``bonus``, which spawns a payout in two actions."""
    return bonus_folder(tmp_path)


def _budget(engine, actor, department: str, amount: str) -> budgets.BudgetStatus:
    return budgets.set_budget(engine.db, actor=actor("sta_admin"), year=2026,
                              department=department, amount=amount, now=engine.clock.now())


def test_budgets__over_budget_goes_to_the_general_manager(engine, actor):
    _budget(engine, actor, "smelting", "1000.00")
    first = bonus_payout(engine, actor, "600.00")
    assert first.data["budget_check"]["within"] is True
    second = bonus_payout(engine, actor, "400.01")
    check = second.data["budget_check"]
    assert check["within"] is False
    assert check["budgets"] == [{"department": "smelting", "budget": "1000.00",
                                 "decided_before": "600.00", "remaining_after": "-0.01",
                                 "within": False}]
    assert engine.act(first.id, "confirm_list", actor=actor("sta_admin")).state == \
        "under_finance_review"
    routed = engine.act(second.id, "confirm_list", actor=actor("sta_admin"))
    assert routed.state == "under_general_manager_approval"
    with pytest.raises(Forbidden):
        engine.act(second.id, "approve_over_budget", actor=actor("finance"))
    approved = engine.act(second.id, "approve_over_budget", actor=actor("general_manager"))
    assert approved.state == "under_finance_review"
    status = budgets.remaining(engine.db, year=2026, department="smelting")
    assert status == budgets.BudgetStatus(2026, "smelting", Decimal("1000.00"),
                                          Decimal("1000.01"), Decimal(0), Decimal("-0.01"))


def test_budgets__exactly_the_budget_fits_and_the_company_budget_counts_too(engine, actor):
    _budget(engine, actor, "smelting", "500.00")
    _budget(engine, actor, "*", "700.00")
    assert bonus_payout(engine, actor, "500.00").data["budget_check"]["within"] is True
    power = bonus_payout(engine, actor, "300.00", department="power", who="power_engineer")
    check = power.data["budget_check"]
    assert check["within"] is False
    assert [b["department"] for b in check["budgets"]] == ["*"]


def test_budgets__no_budget_means_no_routing_and_cancelled_payouts_free_the_budget(engine,
                                                                                    actor):
    assert bonus_payout(engine, actor, "999999.00").data["budget_check"]["within"] is True
    _budget(engine, actor, "power", "100.00")
    big = bonus_payout(engine, actor, "100.00", department="power", who="power_engineer")
    engine.act(big.id, "cancel", actor=actor("sta_admin"), comment="duplicate")
    again = bonus_payout(engine, actor, "100.00", department="power", who="power_engineer")
    assert again.data["budget_check"]["within"] is True


def test_budgets__paid_and_remaining_by_year(engine, actor):
    _budget(engine, actor, "smelting", "10000.00")
    paid = to_awaiting_payment(engine, actor, bonus_payout(engine, actor, "1234.56").id)
    engine.act(paid.id, "confirm_payment", actor=actor("finance"),
               data={"payment_reference": "PAY-1"})
    bonus_payout(engine, actor, "100.00")
    [status] = budgets.budgets(engine.db, year=2026)
    assert status.as_json() == {"year": 2026, "department": "smelting", "budget": "10000.00",
                                "decided": "1334.56", "paid": "1234.56",
                                "remaining": "8665.44"}
    assert budgets.budgets(engine.db, year=2025) == []


def test_budgets__only_admins_set_them_and_bad_input_is_refused(engine, actor):
    with pytest.raises(Forbidden):
        budgets.set_budget(engine.db, actor=actor("finance"), year=2026,
                           department="smelting", amount="1.00", now=engine.clock.now())
    with pytest.raises(Forbidden):
        budgets.set_budget(engine.db, actor=actor("auditor"), year=2026,
                           department="smelting", amount="1.00", now=engine.clock.now())
    for department, year, amount, field in [("nowhere", 2026, "1.00", "department"),
                                            ("smelting", 1999, "1.00", "year"),
                                            ("smelting", 2026, "-1.00", "amount")]:
        with pytest.raises(ValidationFailed) as caught:
            budgets.set_budget(engine.db, actor=actor("sta_admin"), year=year,
                               department=department, amount=amount, now=engine.clock.now())
        assert field in caught.value.fields
    assert budgets.budgets(engine.db, year=2026) == []
    _budget(engine, actor, "smelting", "1.00")
    _budget(engine, actor, "smelting", "2.00")
    assert [b.budget for b in budgets.budgets(engine.db, year=2026)] == [Decimal("2.00")]


def test_budgets__concurrent_decisions_cannot_both_take_the_last_of_a_budget(engine, actor):
    import threading

    _budget(engine, actor, "smelting", "1000.00")
    starts = [engine.start("bonus", actor=actor("demo_proposer"), data={
        "title": "Bonus", "department": "smelting", "amount": "300.00"}) for _ in range(8)]
    barrier = threading.Barrier(len(starts))
    errors: list[BaseException] = []

    def decide(instance_id: int) -> None:
        try:
            barrier.wait(timeout=120)
            engine.act(instance_id, "decide", actor=actor("demo_proposer"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=(view.id,)) for view in starts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert errors == []
    found = [engine.get(engine.get(v.id, actor=actor("sta_admin")).links["payout"][0],
                        actor=actor("sta_admin")).data["budget_check"] for v in starts]
    assert sorted(c["within"] for c in found) == [False] * 5 + [True] * 3
    before = sorted(Decimal(c["budgets"][0]["decided_before"]) for c in found)
    assert before == [Decimal(300 * n) for n in range(8)]
