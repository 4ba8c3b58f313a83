"""Payouts for the reward tests: through the real suggestion lifecycle, or through a small
``bonus`` lifecycle (start, decide) that spawns a payout with two actions."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.factories import ActorGetter, act, suggestion_to_committee
from workflow import Engine
from workflow.definition import default_folder
from workflow.views import InstanceView

BONUS = """
name: bonus
title: {en: Bonus, zh: 奖金}
initial: drafted
start_schema:
  type: object
  additionalProperties: false
  required: [title, department, amount]
  properties:
    title: {type: string}
    department: {type: string, format: department}
    amount: {type: money}
    team:
      type: array
      items:
        type: object
        additionalProperties: false
        required: [username, share]
        properties:
          username: {type: string, format: username}
          share: {type: [integer, string]}
    remainder_to: {type: string}
states:
  drafted:
    step: {assignees: owner}
  decided: {final: true}
transitions:
  - action: decide
    source: drafted
    dest: decided
    outcome: submit
    by: owner
    effects: [{decide_reward: {rules: [{name: bonus, decided: {field: amount}}]}}]
"""


def bonus_folder(tmp_path: Path) -> Path:
    """The shipped payout definition next to the ``bonus`` lifecycle."""
    folder = tmp_path / "definitions"
    folder.mkdir(exist_ok=True)
    shutil.copy(default_folder() / "payout.yaml", folder / "payout.yaml")
    (folder / "bonus.yaml").write_text(BONUS, encoding="utf-8")
    return folder


def bonus_payout(engine: Engine, actor: ActorGetter, amount: str, *,
                 team: list[dict[str, Any]] | None = None, department: str = "smelting",
                 remainder_to: str | None = None, who: str = "demo_proposer") -> InstanceView:
    data: dict[str, Any] = {"title": "Bonus", "department": department, "amount": amount}
    if team is not None:
        data["team"] = team
    if remainder_to is not None:
        data["remainder_to"] = remainder_to
    view = engine.start("bonus", actor=actor(who), data=data)
    view = engine.act(view.id, "decide", actor=actor(who))
    return engine.get(view.links["payout"][0], actor=actor("sta_admin"))


def decided_suggestion(engine: Engine, actor: ActorGetter, *, grade: str = "second",
                       benefit: str = "98000.00", **decision: Any) -> InstanceView:
    """A suggestion through every step up to its reward decision (with ``decision`` data)."""
    view = suggestion_to_committee(engine, actor)
    view = act(engine, view, "adopt", actor("committee_office"), grade=grade)
    view = act(engine, view, "report_completion", actor("head_smelting"))
    view = act(engine, view, "verify_benefit", actor("finance"), verified_benefit=benefit)
    return engine.act(view.id, "decide_reward", actor=actor("sta_admin"), data=decision,
                      expected_version=view.version)


def to_awaiting_payment(engine: Engine, actor: ActorGetter, payout_id: int,
                        admin: str = "sta_admin") -> InstanceView:
    view = engine.act(payout_id, "confirm_list", actor=actor(admin))
    if view.state == "under_general_manager_approval":
        view = engine.act(payout_id, "approve_over_budget", actor=actor("general_manager"))
    return engine.act(payout_id, "approve", actor=actor("finance"))
