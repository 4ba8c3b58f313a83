"""Expert scoring (recusal, blind, aggregate, spread), M-of-N quorum, committee votes."""

import pytest

from tests.factories import act, make_instance, make_user
from workflow.errors import Forbidden

AWARD_EXPERTS = ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"]


def _suggestion_at_experts(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    return act(engine, view, "approve", actor("head_smelting"))


def _assignees(view):
    return sorted(t.assignee for t in view.tasks if t.status == "open")


def test_scoring__experts_from_the_proposers_department_are_recused(engine, actor):
    make_user(engine, "expert_smelting_insider", "expert@smelting", department="smelting")
    view = _suggestion_at_experts(engine, actor)
    assert _assignees(view) == ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"]
    with pytest.raises(Forbidden):
        act(engine, view, "score", actor("expert_smelting_insider"))


def test_scoring__co_proposers_are_recused(engine, actor):
    proposer = actor("demo_proposer")
    team = [{"username": "demo_proposer", "share": 60},
            {"username": "expert_smelting_2", "share": 40}]
    view = make_instance(engine, proposer, "suggestion", team=team)
    view = act(engine, view, "approve", actor("head_smelting"))
    assert "expert_smelting_2" not in _assignees(view)
    with pytest.raises(Forbidden):
        act(engine, view, "score", actor("expert_smelting_2"))


def test_scoring__blind_until_everyone_scored(engine, actor):
    view = _suggestion_at_experts(engine, actor)
    first, second = actor("expert_smelting_1"), actor("expert_smelting_2")
    view = act(engine, view, "score", first, innovation=90, feasibility=90, benefit=90)
    theirs = engine.history(view.id, actor=second)[-1]
    mine = engine.history(view.id, actor=first)[-1]
    assert theirs.data == {"hidden": True}
    assert mine.data["innovation"] == 90
    assert "expert_score" not in view.data
    view = act(engine, view, "score", second, innovation=70, feasibility=70, benefit=70)
    view = act(engine, view, "score", actor("expert_smelting_3"), innovation=80,
               feasibility=80, benefit=80)
    assert view.state == "under_committee_review"
    scores = [e.data.get("innovation") for e in engine.history(view.id, actor=second)
              if e.action == "score"]
    assert scores == [90, 70, 80]
    assert view.data["expert_score"] == 80.0
    assert view.data["recommendation"] == "recommend_first"


def test_scoring__weighted_mean_routes_and_spread_flags(engine, actor):
    view = _suggestion_at_experts(engine, actor)
    sheets = {"expert_smelting_1": (95, 95, 95), "expert_smelting_2": (40, 40, 40),
              "expert_smelting_3": (60, 50, 50)}
    for name, (innovation, feasibility, benefit) in sheets.items():
        view = act(engine, view, "score", actor(name), innovation=innovation,
                   feasibility=feasibility, benefit=benefit)
    # (95 + 40 + (0.4*60 + 0.3*50 + 0.3*50 = 54)) / 3 = 63.00
    assert view.data["expert_score"] == 63.0
    assert view.data["expert_score_spread"] == 55.0
    assert view.data["expert_score_flagged"] is True
    assert view.data["recommendation"] == "recommend"


def test_scoring__scores_out_of_range_are_refused(engine, actor):
    view = _suggestion_at_experts(engine, actor)
    from workflow.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        act(engine, view, "score", actor("expert_smelting_1"), innovation=101)
    assert "innovation" in caught.value.fields


def _award_at_evaluation(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "award", field="smelting")
    return act(engine, view, "pass_formal_review", actor("sta_admin"))


def test_quorum__two_of_three_experts_complete_the_evaluation(engine, actor):
    view = _award_at_evaluation(engine, actor)
    assert _assignees(view) == AWARD_EXPERTS
    view = act(engine, view, "score", actor("expert_smelting_1"))
    assert view.state == "under_subcommittee_evaluation"
    view = act(engine, view, "score", actor("expert_smelting_3"))
    assert view.state == "under_chair_consolidation"
    assert view.data["evaluation_score_count"] == 2
    with pytest.raises(Forbidden):
        act(engine, view, "propose_grade", actor("expert_smelting_2"))


def _award_at_vote(engine, actor, proposer="demo_proposer", team=None):
    overrides = {"field": "smelting"}
    if team:
        overrides["team"] = team
    view = make_instance(engine, actor(proposer), "award", **overrides)
    view = act(engine, view, "pass_formal_review", actor("sta_admin"))
    for name in AWARD_EXPERTS[:2]:
        view = act(engine, view, "score", actor(name))
    return act(engine, view, "propose_grade", actor("chair_smelting"))


MEMBERS = ["committee_member", "committee_member_2", "committee_member_3",
           "committee_member_4", "committee_member_5"]


@pytest.mark.parametrize(("votes", "grade"), [
    (["special", "special", "special", "first", "second"], "first"),   # special 3/5 < 2/3
    (["special", "special", "special", "special", "none"], "special"),  # 4/5 ≥ 2/3
    (["first", "second", "second", "none", "none"], "second"),          # 3/5 for second
    (["first", "second", "third", "none", "none"], "third"),            # 3/5 for third
    (["first", "second", "none", "none", "none"], "none"),
])
def test_vote__tally_with_per_grade_thresholds(engine, actor, votes, grade):
    view = _award_at_vote(engine, actor)
    for member, choice in zip(MEMBERS, votes, strict=True):
        view = act(engine, view, "vote", actor(member), choice=choice)
    assert view.data["grade"] == grade
    assert sum(view.data["grade_tally"].values()) == 5
    assert view.state == ("not_awarded" if grade == "none" else "under_public_notice")


def test_vote__members_involved_are_recused_and_cannot_vote_twice(engine, actor):
    team = [{"username": "demo_proposer", "share": 70},
            {"username": "committee_member_2", "share": 30}]
    view = _award_at_vote(engine, actor, team=team)
    assert _assignees(view) == sorted(set(MEMBERS) - {"committee_member_2"})
    with pytest.raises(Forbidden):
        act(engine, view, "vote", actor("committee_member_2"), choice="special")
    view = act(engine, view, "vote", actor("committee_member"), choice="first")
    with pytest.raises(Forbidden):
        act(engine, view, "vote", actor("committee_member"), choice="first")


def test_vote__without_quorum_nothing_is_awarded(engine, actor):
    team = [{"username": "demo_proposer", "share": 40},
            {"username": "committee_member", "share": 20},
            {"username": "committee_member_2", "share": 20},
            {"username": "committee_member_3", "share": 20}]
    view = _award_at_vote(engine, actor, team=team)
    for member in ("committee_member_4", "committee_member_5"):
        view = act(engine, view, "vote", actor(member), choice="special")
    assert view.data["grade_quorate"] is False
    assert view.data["grade"] == "none"
    assert view.state == "not_awarded"
