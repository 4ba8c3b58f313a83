"""Values of the wrong shape that the parser can still read (``true`` where a number of days
is meant, a text where true or false or a list is, a label in a language nobody reads, a
name that is not declared) are problems of a new file, each on its key's line with the value
as written; a stored version with such a value still loads, read as it was when stored."""

from __future__ import annotations

import pytest

from tests.definition_text import assert_check_reports_each_edit, edit, line_of, problems_in
from tests.test_definition__check import TINY
from workflow.definition import parse

STEP = "      deadline_days: 3\n"
SCORED = edit(TINY, STEP, STEP + "      mode: all\n      scoring:\n        criteria:\n"
              "          - {name: merit, min: 0, max: 10}\n"
              "          - {name: cost, min: 0, max: 10}\n"
              "        into: review_score\n        spread_limit: 4\n")
"""TINY whose review is scored by every holder of the role."""
VOTED = edit(TINY, STEP, STEP + "      mode: all\n      vote:\n"
             "        options: [first, second, none]\n"
             '        thresholds: {first: "2/3", second: "1/2"}\n        into: grade\n')
"""TINY whose review is a vote of every holder of the role."""
REVIEW = "state 'under_review' step"
REJECT = "{action: reject, source: under_review, dest: rejected, outcome: reject"
SUBMIT = "{action: submit, source: draft, dest: under_review, outcome: submit, by: owner"
TIMER = "  - {state: waiting, after_working_days: 2, action: conclude}\n"


SHAPES = [
    # (base, old, new, fragment on the line reported, reason)
    pytest.param(TINY, STEP, "      deadline_days: true\n", "deadline_days: true",
                 f"{REVIEW}: deadline_days must be a whole number of working days ≥ 1, "
                 "got true", id="deadline_days-true"),
    pytest.param(TINY, STEP, STEP + "      mode: quorum\n      quorum: true\n", "quorum: true",
                 f"{REVIEW}: quorum must be a whole number of approvals ≥ 1, got true",
                 id="quorum-true"),
    pytest.param(TINY, STEP, STEP + "      mode: any\n      experts: true\n", "experts: true",
                 f"{REVIEW}: experts must be a whole number ≥ 1, got true", id="experts-true"),
    pytest.param(TINY, "after_working_days: 2", "after_working_days: true",
                 "after_working_days: true",
                 "timer: after_working_days must be a whole number of working days ≥ 1, "
                 "got true", id="after_working_days-true"),
    pytest.param(TINY, "title: {en: Tiny approval, zh: 小审批}", "title: [Tiny approval, 小审批]",
                 "title: [", "title must be a text or {en: text, zh: text}, got a list",
                 id="title-a-list"),
    pytest.param(TINY, "    label: {en: Review, zh: 审核}", "    label: {en: Review, zh-CN: 审核}",
                 "zh-CN: 审核", "state 'under_review': label: unknown language 'zh-CN' (en or zh)",
                 id="label-unknown-language"),
    pytest.param(TINY, "    label: {en: Waiting, zh: 等待}", "    label: {en: , zh: 等待}",
                 "label: {en: , zh: 等待}", "state 'waiting': label: en must be a text, "
                 "got no value", id="label-without-text"),
    pytest.param(TINY, REJECT, REJECT + ", label: 5", "label: 5",
                 "transition 'reject': label must be a text or {en: text, zh: text}, got 5",
                 id="transition-label-a-number"),
    pytest.param(TINY, "  approved: {final: true}", "  approved: {final: 'yes'}",
                 "approved: {final", "state 'approved': final must be true or false, "
                 "got the text 'yes'", id="final-a-text"),
    pytest.param(TINY, "    label: {en: Waiting, zh: 等待}",
                 "    label: {en: Waiting, zh: 等待}\n    public: 'false'", "public: 'false'",
                 "state 'waiting': public must be true or false, got the text 'false'",
                 id="public-a-text"),
    pytest.param(TINY, STEP, STEP + "      recuse_department: 'no'\n", "recuse_department",
                 f"{REVIEW}: recuse_department must be true or false, got the text 'no'",
                 id="recuse_department-a-text"),
    pytest.param(TINY, REJECT, REJECT + ", requires_comment: 'false'", "requires_comment",
                 "transition 'reject': requires_comment must be true or false, got the text "
                 "'false'", id="requires_comment-a-text"),
    pytest.param(TINY, REJECT, REJECT + ", merge: 0", "merge: 0",
                 "transition 'reject': merge must be true or false, got 0", id="merge-a-number"),
    pytest.param(TINY, REJECT, REJECT + ", not_by_actors_of: submit", "not_by_actors_of",
                 "transition 'reject': not_by_actors_of must be a list of action names, got the "
                 "text 'submit'", id="not_by_actors_of-a-text"),
    pytest.param(TINY, REJECT, REJECT + ", not_by_actors_of: {submit: 1}", "not_by_actors_of",
                 "transition 'reject': not_by_actors_of must be a list of action names, got a "
                 "mapping", id="not_by_actors_of-a-mapping"),
    pytest.param(TINY, REJECT, REJECT + ", not_by_actors_of: [sumbit]", "not_by_actors_of",
                 "transition 'reject': not_by_actors_of: no action 'sumbit' in this definition",
                 id="not_by_actors_of-undeclared"),
    pytest.param(TINY, REJECT, REJECT + ", not_by_actors_of: [submit, submit]",
                 "not_by_actors_of", "transition 'reject': not_by_actors_of: 'submit' is "
                 "listed twice", id="not_by_actors_of-twice"),
    pytest.param(TINY, STEP, STEP + "      allow: transfer\n", "allow: transfer",
                 f"{REVIEW}: allow must be a list of habits (transfer, claim, release, "
                 "add_signer, remove_signer, copy, urge), got the text 'transfer'",
                 id="allow-a-text"),
    pytest.param(TINY, STEP, STEP + "      allow: {transfer: yes}\n", "allow: {",
                 f"{REVIEW}: allow must be a list of habits (transfer, claim, release, "
                 "add_signer, remove_signer, copy, urge), got a mapping", id="allow-a-mapping"),
    pytest.param(TINY, STEP, STEP + "      copy_to: false\n", "copy_to: false",
                 f"{REVIEW}: copy_to must be a list of {{role, scope_from, scope}}, got false",
                 id="copy_to-false"),
    pytest.param(TINY, STEP, STEP + "      label: {en: Review, zh: 审核}\n", "      label: {en",
                 f"{REVIEW}: label is not read here; the state's label names its step",
                 id="step-label"),
    pytest.param(TINY, "assignees: [{role: sta_admin}]", "assignees: [{role: sta_admin, scope: }]",
                 "scope: }", f"{REVIEW}: scope must be a text (a department or field code), got "
                 "no value", id="scope-without-value"),
    pytest.param(TINY, "assignees: [{role: sta_admin}]",
                 "assignees: [{role: sta_admin, scope_from: 5}]", "scope_from: 5",
                 f"{REVIEW}: scope_from must be the name of a data field, got 5",
                 id="scope_from-a-number"),
    pytest.param(TINY, "assignees: [{role: sta_admin}]",
                 "assignees: [{role: dept_head, scope_from: title, scope: it}]", "scope: it",
                 f"{REVIEW}: give scope_from or scope, not both (scope_from wins)",
                 id="scope_from-and-scope"),
    pytest.param(SCORED, "min: 0, max: 10}\n          - {name: cost",
                 "min: false, max: 10}\n          - {name: cost", "min: false",
                 f"{REVIEW} scoring: criterion 'merit': min must be a whole number, got false",
                 id="criterion-min-false"),
    pytest.param(SCORED, "{name: cost, min: 0,", "{name: merit, min: 1,", "{name: merit, min: 1",
                 f"{REVIEW} scoring: criterion 'merit' is declared twice", id="criterion-twice"),
    pytest.param(SCORED, "into: review_score", "into:", "        into:",
                 f"{REVIEW} scoring: into must be the name of the data field the score goes "
                 "into, got no value", id="scoring-into-without-value"),
    pytest.param(SCORED, "spread_limit: 4", "spread_limit: -4", "spread_limit",
                 f"{REVIEW} scoring: spread_limit must be a number of points ≥ 0, got -4",
                 id="spread_limit-negative"),
    pytest.param(SCORED, "spread_limit: 4", "spread_limit: .nan", "spread_limit",
                 f"{REVIEW} scoring: spread_limit must be a number of points ≥ 0, got nan",
                 id="spread_limit-nan"),
    pytest.param(VOTED, "options: [first, second, none]", "options: {first: , second: , none: }",
                 "options:", f"{REVIEW} vote: options must be a list of names, highest first, "
                 "got a mapping", id="options-a-mapping"),
    pytest.param(VOTED, "options: [first, second, none]", "options: [first, second, second, none]",
                 "options:", f"{REVIEW} vote: options: 'second' is listed twice",
                 id="options-twice"),
    pytest.param(VOTED, "into: grade", "into: [grade]", "into: [grade]",
                 f"{REVIEW} vote: into must be the name of the data field the result goes into, "
                 "got a list", id="vote-into-a-list"),
    pytest.param(TINY, SUBMIT, SUBMIT + ", conditions: [{not_yet_approved: []}]",
                 "not_yet_approved", "transition 'submit': guard 'not_yet_approved': its "
                 "parameters must be a mapping, got a list", id="guard-parameters-a-list"),
    pytest.param(TINY, "timers:\n", "  - {action: recall, source: [], dest: draft, by: anyone}\n"
                 "timers:\n", "{action: recall, source: []",
                 "transition 'recall': source must name a state or a list of states, got an "
                 "empty list", id="source-empty"),
    pytest.param(TINY, "timers:\n", "  - {action: send_back, source: under_review, "
                 "return_to: [], outcome: return}\ntimers:\n", "return_to: []",
                 "transition 'send_back': return_to must name a state or a list of states, got "
                 "an empty list", id="return_to-empty"),
    pytest.param(TINY, "    conditions: [{amount_above",
                 "    schema:\n    conditions: [{amount_above", "    schema:",
                 "transition 'approve': schema has no value; give a JSON Schema, or leave schema "
                 "out to take the step's form", id="schema-without-value"),
    pytest.param(TINY, f"by: system}}\ntimers:\n{TIMER}", "by: anyone}\ntimers: {}\n",
                 "timers: {}", "timers: a list of {state, after_working_days, action}, got a "
                 "mapping", id="timers-a-mapping"),
]


@pytest.mark.parametrize(("base", "old", "new", "fragment", "reason"), SHAPES)
def test_shapes__a_wrong_shape_is_a_problem_on_its_line_and_a_stored_version_loads(
        base, old, new, fragment, reason):
    text = edit(base, old, new)
    assert [str(p) for p in problems_in(text)] == [f"tiny.yaml:{line_of(text, fragment)}: {reason}"]
    assert problems_in(text, stored=True) == []


def test_shapes__a_text_for_a_list_of_names_is_one_name_in_a_stored_version_too():
    """Read letter by letter, ``not_by_actors_of: submit`` matched no action, so the
    segregation of duties it was written for never held; now it is the action ``submit``."""
    text = edit(TINY, REJECT, REJECT + ", not_by_actors_of: submit")
    text = edit(text, STEP, STEP + "      allow: claim\n")
    definition = parse(text, file="tiny.yaml", stored=True)
    [reject] = definition.transitions_for("under_review", "reject")
    assert reject.not_by_actors_of == ("submit",)
    step = definition.states["under_review"].step
    assert step is not None and step.allow == {"claim", "urge"}


EVERY = [
    (STEP, "      deadline_days: true\n", "deadline_days: true", "deadline_days"),
    ("title: {en: Tiny approval, zh: 小审批}", "title: 5", "title: 5", "title"),
    ("  approved: {final: true}", "  approved: {final: 'yes'}", "{final: 'yes'}", "final"),
    (REJECT, REJECT + ", not_by_actors_of: submit", "not_by_actors_of", "not_by_actors_of"),
    ("after_working_days: 2", "after_working_days: true", "after_working_days: true",
     "after_working_days"),
    ("    label: {en: Waiting, zh: 等待}", "    label: {en: Waiting, fr: Attente}", "fr: Attente",
     "unknown language 'fr'"),
]


def test_shapes__the_command_line_lists_every_wrong_shape_of_a_file_at_once(tmp_path):
    assert_check_reports_each_edit(tmp_path, TINY, EVERY)
