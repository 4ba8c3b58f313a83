"""How the shipped lifecycles behave: returns, withdrawal, comments, 会签 and 依次,
conditional routing, acceptance of a project, the award's public notice, payouts, money.

Every scenario ends by replaying every stored instance from its audit trail.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import (
    EXPERTS,
    act,
    actor_getter,
    copy_definitions,
    establish,
    folder_engine,
    make_instance,
    make_user,
    start_data,
    suggestion_to_committee,
)
from tests.replay import assert_all_replay
from tests.snapshot import assert_unchanged, snapshot
from workflow import Engine, Forbidden, InvalidAction, ValidationFailed
from workflow.definition import default_folder, load_folder
from workflow.store import EVENTS
from workflow.views import InstanceView

TEAM = [{"username": "demo_proposer", "share": 60}, {"username": "demo_colleague", "share": 40}]


@pytest.fixture(autouse=True)
def _replay_everything_afterwards(request):
    engine = request.getfixturevalue("engine") if "engine" in request.fixturenames else None
    yield
    if engine is not None:
        assert_all_replay(engine)


def open_tasks(view: InstanceView) -> list[tuple[str, str | None, str]]:
    return [(t.role, t.assignee, t.status) for t in view.tasks]


def refreshed(engine: Engine, view: InstanceView) -> InstanceView:
    return engine.get(view.id, actor=actor_getter(engine)("auditor"))


def events(engine: Engine, instance_id: int) -> int:
    with engine.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(EVENTS)
                                .where(EVENTS.c.instance_id == instance_id)).scalar_one())


def rejected_without_change(engine: Engine, call, error: type[Exception] = ValidationFailed):
    """Run ``call``; it must raise ``error`` and leave every table as it was."""
    before = snapshot(engine.db)
    with pytest.raises(error) as caught:
        call()
    assert_unchanged(engine.db, before)
    return caught.value


# ------------------------------------------------------------------ 退回 and resubmission


def test_lifecycles__return_to_a_chosen_earlier_step(engine, actor):
    view = suggestion_to_committee(engine, actor)
    view = engine.act(view.id, "return_for_revision", actor=actor("committee_office"),
                      comment="Score the safety aspect too.",
                      data={"to_state": "under_expert_review"})
    assert view.state == "under_expert_review"
    assert open_tasks(view) == [("expert", name, "open") for name in EXPERTS["smelting"]]
    for name in EXPERTS["smelting"]:
        view = act(engine, view, "score", actor(name))
    assert view.state == "under_committee_review"
    history = engine.history(view.id, actor=actor("auditor"))
    returned = next(e for e in history if e.action == "return_for_revision")
    assert (returned.target, returned.comment) == ("under_expert_review",
                                                   "Score the safety aspect too.")


def test_lifecycles__resubmission_goes_back_to_the_step_that_returned_it(engine, actor):
    owner = actor("demo_proposer")
    view = suggestion_to_committee(engine, actor)
    view = engine.act(view.id, "return_for_revision", actor=actor("committee_office"),
                      comment="Add the cost of the new pump.",
                      data={"to_state": "returned_for_revision"})
    assert view.state == "returned_for_revision"
    assert open_tasks(view) == [("owner", "demo_proposer", "open")]
    view = engine.act(view.id, "resubmit", actor=owner)
    assert view.state == "under_committee_review"
    assert open_tasks(view) == [("committee_office", None, "open")]

    other = make_instance(engine, owner, "suggestion")
    other = engine.act(other.id, "return_for_revision", actor=actor("head_smelting"),
                       comment="Name the line it concerns.")
    assert other.state == "returned_for_revision"
    other = engine.act(other.id, "resubmit", actor=owner)
    assert other.state == "under_department_review"


def test_lifecycles__the_proposer_revises_the_item_when_resubmitting(engine, actor):
    """Returned items go back to the proposer and, once revised, to the step that returned
    them: the resubmission carries the revised fields of the start form."""
    owner = actor("demo_proposer")
    view = make_instance(engine, owner, "suggestion")
    view = engine.act(view.id, "return_for_revision", actor=actor("head_smelting"),
                      comment="Add the cost of the new pump.")
    revised = "Route the condensate back to the boiler feed; the new pump costs 8000."
    view = engine.act(view.id, "resubmit", actor=owner, data={"description": revised})
    assert (view.state, view.data["description"]) == ("under_department_review", revised)


def test_lifecycles__a_return_target_must_be_one_the_step_offers(engine, actor):
    view = suggestion_to_committee(engine, actor)
    office = actor("committee_office")
    for data in ({"to_state": "draft"}, {"to_state": "under_implementation"}, {}):
        error = rejected_without_change(engine, lambda d=data: engine.act(
            view.id, "return_for_revision", actor=office, comment="Back.", data=d))
        assert list(error.fields) == ["to_state"]
    actions = {a.name: a for a in engine.get(view.id, actor=office).actions}
    assert actions["return_for_revision"].schema["properties"]["to_state"]["enum"] == [
        "returned_for_revision", "under_expert_review"]


# ------------------------------------------------------------------ 撤回


def test_lifecycles__withdrawal_until_the_first_approval(engine, actor):
    owner = actor("demo_proposer")
    view = make_instance(engine, owner, "suggestion")
    rejected_without_change(engine, lambda: engine.act(view.id, "withdraw",
                                                       actor=actor("head_smelting")), Forbidden)
    view = engine.act(view.id, "withdraw", actor=owner)
    assert (view.state, view.final, view.tasks) == ("withdrawn", True, ())

    returned = make_instance(engine, owner, "suggestion")
    returned = engine.act(returned.id, "return_for_revision", actor=actor("head_smelting"),
                          comment="Which line?")
    assert engine.act(returned.id, "withdraw", actor=owner).state == "withdrawn"


def test_lifecycles__withdrawal_is_refused_after_the_first_approval(engine, actor):
    owner = actor("demo_proposer")
    view = make_instance(engine, owner, "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    error = rejected_without_change(engine, lambda: engine.act(view.id, "withdraw", actor=owner),
                                    InvalidAction)
    assert error.code == "invalid_action"

    # Returned to the proposer after it was approved once: still no withdrawal.
    view = engine.act(view.id, "return_for_revision", actor=actor("expert_smelting_1"),
                      comment="Measure the condensate flow first.",
                      data={"to_state": "returned_for_revision"})
    assert view.state == "returned_for_revision"
    rejected_without_change(engine, lambda: engine.act(view.id, "withdraw", actor=owner),
                            InvalidAction)
    assert engine.act(view.id, "resubmit", actor=owner).state == "under_expert_review"


def test_lifecycles__withdrawal_is_not_offered_after_the_first_approval(engine, actor):
    """The actions an instance offers are the ones that can succeed (may_<trigger>)."""
    owner = actor("demo_proposer")
    early = make_instance(engine, owner, "suggestion")
    early = engine.act(early.id, "return_for_revision", actor=actor("head_smelting"),
                       comment="Which line?")
    assert {"withdraw", "resubmit"} <= {a.name for a in engine.get(early.id,
                                                                   actor=owner).actions}
    late = make_instance(engine, owner, "suggestion")
    late = act(engine, late, "approve", actor("head_smelting"))
    late = engine.act(late.id, "return_for_revision", actor=actor("expert_smelting_1"),
                      comment="Measure the flow.", data={"to_state": "returned_for_revision"})
    assert {a.name for a in engine.get(late.id, actor=owner).actions} == {"resubmit"}


# ------------------------------------------------------------------ comments


def test_lifecycles__every_reject_and_return_requires_a_comment_in_every_definition():
    definitions, problems = load_folder(default_folder())
    assert problems == []
    checked = 0
    for definition in definitions:
        for t in definition.transitions:
            if t.outcome in ("reject", "return"):
                assert t.requires_comment, f"{definition.name}: {t.source} {t.action}"
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize(("steps", "action", "who", "data"), [
    (0, "reject", "head_smelting", {}),
    (0, "return_for_revision", "head_smelting", {}),
    (1, "return_for_revision", "expert_smelting_2", {"to_state": "returned_for_revision"}),
    (2, "reject", "committee_office", {}),
    (2, "return_for_revision", "committee_office", {"to_state": "under_expert_review"}),
])
def test_lifecycles__a_reject_or_return_without_comment_fails_on_comment(engine, actor, steps,
                                                                         action, who, data):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    if steps >= 1:
        view = act(engine, view, "approve", actor("head_smelting"))
    if steps >= 2:
        for name in EXPERTS["smelting"]:
            view = act(engine, view, "score", actor(name))
    for comment in (None, "", "   "):
        error = rejected_without_change(engine, lambda c=comment: engine.act(
            view.id, action, actor=actor(who), comment=c, data=dict(data)))
        assert error.code == "validation_failed"
        assert list(error.fields) == ["comment"]
    done = engine.act(view.id, action, actor=actor(who), comment="Reason given.", data=data)
    assert done.state != view.state


def test_lifecycles__a_payout_cancel_requires_a_comment(engine, actor):
    payout = suggestion_payout(engine, actor)
    clerk = actor("sta_admin_2")
    error = rejected_without_change(engine, lambda: engine.act(payout.id, "cancel",
                                                               actor=clerk))
    assert list(error.fields) == ["comment"]
    assert engine.act(payout.id, "cancel", actor=clerk, comment="Duplicate.").state == \
        "cancelled"


# ------------------------------------------------------------------ 会签 and 依次


def test_lifecycles__all_experts_must_score_before_the_step_completes(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    first, second, third = EXPERTS["smelting"]
    view = act(engine, view, "score", actor(first))
    view = act(engine, view, "score", actor(second))
    assert view.state == "under_expert_review"
    assert "expert_score" not in view.data
    assert open_tasks(refreshed(engine, view)) == [("expert", third, "open")]
    rejected_without_change(engine, lambda: engine.act(
        view.id, "score", actor=actor(first),
        data={"innovation": 10, "feasibility": 10, "benefit": 10}), Forbidden)
    view = engine.act(view.id, "score", actor=actor(third),
                      data={"innovation": 60, "feasibility": 70, "benefit": 80})
    assert view.state == "under_committee_review"
    assert view.data["expert_score"] == pytest.approx((80 * 2 + 0.4 * 60 + 0.3 * 70 + 0.3 * 80)
                                                      / 3, abs=0.01)


def test_lifecycles__one_expert_returning_decides_for_the_step(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    first, second, third = EXPERTS["smelting"]
    view = act(engine, view, "score", actor(first))
    view = engine.act(view.id, "return_for_revision", actor=actor(second),
                      comment="The department should check the numbers.",
                      data={"to_state": "under_department_review"})
    assert view.state == "under_department_review"
    assert open_tasks(view) == [("dept_head", None, "open")]
    rejected_without_change(engine, lambda: engine.act(
        view.id, "score", actor=actor(third),
        data={"innovation": 80, "feasibility": 80, "benefit": 80}), InvalidAction)
    assert third not in {t.assignee for t in engine.inbox(actor=actor(third))}


SEQUENTIAL_COMMITTEE = """\
  under_committee_review:
    label: {en: Committee decision, zh: 委员会决定}
    step:
      mode: sequential
      assignees: [{role: committee_office}, {role: general_manager}]
      deadline_days: 5
"""


@pytest.fixture
def sequential_engine(database, clock, calendar, tmp_path) -> Engine:
    """The suggestion with a committee decision by the office, then the general manager."""
    folder = copy_definitions(tmp_path / "definitions")
    path = folder / "suggestion.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("  under_committee_review:\n")
    end = next(n for n in range(start + 1, len(lines))
               if lines[n].startswith("  ") and not lines[n].startswith("   "))
    path.write_text("".join(lines[:start]) + SEQUENTIAL_COMMITTEE + "".join(lines[end:]),
                    encoding="utf-8")
    return folder_engine(database, clock, calendar, folder)


def test_lifecycles__a_sequential_step_goes_in_order(sequential_engine):
    engine = sequential_engine
    actor = actor_getter(engine)
    view = suggestion_to_committee(engine, actor)
    assert view.state == "under_committee_review"
    assert open_tasks(refreshed(engine, view)) == [("committee_office", None, "open"),
                                                   ("general_manager", None, "waiting")]
    assert view.id not in {t.instance_id for t in engine.inbox(actor=actor("general_manager"))}
    rejected_without_change(engine, lambda: engine.act(
        view.id, "adopt", actor=actor("general_manager"), data={"grade": "first"}), Forbidden)
    view = engine.act(view.id, "adopt", actor=actor("committee_office"), data={"grade": "first"})
    assert view.state == "under_committee_review"
    assert open_tasks(refreshed(engine, view)) == [("general_manager", None, "open")]
    view = engine.act(view.id, "adopt", actor=actor("general_manager"), data={"grade": "second"})
    assert (view.state, view.data["grade"]) == ("under_implementation", "second")
    assert_all_replay(engine)


def test_lifecycles__a_reject_in_a_sequential_step_decides_at_once(sequential_engine):
    engine = sequential_engine
    actor = actor_getter(engine)
    view = suggestion_to_committee(engine, actor)
    view = engine.act(view.id, "reject", actor=actor("committee_office"),
                      comment="Already done at the other plant.")
    assert (view.state, view.tasks) == ("rejected", ())
    assert_all_replay(engine)


# ------------------------------------------------------------------ conditional routing


def test_lifecycles__a_project_above_500000_needs_the_general_manager(engine, actor):
    assert start_data(engine, "project", 1)["budget_total"] == "800000.00"
    view = establish(engine, actor, index=1)
    assert view.state == "under_gm_approval"
    gm = actor("general_manager")
    assert view.id in {t.instance_id for t in engine.inbox(actor=gm)}
    view = act(engine, view, "approve", gm)
    assert view.state == "established"


def test_lifecycles__a_project_up_to_500000_does_not(engine, actor):
    assert start_data(engine, "project", 0)["budget_total"] == "350000.00"
    view = establish(engine, actor, index=0)
    assert view.state == "established"
    assert engine.inbox(actor=actor("general_manager")) == []
    exactly = establish(engine, actor, budget_lines=[{"item": "Trial", "amount": "500000.00"}],
                        budget_total="500000.00")
    assert exactly.state == "established"


# ------------------------------------------------------------------ acceptance


def test_lifecycles__acceptance_copies_the_established_project(engine, actor):
    project = establish(engine, actor, team=TEAM)
    owner = actor("demo_proposer")
    view = engine.start("acceptance", actor=owner,
                        data=start_data(engine, "acceptance", project_id=project.id))
    for key in ("title", "department", "field", "lead", "team"):
        assert view.data[key] == project.data[key], key
    assert view.links == {"project": [project.id]}
    assert refreshed(engine, project).links.get("acceptance") == [view.id]
    view = engine.act(view.id, "submit", actor=owner)
    assert view.state == "under_formal_review"


def test_lifecycles__acceptance_must_point_to_an_established_project_of_the_applicant(
        engine, actor):
    owner = actor("demo_proposer")
    established = establish(engine, actor)
    draft = make_instance(engine, owner, "project", submit=False)
    suggestion = make_instance(engine, owner, "suggestion")
    cases = [(owner, 999_999), (owner, draft.id), (owner, suggestion.id),
             (actor("power_engineer"), established.id)]
    for who, project_id in cases:
        error = rejected_without_change(engine, lambda w=who, p=project_id: engine.start(
            "acceptance", actor=w, data=start_data(engine, "acceptance", project_id=p)))
        assert list(error.fields) == ["project_id"], (project_id, error.fields)
    error = rejected_without_change(engine, lambda: engine.start(
        "acceptance", actor=owner, data=start_data(engine, "acceptance", project_id="1")))
    assert list(error.fields) == ["project_id"]


# ------------------------------------------------------------------ the award's public notice


def award_in_notice(engine: Engine, actor, clock, days_before_vote: int = 0) -> InstanceView:
    view = make_instance(engine, actor("demo_proposer"), "award", team=TEAM)
    view = act(engine, view, "pass_formal_review", actor("sta_admin"))
    for name in EXPERTS["it"]:
        view = act(engine, view, "score", actor(name))
    view = act(engine, view, "propose_grade", actor("chair_it"))
    assert view.state == "under_committee_vote"
    clock.advance(days=days_before_vote)
    members = sorted({t.assignee for t in refreshed(engine, view).tasks})
    assert len(members) == 5
    for name in members:
        view = engine.act(view.id, "vote", actor=actor(str(name)), data={"choice": "second"})
    assert (view.state, view.data["grade"]) == ("under_public_notice", "second")
    return view


def test_lifecycles__the_public_notice_ends_after_five_working_days(engine, actor, clock,
                                                                      calendar):
    view = award_in_notice(engine, actor, clock, days_before_vote=3)
    opened = clock.now().astimezone(calendar.zone)
    assert opened.strftime("%A") == "Thursday"
    due_day = calendar.add_working_days(opened.date(), 5)
    assert calendar.working_days_between(opened.date(), due_day) == 5
    assert (due_day - opened.date()).days == 7, "the weekend is not counted"
    end_of_due_day = datetime.combine(due_day, time(23, 59, 59), tzinfo=calendar.zone)

    clock.set(end_of_due_day - timedelta(minutes=1))
    assert engine.fire_due_timers() == 0
    assert refreshed(engine, view).state == "under_public_notice"
    clock.set(end_of_due_day + timedelta(seconds=1))
    assert engine.fire_due_timers() == 1
    assert engine.fire_due_timers() == 0
    view = refreshed(engine, view)
    assert view.state == "approved"
    assert len(view.links["payout"]) == 1
    last = engine.history(view.id, actor=actor("auditor"))[-1]
    assert (last.actor, last.action, last.to_state) == ("system", "conclude_notice", "approved")
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    assert {line["username"] for line in payout.data["lines"]} == {"demo_proposer",
                                                                   "demo_colleague"}


def test_lifecycles__an_objection_during_the_notice_opens_the_objection_review(engine, actor,
                                                                               clock):
    view = award_in_notice(engine, actor, clock)
    for party in ("demo_proposer", "demo_colleague"):
        rejected_without_change(engine, lambda p=party: engine.act(
            view.id, "lodge_objection", actor=actor(p), comment="Mine."), Forbidden)
    error = rejected_without_change(engine, lambda: engine.act(
        view.id, "lodge_objection", actor=actor("power_engineer")))
    assert list(error.fields) == ["comment"]
    view = engine.act(view.id, "lodge_objection", actor=actor("power_engineer"),
                      comment="The remote monitoring was our department's work.")
    assert view.state == "under_objection_review"
    clock.advance(days=30)
    assert engine.fire_due_timers() == 0
    assert refreshed(engine, view).state == "under_objection_review"
    view = engine.act(view.id, "uphold_objection", actor=actor("committee_office"),
                      comment="Confirmed with the power plant.")
    assert (view.state, view.links) == ("not_awarded", {})


# ------------------------------------------------------------------ payouts


def suggestion_payout(engine: Engine, actor) -> InstanceView:
    """The payout a suggestion's reward decision (by sta_admin) spawns."""
    view = suggestion_to_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"))
    view = act(engine, view, "decide_reward", actor("sta_admin"))
    payout = engine.get(view.links["payout"][0], actor=actor("finance"))
    assert (payout.state, payout.created_by) == ("under_list_confirmation", "sta_admin")
    return payout


def test_lifecycles__payment_confirmed_twice_with_the_same_reference_pays_once(engine, actor):
    payout = suggestion_payout(engine, actor)
    clerk = actor("sta_admin_2")
    payout = engine.act(payout.id, "confirm_list", actor=clerk)
    payout = act(engine, payout, "approve", actor("finance"))
    assert payout.state == "awaiting_payment"
    reference = {"payment_reference": "PAY-2026-000777"}
    paid = engine.act(payout.id, "confirm_payment", actor=actor("finance_2"), data=reference)
    recorded = events(engine, payout.id)
    again = engine.act(payout.id, "confirm_payment", actor=actor("finance_2"), data=reference,
                       expected_version=payout.version)
    assert (again.state, again.version, dict(again.data)) == ("paid", paid.version,
                                                              dict(paid.data))
    assert events(engine, payout.id) == recorded
    error = rejected_without_change(engine, lambda: engine.act(
        payout.id, "confirm_payment", actor=actor("finance_2"),
        data={"payment_reference": "PAY-2026-000778"}), InvalidAction)
    assert error.code == "invalid_action"
    assert events(engine, payout.id) == recorded


def test_lifecycles__who_confirmed_the_list_may_not_approve_or_confirm_payment(engine, actor):
    payout = suggestion_payout(engine, actor)
    both = make_user(engine, "sta_and_finance", "sta_admin", "finance",
                     department="sta_office")
    payout = engine.act(payout.id, "confirm_list", actor=both)
    assert payout.state == "under_finance_review"
    assert "approve" not in {a.name for a in engine.get(payout.id, actor=both).actions}
    error = rejected_without_change(engine, lambda: engine.act(payout.id, "approve",
                                                               actor=both), Forbidden)
    assert error.code == "forbidden"
    payout = engine.act(payout.id, "approve", actor=actor("finance"))
    rejected_without_change(engine, lambda: engine.act(
        payout.id, "confirm_payment", actor=both,
        data={"payment_reference": "PAY-2026-000900"}), Forbidden)
    payout = engine.act(payout.id, "confirm_payment", actor=actor("finance_2"),
                        data={"payment_reference": "PAY-2026-000900"})
    assert payout.state == "paid"


def test_lifecycles__the_payout_creator_may_not_act_on_it(engine, actor):
    payout = suggestion_payout(engine, actor)
    creator = actor("sta_admin")
    offered = {a.name for a in engine.get(payout.id, actor=creator).actions}
    assert not offered & {"confirm_list", "cancel"}
    for action, comment in (("confirm_list", None), ("cancel", "Not needed.")):
        error = rejected_without_change(engine, lambda a=action, c=comment: engine.act(
            payout.id, a, actor=creator, comment=c), Forbidden)
        assert error.code == "forbidden"
    payee = actor("demo_proposer")
    rejected_without_change(engine, lambda: engine.act(payout.id, "confirm_list", actor=payee),
                            Forbidden)


# ------------------------------------------------------------------ money and bad input


def test_lifecycles__money_with_more_than_two_decimals_is_refused_not_rounded(engine, actor):
    owner = actor("demo_proposer")
    error = rejected_without_change(engine, lambda: engine.start(
        "suggestion", actor=owner, data=start_data(engine, "suggestion",
                                                   expected_benefit="120000.005")))
    assert list(error.fields) == ["expected_benefit"]
    error = rejected_without_change(engine, lambda: engine.start(
        "project", actor=owner, data=start_data(
            engine, "project", budget_lines=[{"item": "Pilot plant", "amount": "300000.001"},
                                             {"item": "Analysis", "amount": "49999.999"}])))
    assert set(error.fields) == {"budget_lines.0.amount", "budget_lines.1.amount"}

    view = suggestion_to_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    for bad in ("98000.005", "98000.0000", 98000.5, "98,000.00", "1e5"):
        error = rejected_without_change(engine, lambda b=bad: engine.act(
            view.id, "verify_benefit", actor=actor("finance"), data={"verified_benefit": b}))
        assert list(error.fields) == ["verified_benefit"], bad
    view = act(engine, view, "verify_benefit", actor("finance"), verified_benefit="98000.10")
    assert view.data["verified_benefit"] == "98000.10"
    error = rejected_without_change(engine, lambda: engine.act(
        view.id, "decide_reward", actor=actor("sta_admin"),
        data={"reward_decided": "3000.999"}))
    assert list(error.fields) == ["reward_decided"]


def test_lifecycles__bad_input_names_the_field_and_changes_nothing(engine, actor):
    owner = actor("demo_proposer")
    cases = [
        ({"title": "x"}, "title"),
        ({"category": "big_invention"}, "category"),
        ({"department": "no_such_department"}, "department"),
        ({"field": "astrology"}, "field"),
        ({"team": [{"username": "demo_proposer", "share": 70},
                   {"username": "demo_colleague", "share": 40}]}, "team"),
        ({"colour": "red"}, "colour"),
    ]
    for overrides, field in cases:
        error = rejected_without_change(engine, lambda o=overrides: engine.start(
            "suggestion", actor=owner, data=start_data(engine, "suggestion", **o)))
        assert field in error.fields, (overrides, error.fields)
    view = make_instance(engine, owner, "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    for data, field in (({"innovation": 101, "feasibility": 80, "benefit": 80}, "innovation"),
                        ({"innovation": 80, "feasibility": 80}, "benefit"),
                        ({"innovation": 80, "feasibility": 80, "benefit": 80, "bonus": 5},
                         "bonus")):
        error = rejected_without_change(engine, lambda d=data: engine.act(
            view.id, "score", actor=actor("expert_smelting_1"), data=d))
        assert list(error.fields) == [field], (data, error.fields)
