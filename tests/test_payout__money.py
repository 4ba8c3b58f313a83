"""Money through the engine and the database, on SQLite and PostgreSQL: amounts survive
exactly, more than two decimals are refused (never rounded), splits add up to the total
and no payout line is zero or negative."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.payout_helpers import bonus_folder, bonus_payout
from workflow import budgets, store
from workflow.errors import ValidationFailed

MONEY_SETTINGS = settings(max_examples=25, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                 HealthCheck.too_slow])
PEOPLE = ["demo_proposer", "demo_colleague", "power_engineer"]


@pytest.fixture
def definitions_folder(tmp_path):
    """The shipped lifecycles plus ``bonus``, which spawns a payout in two actions."""
    return bonus_folder(tmp_path)


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"),
                      places=2, allow_nan=False, allow_infinity=False)


@st.composite
def teams(draw):
    size = draw(st.integers(min_value=1, max_value=3))
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=99), min_size=size - 1,
                               max_size=size - 1)))
    bounds = [0, *cuts, 100]
    return [{"username": PEOPLE[i], "share": bounds[i + 1] - bounds[i]} for i in range(size)]


@MONEY_SETTINGS
@given(amount=amounts, team=teams(), data=st.data())
def test_payout__amounts_survive_engine_database_engine(engine, actor, amount, team, data):
    text = format(amount, "f")
    receiver = data.draw(st.sampled_from([m["username"] for m in team]))
    payout = bonus_payout(engine, actor, text, team=team, remainder_to=receiver)
    again = engine.get(payout.id, actor=actor("finance"))
    assert again.data["amount"] == text
    assert Decimal(again.data["amount"]) == amount
    lines = again.data["lines"]
    assert sum(Decimal(line["amount"]) for line in lines) == amount
    assert all(Decimal(line["amount"]) > 0 for line in lines)
    assert all(len(line["amount"].split(".")[1]) == 2 for line in lines)
    assert again.data["remainder_to"] == receiver
    assert again.data["reward"]["amount"] == text


@MONEY_SETTINGS
@given(amount=amounts)
def test_payout__budget_amounts_survive_the_numeric_column(engine, actor, amount):
    budgets.set_budget(engine.db, actor=actor("sta_admin"), year=2026, department="power",
                       amount=format(amount, "f"), now=engine.clock.now())
    found = budgets.remaining(engine.db, year=2026, department="power")
    assert found is not None and found.budget == amount
    assert found.as_json()["budget"] == format(amount, "f")


@pytest.mark.parametrize("amount", ["10.001", "0.009", "1e3", "12.5.0", "-", "1,000.00"])
def test_payout__extra_decimals_are_refused_and_nothing_is_stored(engine, actor, amount):
    with engine.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(store.INSTANCES)).scalar()
    with pytest.raises(ValidationFailed) as caught:
        engine.start("bonus", actor=actor("demo_proposer"),
                     data={"title": "Bonus", "department": "smelting", "amount": amount})
    assert "amount" in caught.value.fields
    with pytest.raises(ValidationFailed):
        budgets.set_budget(engine.db, actor=actor("sta_admin"), year=2026,
                           department="power", amount=amount, now=engine.clock.now())
    with engine.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store.INSTANCES)).scalar() == before
        assert conn.execute(select(func.count()).select_from(budgets.BUDGETS)).scalar() == 0


def test_payout__a_float_is_not_money(engine, actor):
    with pytest.raises(ValidationFailed):
        engine.start("bonus", actor=actor("demo_proposer"),
                     data={"title": "Bonus", "department": "smelting", "amount": 10.5})
    with pytest.raises(ValidationFailed):
        budgets.set_budget(engine.db, actor=actor("sta_admin"), year=2026,
                           department="power", amount=10.5, now=engine.clock.now())


def test_payout__a_team_that_does_not_add_up_pays_nobody(engine, actor):
    with pytest.raises(ValidationFailed) as caught:
        bonus_payout(engine, actor, "100.00", team=[{"username": "demo_proposer", "share": 60},
                                                    {"username": "demo_colleague", "share": 30}])
    assert caught.value.message == "shares_total"
    with engine.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store.INSTANCES)
                            .where(store.INSTANCES.c.workflow == "payout")).scalar() == 0
