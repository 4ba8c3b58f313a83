"""A sixth lifecycle is one more file in the definitions folder, with no code change."""

from __future__ import annotations

from itertools import pairwise

import pytest

from tests.factories import actor_getter, copy_definitions, folder_engine
from tests.replay import assert_all_replay
from workflow import DefinitionError, Engine, Forbidden, InvalidAction, ValidationFailed

PATENT_FILING = """\
# Patent filing (专利申报): a technical review by two roles in turn, a review any one
# expert of the field may decide, a return and a resubmission, then the filing itself.
name: patent_filing
title: {en: Patent filing, zh: 专利申报}
initial: draft
start_by: anyone

start_schema:
  type: object
  additionalProperties: false
  required: [title, department, field, claims]
  properties:
    title: {type: string, minLength: 2, maxLength: 200}
    department: {type: string, format: department}
    field: {type: string, format: field}
    claims: {type: integer, minimum: 1, maximum: 50}
    filing_fee: {type: money}
  examples:
    - {title: Anode slotting fixture, department: smelting, field: smelting, claims: 6,
       filing_fee: "3450.00"}

states:
  draft:
    label: {en: Draft, zh: 草稿}
    step: {assignees: owner}
  under_technical_review:
    label: {en: Technical review, zh: 技术审查}
    step:
      mode: sequential
      assignees: [{role: dept_head, scope_from: department},
                  {role: subcommittee_chair, scope_from: field}]
      deadline_days: 5
  under_novelty_review:
    label: {en: Novelty review, zh: 新颖性审查}
    step:
      mode: any
      assignees: [{role: expert, scope_from: field}]
      deadline_days: 5
  under_filing:
    label: {en: Filing, zh: 提交专利局}
    step:
      assignees: [{role: sta_admin}]
      deadline_days: 10
  returned_for_revision:
    label: {en: Returned for revision, zh: 退回修改}
    step: {assignees: owner}
  filed: {label: {en: Filed, zh: 已申报}, final: true}
  rejected: {label: {en: Rejected, zh: 不予申报}, final: true}
  withdrawn: {label: {en: Withdrawn, zh: 已撤回}, final: true}

transitions:
  - {action: submit, source: draft, dest: under_technical_review, outcome: submit, by: owner}
  - {action: withdraw, source: [draft, under_technical_review], dest: withdrawn,
     outcome: withdraw, by: owner}
  - {action: resubmit, source: returned_for_revision, dest: returned_from, outcome: submit,
     by: owner}
  - {action: endorse, source: under_technical_review, dest: under_novelty_review,
     outcome: approve}
  - {action: reject, source: under_technical_review, dest: rejected, outcome: reject}
  - {action: clear, source: under_novelty_review, dest: under_filing, outcome: approve}
  - {action: return_for_revision, source: under_novelty_review,
     return_to: [returned_for_revision, under_technical_review], outcome: return}
  - action: file
    source: under_filing
    dest: filed
    outcome: approve
    schema:
      type: object
      additionalProperties: false
      required: [application_number]
      properties:
        application_number: {type: string, pattern: "^CN[0-9]{9}\\\\.[0-9X]$"}
      examples: [{application_number: CN202611234.5}]
"""


@pytest.fixture
def engine(database, clock, calendar, tmp_path) -> Engine:
    folder = copy_definitions(tmp_path / "definitions")
    (folder / "patent_filing.yaml").write_text(PATENT_FILING, encoding="utf-8")
    return folder_engine(database, clock, calendar, folder)


def open_tasks(engine: Engine, instance_id: int) -> list[tuple[str, str, str | None, str]]:
    view = engine.get(instance_id, actor=actor_getter(engine)("sta_admin"))
    return [(t.role, t.scope, t.assignee, t.status) for t in view.tasks]


def inbox_ids(engine: Engine, username: str) -> set[int]:
    return {t.instance_id for t in engine.inbox(actor=actor_getter(engine)(username))}


def test_sixth_lifecycle__loads_beside_the_shipped_five(engine):
    assert set(engine.catalog.names()) == {"suggestion", "project", "acceptance", "award",
                                           "payout", "patent_filing"}
    assert engine.catalog.newest("patent_filing").version == 1


def test_sixth_lifecycle__runs_end_to_end(engine):
    actor = actor_getter(engine)
    owner = actor("demo_proposer")
    view = engine.start("patent_filing", actor=owner, data={
        "title": "Anode slotting fixture", "department": "smelting", "field": "smelting",
        "claims": 6, "filing_fee": "3450.00"})
    assert (view.state, view.definition_version) == ("draft", 1)
    view = engine.act(view.id, "submit", actor=owner)
    assert view.state == "under_technical_review"

    # 依次: the department head first; the chair's task waits until then.
    assert open_tasks(engine, view.id) == [("dept_head", "smelting", None, "open"),
                                          ("subcommittee_chair", "smelting", None, "waiting")]
    assert view.id in inbox_ids(engine, "head_smelting")
    assert view.id not in inbox_ids(engine, "chair_smelting")
    with pytest.raises(Forbidden):
        engine.act(view.id, "endorse", actor=actor("chair_smelting"))
    view = engine.act(view.id, "endorse", actor=actor("head_smelting"))
    assert view.state == "under_technical_review"
    assert open_tasks(engine, view.id) == [("subcommittee_chair", "smelting", None, "open")]
    assert view.id in inbox_ids(engine, "chair_smelting")
    with pytest.raises(Forbidden):
        engine.act(view.id, "endorse", actor=actor("head_smelting"))
    view = engine.act(view.id, "endorse", actor=actor("chair_smelting"))
    assert view.state == "under_novelty_review"

    # 或签: each expert of the field gets a task; the first decision decides.
    experts = ["expert_smelting_1", "expert_smelting_2", "expert_smelting_3"]
    assert open_tasks(engine, view.id) == [("expert", "smelting", name, "open")
                                          for name in experts]
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "return_for_revision", actor=actor("expert_smelting_2"),
                   data={"to_state": "returned_for_revision"})
    assert "comment" in caught.value.fields
    view = engine.act(view.id, "return_for_revision", actor=actor("expert_smelting_2"),
                      comment="Claim 3 repeats claim 1.",
                      data={"to_state": "returned_for_revision"})
    assert view.state == "returned_for_revision"
    assert open_tasks(engine, view.id) == [("owner", "", "demo_proposer", "open")]
    with pytest.raises(InvalidAction):
        engine.act(view.id, "withdraw", actor=owner)

    # Resubmitted, it goes back to the step that returned it, with fresh tasks.
    view = engine.act(view.id, "resubmit", actor=owner, data={})
    assert view.state == "under_novelty_review"
    assert [t[3] for t in open_tasks(engine, view.id)] == ["open"] * 3
    view = engine.act(view.id, "clear", actor=actor("expert_smelting_3"))
    assert view.state == "under_filing"
    assert view.id not in inbox_ids(engine, "expert_smelting_1")

    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "file", actor=actor("sta_admin"),
                   data={"application_number": "202611234.5"})
    assert list(caught.value.fields) == ["application_number"]
    view = engine.act(view.id, "file", actor=actor("sta_admin"),
                      data={"application_number": "CN202611234.5"})
    assert (view.state, view.final, view.tasks) == ("filed", True, ())
    assert view.data["application_number"] == "CN202611234.5"

    history = engine.history(view.id, actor=owner)
    assert [(e.action, e.actor, e.from_state, e.to_state) for e in history] == [
        ("start", "demo_proposer", None, "draft"),
        ("submit", "demo_proposer", "draft", "under_technical_review"),
        ("endorse", "head_smelting", "under_technical_review", "under_technical_review"),
        ("endorse", "chair_smelting", "under_technical_review", "under_novelty_review"),
        ("return_for_revision", "expert_smelting_2", "under_novelty_review",
         "returned_for_revision"),
        ("resubmit", "demo_proposer", "returned_for_revision", "under_novelty_review"),
        ("clear", "expert_smelting_3", "under_novelty_review", "under_filing"),
        ("file", "sta_admin", "under_filing", "filed"),
    ]
    assert [e.fired for e in history][2:4] == [False, True]
    assert history[4].comment == "Claim 3 repeats claim 1."
    assert [e.seq for e in history] == list(range(1, 9))
    assert all(e.prev_hash == before.hash for before, e in pairwise(history))
    assert_all_replay(engine)


def test_sixth_lifecycle__a_return_to_the_sequential_step_starts_it_again(engine):
    actor = actor_getter(engine)
    owner = actor("demo_proposer")
    view = engine.start("patent_filing", actor=owner, data={
        "title": "Anode slotting fixture", "department": "smelting", "field": "smelting",
        "claims": 6})
    view = engine.act(view.id, "submit", actor=owner)
    view = engine.act(view.id, "endorse", actor=actor("head_smelting"))
    view = engine.act(view.id, "endorse", actor=actor("chair_smelting"))
    view = engine.act(view.id, "return_for_revision", actor=actor("expert_smelting_1"),
                      comment="The chair should look at the prior art again.",
                      data={"to_state": "under_technical_review"})
    assert view.state == "under_technical_review"
    assert open_tasks(engine, view.id) == [("dept_head", "smelting", None, "open"),
                                          ("subcommittee_chair", "smelting", None, "waiting")]
    view = engine.act(view.id, "reject", actor=actor("head_smelting"), comment="Not novel.")
    assert (view.state, view.tasks) == ("rejected", ())
    assert_all_replay(engine)


def test_sixth_lifecycle__a_second_copy_of_a_name_is_refused(database, clock, calendar,
                                                            tmp_path):
    folder = copy_definitions(tmp_path / "definitions")
    (folder / "patent_filing.yaml").write_text(PATENT_FILING, encoding="utf-8")
    (folder / "patent_filing_copy.yaml").write_text(PATENT_FILING, encoding="utf-8")
    engine = Engine(database, clock=clock, calendar=calendar, definitions=folder)
    with pytest.raises(DefinitionError) as caught:
        engine.load_definitions()
    assert "patent_filing_copy.yaml" in str(caught.value)
    assert "already used" in str(caught.value)
