"""The reward decision of a suggestion records the rule, its inputs and its result, and the
payout it spawns is split by the team's declared shares (SQLite and PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.factories import act, make_instance, make_user
from tests.payout_helpers import decided_suggestion
from tests.replay import assert_all_replay
from workflow.errors import ValidationFailed


def test_rewards__decision_records_rule_inputs_and_result(engine, actor):
    view = decided_suggestion(engine, actor, grade="second", benefit="98000.00")
    reward = view.data["reward"]
    assert reward == {
        "rule": "合理化建议奖励办法（2026版）", "year": 2026,
        "inputs": {"grade": "second", "verified_benefit": "98000.00",
                   "category": "small_renovation"},
        "components": {"grade_table": "1500.00", "benefit_percent": "1960.00"},
        "base": "1960.00", "multiplier": "1.2", "amount": "2352.00",
    }
    assert view.data["reward_amount"] == "2352.00"
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    assert payout.data["amount"] == "2352.00"
    assert payout.data["reward"] == reward
    assert payout.data["lines"] == [{"username": "demo_proposer", "share": "100",
                                     "amount": "2352.00"}]


def test_rewards__entered_amount_wins_and_a_stranger_gets_no_remainder(engine, actor):
    with pytest.raises(ValidationFailed) as caught:
        decided_suggestion(engine, actor, reward_decided="1000.00",
                           remainder_to="demo_colleague")
    assert caught.value.message == "remainder_not_in_team"
    view = decided_suggestion(engine, actor, reward_decided="1000.00")
    assert view.data["reward"]["rule"] == "合理化建议奖励办法（2026版）"
    assert view.data["reward"]["components"]["decided"] == "1000.00"
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    assert payout.data["amount"] == "1000.00"


def test_rewards__team_shares_split_with_declared_remainder(engine, actor):
    make_user(engine, "third_member")
    team = [{"username": "demo_proposer", "share": 34}, {"username": "demo_colleague",
                                                          "share": 33},
            {"username": "third_member", "share": 33}]
    view = make_instance(engine, actor("demo_proposer"), "suggestion", team=team)
    view = act(engine, view, "approve", actor("head_smelting"))
    for name in ("expert_smelting_1", "expert_smelting_2", "expert_smelting_3"):
        view = act(engine, view, "score", actor(name))
    view = act(engine, view, "adopt", actor("committee_office"), grade="third")
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"), verified_benefit="1.00")
    view = engine.act(view.id, "decide_reward", actor=actor("sta_admin"),
                      data={"reward_decided": "100.01", "remainder_to": "third_member"})
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    lines = {line["username"]: line["amount"] for line in payout.data["lines"]}
    assert lines == {"demo_proposer": "34.00", "demo_colleague": "33.00",
                     "third_member": "33.01"}
    assert sum(Decimal(a) for a in lines.values()) == Decimal("100.01")
    assert assert_all_replay(engine) == 2
