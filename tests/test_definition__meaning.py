"""Mistakes of meaning that only showed when the lifecycle ran: a ``scope_from`` or a guard's
``field`` naming no field the item can have, a role given a scope it is never granted in (or
none where it always is), a reminder due before its task opens. Each is a problem of a new
file on its key's line, naming the value as written; a stored version with it still loads."""

from __future__ import annotations

import pytest

from tests.definition_text import assert_check_reports_each_edit, edit, line_of, problems_in
from workflow.definition import default_folder

SUGGESTION = (default_folder() / "suggestion.yaml").read_text(encoding="utf-8")
EXPERTS = "state 'under_expert_review' step"
FIRST_SCORE = "conditions: [{number_at_least: {field: expert_score, min: 80}}]"


MEANINGS = [
    # (old, new, fragment on the line reported, reason)
    pytest.param("assignees: [{role: expert, scope_from: field}]",
                 "assignees: [{role: expert, scope_from: fields}]", "scope_from: fields",
                 f"{EXPERTS}: scope_from: no field 'fields' in this definition",
                 id="assignee-scope_from"),
    pytest.param("copy_to: [{role: finance}]",
                 "copy_to: [{role: dept_head, scope_from: departmnet}]", "departmnet",
                 "state 'under_implementation' step copy_to: scope_from: no field 'departmnet' "
                 "in this definition", id="copy_to-scope_from"),
    pytest.param("to: {role: subcommittee_chair, scope_from: field}",
                 "to: {role: subcommittee_chair, scope_from: feild}", "scope_from: feild",
                 f"{EXPERTS} reminders escalate: scope_from: no field 'feild' in this definition",
                 id="escalate-scope_from"),
    pytest.param(FIRST_SCORE, FIRST_SCORE.replace("expert_score", "expert_scores"),
                 "expert_scores", "transition 'score': guard 'number_at_least': field: no field "
                 "'expert_scores' in this definition", id="guard-field"),
    pytest.param("[{role: dept_head, scope_from: department}]\n      deadline_days: 60",
                 "[{role: dept_head}]\n      deadline_days: 60", "{role: dept_head}]",
                 "state 'under_implementation' step: role 'dept_head' is granted within a "
                 "department; give scope_from or scope", id="scoped-role-without-scope"),
    pytest.param("assignees: [{role: finance}]", "assignees: [{role: finance, scope: smelting}]",
                 "scope: smelting", "state 'under_benefit_verification' step: role 'finance' is "
                 "granted without a scope; leave out scope 'smelting'",
                 id="unscoped-role-with-scope"),
    pytest.param("deadline_days: 3\n      reminders: {before_days: 1,",
                 "deadline_days: 3\n      reminders: {before_days: 3,", "before_days: 3",
                 "state 'under_department_review' step reminders: before_days 3 is not less "
                 "than deadline_days 3: the reminder would fall on the day the task opens or "
                 "before it", id="reminder-before-the-task-opens"),
]


@pytest.mark.parametrize(("old", "new", "fragment", "reason"), MEANINGS)
def test_meaning__a_mistake_is_a_problem_on_its_line_and_a_stored_version_loads(
        old, new, fragment, reason):
    text = edit(SUGGESTION, old, new)
    assert [str(p) for p in problems_in(text, "suggestion.yaml")] == [
        f"suggestion.yaml:{line_of(text, fragment)}: {reason}"]
    assert problems_in(text, "suggestion.yaml", stored=True) == []


@pytest.mark.parametrize("name", [
    "expert_score_spread",  # what the scoring step concludes, besides its score
    "recommendation",  # written by set_fields
    "reward_amount",  # declared by decide_reward's sets
    "completed_on",  # merged from report_completion's form
    "grade",  # merged from adopt's form
    "flags",  # the scheduler's mark
])
def test_meaning__a_field_that_a_step_an_action_or_an_effect_writes_is_a_field(name):
    text = edit(SUGGESTION, FIRST_SCORE, FIRST_SCORE.replace("expert_score", name))
    assert problems_in(text, "suggestion.yaml") == []


def test_meaning__a_start_form_open_to_any_field_lets_any_name_be_a_field():
    text = edit(SUGGESTION, "  additionalProperties: false\n  required: [title, category",
                "  required: [title, category")
    text = edit(text, FIRST_SCORE, FIRST_SCORE.replace("expert_score", "whatever"))
    assert problems_in(text, "suggestion.yaml") == []


def test_meaning__the_command_line_lists_every_mistake_of_a_file_at_once(tmp_path):
    assert_check_reports_each_edit(tmp_path, SUGGESTION, [p.values for p in MEANINGS])


ACCEPTANCE = (default_folder() / "acceptance.yaml").read_text(encoding="utf-8")
RECTIFICATION = "reminders: {before_days: 5, overdue: false}"
"""The owner's rectification: due in 20 working days, when its timer leaves the state."""
TIMER = "{state: under_rectification, after_working_days: 20, action: rectification_overdue}"
LEAVES = ("state 'under_rectification' reminders: the timer 'rectification_overdue' leaves "
          "'under_rectification' after 20 working days, before the")


@pytest.mark.parametrize(("ladder", "late"), [
    ("{before_days: 5}", "overdue reminder"),
    ("{overdue: false, escalate: {after_days: 1, to: {role: sta_admin}}}", "escalation"),
    ("{escalate: {after_days: 1, to: {role: sta_admin}}}", "overdue reminder and the escalation"),
])
def test_meaning__a_rung_after_the_timer_that_leaves_the_state_is_a_problem(tmp_path, ladder,
                                                                             late):
    text = edit(ACCEPTANCE, RECTIFICATION, f"reminders: {ladder}")
    assert_check_reports_each_edit(tmp_path, ACCEPTANCE, [
        (RECTIFICATION, f"reminders: {ladder}", f"reminders: {ladder}",
         f"{LEAVES} {late} (deadline_days 20)")])
    assert problems_in(text, "suggestion.yaml", stored=True) == []


@pytest.mark.parametrize(("old", "new"), [
    (TIMER, TIMER.replace("20", "21")),  # the overdue reminder comes on the 21st morning
    ("    by: system\n", "    by: system\n    unless: [{field_equals: {field: verdict, "
                         "value: pass}}]\n"),  # the timer may leave the item where it is
])
def test_meaning__a_rung_before_the_timer_or_a_timer_that_may_not_leave_is_no_problem(old, new):
    text = edit(edit(ACCEPTANCE, RECTIFICATION, "reminders: {before_days: 5}"), old, new)
    assert problems_in(text, "suggestion.yaml") == []
