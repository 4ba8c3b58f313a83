"""Reward rules and the split, as pure functions: grade tables by year, bands of annual
savings, percentage with floor and cap, multipliers, rounding once, shares adding to 100."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workflow import rewards
from workflow.definition import default_folder, parse
from workflow.errors import ValidationFailed
from workflow.money import parse_money


def _rules(workflow: str) -> list[dict]:
    text = (default_folder() / f"{workflow}.yaml").read_text(encoding="utf-8")
    return parse(text).extra["rewards"]["rules"]


SUGGESTION = _rules("suggestion")
AWARD = _rules("award")


def test_rewards__award_grade_table_depends_on_year_and_kind():
    second_2025 = rewards.compute(AWARD, {"grade": "second", "kind": "technical_innovation"},
                                  2025)
    assert second_2025.amount == Decimal("3000.00")
    assert second_2025.rule == "技术创新奖奖励办法（2024版）"
    progress = rewards.compute(AWARD, {"grade": "first", "kind": "sci_tech_progress"}, 2024)
    assert progress.amount == Decimal("30000.00")
    assert rewards.compute(AWARD, {"grade": "second", "kind": "technical_innovation"},
                           2026).amount == Decimal("20000.00")


def test_rewards__suggestion_takes_the_higher_of_grade_and_benefit_band():
    low = rewards.compute(SUGGESTION, {"grade": "second", "verified_benefit": "40000.00",
                                       "category": "rationalization"}, 2025)
    assert (low.amount, low.components["benefit_bands"]) == (Decimal("1000.00"), Decimal(0))
    high = rewards.compute(SUGGESTION, {"grade": "second", "verified_benefit": "250000.00",
                                        "category": "rationalization"}, 2025)
    assert high.amount == Decimal("3000.00")
    assert high.record()["inputs"] == {"grade": "second", "verified_benefit": "250000.00",
                                       "category": "rationalization"}


def test_rewards__five_small_multiplier_and_cap():
    small = rewards.compute(SUGGESTION, {"grade": "third", "category": "small_invention"}, 2025)
    assert (small.base, small.multiplier, small.amount) == (
        Decimal("500.00"), Decimal("1.2"), Decimal("600.00"))
    huge = rewards.compute(SUGGESTION, {"grade": "first", "verified_benefit": "9000000.00",
                                        "category": "small_design"}, 2026)
    assert huge.components["benefit_percent"] == Decimal("50000.00")  # the percentage's cap
    assert huge.amount == Decimal("60000.00")


def test_rewards__percentage_has_a_floor_and_is_rounded_once_half_up():
    rule = [{"name": "p", "benefit_percent": {"field": "b", "percent": "1.5", "floor": "10.00",
                                              "cap": "999.00"}}]
    assert rewards.compute(rule, {"b": "100.00"}, 2026).amount == Decimal("10.00")
    # 1.5% of 1234.57 is 18.51855: rounded once, at the end, half up.
    assert rewards.compute(rule, {"b": "1234.57"}, 2026).amount == Decimal("18.52")
    assert rewards.compute(rule, {"b": "1234.30"}, 2026).amount == Decimal("18.51")


def test_rewards__an_entered_amount_is_recorded_as_the_decision():
    decision = rewards.compute(SUGGESTION, {"grade": "first", "reward_decided": "3000.00",
                                            "category": "small_invention"}, 2026)
    assert decision.amount == Decimal("3000.00")
    assert decision.record()["components"]["grade_table"] == "3000.00"
    assert decision.multiplier == 1


def test_rewards__no_rule_for_the_year_and_bad_amounts_are_refused():
    with pytest.raises(ValidationFailed) as caught:
        rewards.compute(AWARD[1:], {"grade": "first", "kind": "sci_tech_progress"}, 2026)
    assert caught.value.message == "no_reward_rule"
    with pytest.raises(ValidationFailed) as caught:
        rewards.compute(SUGGESTION, {"grade": "first", "verified_benefit": "10.001"}, 2026)
    assert "verified_benefit" in caught.value.fields


@given(st.decimals(min_value=Decimal("0"), max_value=Decimal("999999999999.99"), places=2,
                   allow_nan=False, allow_infinity=False), st.integers(min_value=0, max_value=9))
def test_rewards__money_with_more_than_two_decimals_is_rejected_never_rounded(value, digit):
    text = format(value.quantize(Decimal("0.01")), "f")
    assert parse_money(text) == value
    with pytest.raises(ValueError):
        parse_money(f"{text}{digit}")


@st.composite
def teams(draw):
    """Between one and eight people whose integer shares add up to exactly 100."""
    cuts = sorted(draw(st.sets(st.integers(min_value=1, max_value=99), max_size=7)))
    bounds = [0, *cuts, 100]
    return [(f"p{i}", Decimal(b - a)) for i, (a, b) in enumerate(pairwise(bounds))]


amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999999999.99"),
                      places=2, allow_nan=False, allow_infinity=False)


@given(amounts, teams(), st.data())
def test_rewards__split_sums_to_the_total_without_zero_lines(amount, team, data):
    receiver = data.draw(st.sampled_from([who for who, _ in team]))
    lines = rewards.split_by_shares(amount, team, remainder_to=receiver)
    assert sum(line.amount for line in lines) == amount
    assert all(line.amount > 0 for line in lines)
    assert all(line.amount == line.amount.quantize(Decimal("0.01")) for line in lines)
    for line in lines:
        exact = amount * line.share / 100
        if line.username != receiver:
            assert exact - Decimal("0.01") < line.amount <= exact


def test_rewards__remainder_goes_to_the_declared_person():
    team = [("a", Decimal(34)), ("b", Decimal(33)), ("c", Decimal(33))]
    lines = rewards.split_by_shares(Decimal("100.00"), team, remainder_to="c")
    assert [(x.username, x.amount) for x in lines] == [
        ("a", Decimal("34.00")), ("b", Decimal("33.00")), ("c", Decimal("33.00"))]
    lines = rewards.split_by_shares(Decimal("0.10"), team, remainder_to="b")
    assert {x.username: x.amount for x in lines} == {"a": Decimal("0.03"), "b": Decimal("0.04"),
                                                     "c": Decimal("0.03")}
    tiny = rewards.split_by_shares(Decimal("0.01"), team, remainder_to="c")
    assert [(x.username, x.amount) for x in tiny] == [("c", Decimal("0.01"))]


@pytest.mark.parametrize("team, code", [
    ([("a", Decimal(50)), ("b", Decimal(40))], "shares_total"),
    ([("a", Decimal(100)), ("b", Decimal(0))], "invalid_share"),
])
def test_rewards__shares_must_be_positive_and_add_up_to_100(team, code):
    with pytest.raises(ValidationFailed) as caught:
        rewards.split_by_shares(Decimal("10.00"), team)
    assert caught.value.message == code


@pytest.mark.parametrize("team, code", [
    ([{"username": "a", "share": 60}, {"username": "b", "share": 30}], "shares_total"),
    ([{"username": "a", "share": 100}, {"username": "b", "share": 0}], "invalid_share"),
    ([{"username": "a", "share": 50}, {"username": "a", "share": 50}], "duplicate_member"),
    ([{"username": "a", "share": -10}, {"username": "b", "share": 110}], "invalid_share"),
])
def test_rewards__declared_shares_are_checked(team, code):
    with pytest.raises(ValidationFailed) as caught:
        rewards.parse_shares(team)
    assert caught.value.message == code


def test_rewards__split_refuses_nothing_to_pay_and_strangers():
    with pytest.raises(ValidationFailed):
        rewards.split_by_shares(Decimal("0.00"), [("a", Decimal(100))])
    with pytest.raises(ValidationFailed):
        rewards.split_by_shares(Decimal("-5.00"), [("a", Decimal(100))])
    with pytest.raises(ValidationFailed):
        rewards.split_by_shares(Decimal("1.005"), [("a", Decimal(100))])
    with pytest.raises(ValidationFailed) as caught:
        rewards.split_by_shares(Decimal("5.00"), [("a", Decimal(100))], remainder_to="z")
    assert caught.value.message == "remainder_not_in_team"
