"""The inbox lists exactly what acting allows: never a task of an item the reader created or
is named on (team, lead, payee), nor, for a substitute, one naming the principal; and a
page stays full when such tasks come first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.factories import (
    EXPERTS,
    act,
    actor_getter,
    copy_definitions,
    folder_engine,
    make_instance,
)
from workflow import Actor, Engine
from workflow.errors import BadRequest, Forbidden


def team(*usernames: str) -> list[dict[str, Any]]:
    """A team of these people with shares adding up to 100 (the first takes the rest)."""
    share = 100 // len(usernames)
    return [{"username": name, "share": share + (100 - share * len(usernames) if n == 0 else 0)}
            for n, name in enumerate(usernames)]


def listed(engine: Engine, who: Actor, **filters: Any) -> list[tuple[int, str | None]]:
    return [(t.instance_id, t.on_behalf_of) for t in engine.inbox(actor=who, **filters)]


NAMED = [
    ("suggestion", {"team": team("demo_proposer", "head_smelting")}, "head_smelting", "approve"),
    ("project", {"lead": "head_smelting"}, "head_smelting", "recommend"),
    ("project", {"team": team("demo_proposer", "head_smelting")}, "head_smelting", "recommend"),
    ("award", {"team": team("demo_proposer", "sta_admin")}, "sta_admin", "pass_formal_review"),
]


@pytest.mark.parametrize(("workflow", "naming", "named", "action"), NAMED,
                         ids=["suggestion-team", "project-lead", "project-team", "award-team"])
def test_inbox__a_role_holder_named_on_the_item_neither_sees_its_task_nor_acts(
        engine, actor, workflow, naming, named, action):
    proposer = actor("demo_proposer")
    plain = make_instance(engine, proposer, workflow)
    naming_them = make_instance(engine, proposer, workflow, **naming)
    who = actor(named)
    assert listed(engine, who) == [(plain.id, None)]
    with pytest.raises(Forbidden):
        act(engine, naming_them, action, who)
    assert act(engine, plain, action, who).version == plain.version + 1


def test_inbox__a_payee_holding_the_finance_role_neither_sees_the_payout_nor_acts(engine, actor):
    view = make_instance(engine, actor("demo_proposer"), "suggestion",
                         team=team("demo_proposer", "finance_2"))
    view = act(engine, view, "approve", actor("head_smelting"))
    for name in EXPERTS["smelting"]:
        view = act(engine, view, "score", actor(name))
    view = act(engine, view, "adopt", actor("committee_office"))
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"))
    view = act(engine, view, "decide_reward", actor("sta_admin"))
    payout = engine.get(view.links["payout"][0], actor=actor("sta_admin_2"))
    assert "finance_2" in {line["username"] for line in payout.data["lines"]}
    payout = engine.act(payout.id, "confirm_list", actor=actor("sta_admin_2"))
    assert payout.state == "under_finance_review"
    payee, colleague = actor("finance_2"), actor("finance")
    assert payout.id not in {i for i, _ in listed(engine, payee)}
    assert (payout.id, None) in listed(engine, colleague)
    with pytest.raises(Forbidden):
        engine.act(payout.id, "approve", actor=payee, expected_version=payout.version)
    assert engine.act(payout.id, "approve", actor=colleague).state == "awaiting_payment"


@pytest.mark.parametrize("named", ["demo_colleague", "head_smelting"],
                         ids=["substitute-named", "principal-named"])
def test_inbox__a_substitute_never_gets_an_item_naming_either_of_them(engine, actor, clock,
                                                                      named):
    engine.delegate(actor=actor("head_smelting"), substitute="demo_colleague",
                    starts_at=clock.now(), ends_at=clock.now() + timedelta(days=7))
    deputy = actor("demo_colleague")
    proposer = actor("demo_proposer")
    plain = make_instance(engine, proposer, "suggestion")
    naming_them = make_instance(engine, proposer, "suggestion",
                                team=team("demo_proposer", named))
    assert listed(engine, deputy) == [(plain.id, "head_smelting")]
    with pytest.raises(Forbidden):
        act(engine, naming_them, "approve", deputy)
    after = act(engine, plain, "approve", deputy)
    event = engine.history(after.id, actor=actor("head_smelting"))[-1]
    assert (event.actor, event.on_behalf_of) == ("demo_colleague", "head_smelting")


def test_inbox__a_page_stays_full_behind_tasks_the_reader_may_not_act_on(engine, actor, clock):
    proposer, head = actor("demo_proposer"), actor("head_smelting")
    for _ in range(3):  # first in the head's order: same deadline, lower ids
        make_instance(engine, proposer, "suggestion", team=team("demo_proposer",
                                                                "head_smelting"))
    clock.advance(hours=1)
    plain = [make_instance(engine, proposer, "suggestion").id for _ in range(3)]
    assert listed(engine, head, limit=2) == [(plain[0], None), (plain[1], None)]
    assert listed(engine, head, limit=1) == [(plain[0], None)]
    assert listed(engine, head) == [(i, None) for i in plain]


MEMO = """
name: memo
title: {en: Memo, zh: 备忘}
initial: draft
start_schema:
  type: object
  additionalProperties: false
  required: [title, department]
  properties:
    title: {type: string}
    department: {type: string, format: department}
    team:
      type: array
      items:
        type: object
        additionalProperties: false
        required: [username, share]
        properties:
          username: {type: string, format: username}
          share: {type: integer}
  examples: [{title: Memo, department: smelting}]
states:
  draft:
    step: {assignees: owner}
  under_review:
    step: {assignees: [{role: dept_head, scope_from: department}]}
  done: {final: true}
transitions:
  - {action: submit, source: draft, dest: under_review, outcome: submit, by: owner}
  - {action: approve, source: under_review, dest: done, outcome: approve}
"""
"""A lifecycle whose review step has no deadline: its tasks come after every dated one."""


def test_inbox__a_page_reads_on_past_refused_tasks_without_a_deadline(database, clock,
                                                                      calendar, tmp_path):
    folder = copy_definitions(tmp_path / "definitions")
    (folder / "memo.yaml").write_text(MEMO, encoding="utf-8")
    engine = folder_engine(database, clock, calendar, folder)
    actor = actor_getter(engine)
    proposer, head = actor("demo_proposer"), actor("head_smelting")
    dated = make_instance(engine, proposer, "suggestion").id
    plain = [make_instance(engine, proposer, "memo").id]
    for _ in range(3):
        make_instance(engine, proposer, "memo", team=team("demo_proposer", "head_smelting"))
    plain += [make_instance(engine, proposer, "memo").id for _ in range(2)]
    assert listed(engine, head, limit=2) == [(dated, None), (plain[0], None)]
    assert listed(engine, head, limit=3) == [(dated, None), (plain[0], None), (plain[1], None)]
    assert listed(engine, head) == [(dated, None)] + [(i, None) for i in plain]


def test_inbox__a_substitutes_page_stays_full_behind_refused_and_earlier_tasks(engine, actor,
                                                                              clock):
    proposer = actor("demo_proposer")
    for _ in range(2):  # arrived before the delegation: the principal's own to do
        make_instance(engine, proposer, "suggestion")
    clock.advance(hours=1)
    engine.delegate(actor=actor("head_smelting"), substitute="demo_colleague",
                    starts_at=clock.now(), ends_at=clock.now() + timedelta(days=7))
    for _ in range(2):  # in the window, but naming the substitute
        make_instance(engine, proposer, "suggestion", team=team("demo_proposer",
                                                                "demo_colleague"))
    clock.advance(hours=1)
    plain = [make_instance(engine, proposer, "suggestion").id for _ in range(3)]
    deputy = actor("demo_colleague")
    assert listed(engine, deputy, limit=2) == [(plain[0], "head_smelting"),
                                               (plain[1], "head_smelting")]
    assert listed(engine, deputy) == [(i, "head_smelting") for i in plain]


def test_inbox__a_substitute_holding_a_task_there_gets_the_item_once_as_their_own(engine,
                                                                                   actor, clock):
    """Both scoring the same suggestion, the expert standing in acts on their own task (as
    ``Engine.act`` does), so the inbox shows the item once, not also for the principal."""
    engine.delegate(actor=actor("expert_smelting_1"), substitute="expert_smelting_2",
                    starts_at=clock.now(), ends_at=clock.now() + timedelta(days=7))
    view = make_instance(engine, actor("demo_proposer"), "suggestion")
    view = act(engine, view, "approve", actor("head_smelting"))
    substitute = actor("expert_smelting_2")
    assert listed(engine, substitute) == [(view.id, None)]
    view = act(engine, view, "score", substitute)
    event = engine.history(view.id, actor=substitute)[-1]
    assert (event.actor, event.on_behalf_of) == ("expert_smelting_2", None)
    assert listed(engine, substitute) == [(view.id, "expert_smelting_1")]
    view = engine.get(view.id, actor=substitute)
    act(engine, view, "score", substitute)
    event = engine.history(view.id, actor=substitute)[-1]
    assert (event.actor, event.on_behalf_of) == ("expert_smelting_2", "expert_smelting_1")


def test_inbox__a_limit_below_one_is_refused_naming_the_field(engine, actor):
    for limit in (0, -1):
        with pytest.raises(BadRequest) as caught:
            engine.inbox(actor=actor("head_smelting"), limit=limit)
        assert "limit" in caught.value.fields
