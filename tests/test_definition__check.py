"""The definition checker reports every problem at once, each with file, line and reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.definition_text import assert_check_reports_each_edit, edit, line_of, problems_in
from workflow.cli import cli
from workflow.definition import Problem, default_folder, load_folder, parse
from workflow.errors import DefinitionError

TINY = """\
name: tiny
title: {en: Tiny approval, zh: 小审批}
initial: draft
start_schema:
  type: object
  additionalProperties: false
  required: [title]
  properties:
    title: {type: string, minLength: 2}
    amount: {type: money}
  examples: [{title: A tiny item, amount: "10.00"}]
states:
  draft:
    step: {assignees: owner}
  under_review:
    label: {en: Review, zh: 审核}
    step:
      assignees: [{role: sta_admin}]
      deadline_days: 3
  returned_for_revision:
    step: {assignees: owner}
  waiting:
    label: {en: Waiting, zh: 等待}
  approved: {final: true}
  rejected: {final: true}
transitions:
  - {action: submit, source: draft, dest: under_review, outcome: submit, by: owner}
  - action: approve
    source: under_review
    dest: waiting
    outcome: approve
    conditions: [{amount_above: {field: amount, limit: "5.00"}}]
  - action: approve
    source: under_review
    dest: approved
    outcome: approve
    unless: [{amount_above: {field: amount, limit: "5.00"}}]
    effects:
      - set_fields: {values: {decided: true}}
  - {action: reject, source: under_review, dest: rejected, outcome: reject}
  - {action: return_for_revision, source: under_review, return_to: [returned_for_revision],
     outcome: return}
  - {action: resubmit, source: returned_for_revision, dest: returned_from, outcome: submit,
     by: owner}
  - {action: conclude, source: waiting, dest: approved, outcome: other, by: system}
timers:
  - {state: waiting, after_working_days: 2, action: conclude}
"""
"""A small valid definition: a review with conditional routing, a return, a timer."""


def reported(problems: list[Problem], line: int, *words: str) -> bool:
    return any(p.line == line and all(w in p.reason for w in words) for p in problems)


def shipped(name: str) -> str:
    return (default_folder() / f"{name}.yaml").read_text(encoding="utf-8")


def test_definition__the_tiny_definition_and_the_shipped_ones_are_valid():
    assert problems_in(TINY) == []
    definitions, problems = load_folder(default_folder())
    assert problems == []
    assert {d.name for d in definitions} >= {"suggestion", "project", "acceptance", "award",
                                             "payout"}


def test_definition__unknown_guard_in_a_flow_list():
    text = edit(TINY, "conditions: [{amount_above: {field: amount, limit: \"5.00\"}}]",
                "conditions: [{amount_over: {field: amount, limit: \"5.00\"}}]")
    problems = problems_in(text)
    assert reported(problems, line_of(text, "amount_over"), "unknown guard", "'amount_over'")
    assert [p.file for p in problems] == ["tiny.yaml"] * len(problems)


def test_definition__unknown_guard_by_name_in_a_shipped_definition():
    original = shipped("suggestion")
    text = edit(original, "conditions: [not_yet_approved]", "conditions: [not_yet_aproved]")
    problems = problems_in(text, "suggestion.yaml")
    assert [str(p) for p in problems] == [
        f"suggestion.yaml:{line_of(text, 'not_yet_aproved')}: transition 'withdraw': "
        "unknown guard 'not_yet_aproved'"
    ]


def test_definition__unknown_effect_in_a_block_list():
    text = edit(TINY, "      - set_fields: {values: {decided: true}}\n",
                "      - set_fields: {values: {decided: true}}\n"
                "      - send_fax: {to: finance}\n")
    problems = problems_in(text)
    assert len(problems) == 1
    assert reported(problems, line_of(text, "send_fax"), "unknown effect", "'send_fax'")


def test_definition__internal_guards_cannot_be_named_in_a_file():
    text = edit(TINY, "conditions: [{amount_above: {field: amount, limit: \"5.00\"}}]",
                "conditions: [{came_from: {state: draft}}]")
    assert reported(problems_in(text), line_of(text, "came_from"), "unknown guard")


@pytest.mark.parametrize(("params", "words"), [
    ('{field: amount}', ("'amount_above' parameters", "limit", "required")),
    ('{field: amount, limit: "five"}', ("'amount_above' parameters", "limit")),
    ('{field: amount, limit: "5.00", currency: CNY}', ("'amount_above' parameters",
                                                        "currency")),
])
def test_definition__bad_guard_parameters(params, words):
    text = edit(TINY, "conditions: [{amount_above: {field: amount, limit: \"5.00\"}}]",
                f"conditions: [{{amount_above: {params}}}]")
    assert reported(problems_in(text), line_of(text, "conditions: [{amount_above"), *words)


def test_definition__bad_effect_parameters_in_a_shipped_definition():
    original = shipped("project")
    text = edit(original, "check_sum: {items: budget_lines, amount: amount, total: budget_total}",
                "check_sum: {items: budget_lines, total: budget_total}")
    problems = problems_in(text, "project.yaml")
    assert len(problems) == 1
    assert reported(problems, line_of(text, "check_sum"), "'check_sum' parameters", "amount")


def test_definition__unreachable_state():
    text = edit(TINY, "  approved: {final: true}\n",
                "  archived:\n    step: {assignees: [{role: sta_admin}]}\n"
                "  approved: {final: true}\n")
    text = edit(text, "timers:\n",
                "  - {action: restore, source: archived, dest: under_review}\ntimers:\n")
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{line_of(text, 'archived:')}: state 'archived' is unreachable from 'draft'"
    ]


def test_definition__a_state_that_is_not_final_needs_a_way_out():
    text = edit(TINY, "  approved: {final: true}\n",
                "  on_hold:\n    step: {assignees: [{role: sta_admin}]}\n"
                "  approved: {final: true}\n")
    text = edit(text, "timers:\n",
                "  - {action: hold, source: under_review, dest: on_hold}\ntimers:\n")
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{line_of(text, 'on_hold:')}: state 'on_hold' is not final and has no way out"
    ]


def test_definition__a_state_without_step_needs_someone_to_act():
    text = edit(TINY, "{action: conclude, source: waiting, dest: approved, outcome: other, "
                "by: system}", "{action: conclude, source: waiting, dest: approved}")
    text = edit(text, "timers:\n  - {state: waiting, after_working_days: 2, action: conclude}\n",
                "")
    problems = problems_in(text)
    assert reported(problems, line_of(text, "  waiting:"), "has no step", "nobody can act")
    assert reported(problems, line_of(text, "action: conclude"), "'step'", "no step")


def test_definition__a_step_with_no_role():
    text = edit(TINY, "assignees: [{role: sta_admin}]", "assignees: []")
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{line_of(text, 'assignees: []')}: state 'under_review' step: has no role "
        "(assignees is empty)"
    ]


def test_definition__unknown_role():
    text = edit(TINY, "assignees: [{role: sta_admin}]", "assignees: [{role: sta_admn}]")
    problems = problems_in(text)
    assert len(problems) == 1
    assert reported(problems, line_of(text, "sta_admn"), "unknown role", "'sta_admn'")


def test_definition__transition_from_an_undeclared_state():
    text = edit(TINY, "{action: submit, source: draft,", "{action: submit, source: drafts,")
    problems = problems_in(text)
    assert reported(problems, line_of(text, "source: drafts"), "source state 'drafts'",
                    "not declared")


def test_definition__transition_to_an_undeclared_state():
    text = edit(TINY, "{action: reject, source: under_review, dest: rejected,",
                "{action: reject, source: under_review, dest: refused,")
    problems = problems_in(text)
    assert reported(problems, line_of(text, "dest: refused"), "destination state 'refused'",
                    "not declared")


def test_definition__initial_state_must_be_declared():
    text = edit(TINY, "initial: draft", "initial: drafting")
    assert reported(problems_in(text), line_of(text, "initial: drafting"),
                    "initial state 'drafting' is not declared")


def test_definition__start_schema_that_is_not_json_schema():
    text = edit(TINY, "    title: {type: string, minLength: 2}",
                "    title: {type: text, minLength: 2}")
    problems = problems_in(text)
    assert len(problems) == 1
    assert reported(problems, line_of(text, "start_schema:"), "start_schema",
                    "not a valid JSON Schema", "properties/title/type")


def test_definition__action_schema_that_is_not_json_schema():
    text = edit(TINY, "{action: reject, source: under_review, dest: rejected, outcome: reject}",
                "{action: reject, source: under_review, dest: rejected, outcome: reject,\n"
                "     schema: {type: object, required: yes}}")
    problems = problems_in(text)
    assert len(problems) == 1
    assert reported(problems, line_of(text, "required: yes"), "transition 'reject' schema",
                    "not a valid JSON Schema")


def test_definition__an_example_that_does_not_match_its_schema():
    text = edit(TINY, 'examples: [{title: A tiny item, amount: "10.00"}]',
                'examples: [{title: A tiny item, amount: "10.001"}]')
    assert reported(problems_in(text), line_of(text, "start_schema:"), "example",
                    "amount")


def test_definition__the_same_action_declared_twice():
    duplicate = "  - {action: reject, source: under_review, dest: rejected, outcome: reject}\n"
    text = edit(TINY, duplicate, duplicate + duplicate.replace("  - {", "  - { "))
    first = line_of(text, "  - {action: reject")
    second = line_of(text, "  - { action: reject")
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{second}: transition 'reject': duplicated from 'under_review' "
        f"(also at line {first})"
    ]


def test_definition__the_same_action_with_another_outcome():
    text = edit(TINY, "timers:\n", "  - {action: reject, source: under_review, dest: approved,"
                " outcome: approve, conditions: [not_yet_approved]}\ntimers:\n")
    assert reported(problems_in(text), line_of(text, "dest: approved, outcome: approve,"),
                    "declared twice")


@pytest.mark.parametrize(("old", "new", "typo", "where"), [
    ("title: {en: Tiny approval", "titel: {en: Tiny approval", "titel", "definition"),
    ("    label: {en: Review, zh: 审核}", "    lable: {en: Review, zh: 审核}", "lable",
     "state 'under_review'"),
    ("      deadline_days: 3", "      deadline_dyas: 3", "deadline_dyas",
     "state 'under_review' step"),
    ("    unless: [{amount_above", "    unles: [{amount_above", "unles", "transition 'approve'"),
    ("after_working_days: 2, action: conclude}", "after_working_days: 2, action: conclude, "
     "repeat: true}", "repeat", "timer"),
    ("assignees: [{role: sta_admin}]", "assignees: [{role: sta_admin, scop: it}]", "scop",
     "state 'under_review' step"),
])
def test_definition__unknown_keys_are_typos(old, new, typo, where):
    text = edit(TINY, old, new)
    problems = problems_in(text)
    assert reported(problems, line_of(text, typo), where, f"unknown key '{typo}'")


@pytest.mark.parametrize(("old", "new", "fragment"), [
    ("      deadline_days: 3", "      deadline_days: 3: 4", "deadline_days: 3: 4"),
    ("  - {action: reject, source: under_review, dest: rejected, outcome: reject}",
     "  - {action: reject, source: under_review, dest: rejected, outcome: reject}}",
     "outcome: reject}}"),
    ("    step: {assignees: owner}\n  under_review:", "\tstep: {assignees: owner}\n"
     "  under_review:", "\tstep: {assignees: owner}"),
])
def test_definition__invalid_yaml(old, new, fragment):
    text = edit(TINY, old, new)
    problems = problems_in(text)
    assert len(problems) == 1
    assert problems[0].reason.startswith("not valid YAML")
    assert problems[0].line == line_of(text, fragment)


def test_definition__a_duplicated_yaml_key():
    text = edit(TINY, "      deadline_days: 3", "      deadline_days: 3\n      deadline_days: 4")
    problems = problems_in(text)
    assert len(problems) == 1
    assert "duplicated key 'deadline_days'" in problems[0].reason
    assert problems[0].line == line_of(text, "deadline_days: 4")


def test_definition__returned_from_with_nothing_returning_there():
    text = edit(TINY, "  - {action: return_for_revision, source: under_review, return_to: "
                "[returned_for_revision],\n     outcome: return}\n", "")
    problems = problems_in(text)
    assert reported(problems, line_of(text, "action: resubmit"), "returned_from",
                    "nothing returns to 'returned_for_revision'")


@pytest.mark.parametrize(("new", "words"), [
    ("{state: waiting, after_working_days: 0, action: conclude}",
     ("after_working_days", "whole number")),
    ("{state: waiting, after_working_days: two, action: conclude}",
     ("after_working_days", "whole number")),
    ("{state: waiting, after_working_days: 2, action: finish}",
     ("no transition 'finish' from 'waiting'",)),
    ("{state: sleeping, after_working_days: 2, action: conclude}",
     ("state 'sleeping' is not declared",)),
    ("{state: draft, after_working_days: 2, action: submit}",
     ("transition 'submit' must be by: system",)),
])
def test_definition__timer_problems(new, words):
    text = edit(TINY, "{state: waiting, after_working_days: 2, action: conclude}", new)
    assert reported(problems_in(text), line_of(text, new), *words)


def test_definition__a_second_timer_on_the_same_state():
    timer = "  - {state: waiting, after_working_days: 2, action: conclude}\n"
    text = edit(TINY, timer, timer + timer.replace("2", "3"))
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{line_of(text, 'after_working_days: 3')}: timer: 'waiting' already has "
        "a timer"
    ]


def test_definition__a_system_transition_without_a_timer():
    text = edit(TINY, "timers:\n  - {state: waiting, after_working_days: 2, action: conclude}\n",
                "")
    problems = problems_in(text)
    assert [str(p) for p in problems] == [
        f"tiny.yaml:{line_of(text, 'action: conclude')}: transition 'conclude': by system, "
        "but no timer fires it"
    ]


def test_definition__a_shipped_timer_with_a_bad_action():
    original = shipped("award")
    old = "{state: under_public_notice, after_working_days: 5, action: conclude_notice}"
    text = edit(original, old, old.replace("conclude_notice", "end_notice"))
    problems = problems_in(text, "award.yaml")
    line = line_of(text, "action: end_notice")
    assert reported(problems, line, "no transition 'end_notice' from 'under_public_notice'")
    assert reported(problems, line_of(text, "action: conclude_notice"),
                    "by system, but no timer fires it")


EDITS = [
    ("conditions: [{amount_above: {field: amount, limit: \"5.00\"}}]",
     "conditions: [{amount_over: {field: amount, limit: \"5.00\"}}]",
     "amount_over", "unknown guard"),
    ("      - set_fields: {values: {decided: true}}",
     "      - set_field: {values: {decided: true}}", "set_field:", "unknown effect"),
    ("assignees: [{role: sta_admin}]", "assignees: [{role: sta_admn}]", "sta_admn",
     "unknown role"),
    ("      deadline_days: 3", "      deadline_dyas: 3", "deadline_dyas", "unknown key"),
    ("    title: {type: string, minLength: 2}", "    title: {type: text, minLength: 2}",
     "start_schema:", "not a valid JSON Schema"),
    ("  - {action: reject, source: under_review, dest: rejected, outcome: reject}\n",
     "  - {action: reject, source: under_review, dest: rejected, outcome: reject}\n"
     "  - {action: park, source: under_review, dest: parked, by: anyone}\n", "dest: parked",
     "not declared"),
    ("{state: waiting, after_working_days: 2, action: conclude}",
     "{state: waiting, after_working_days: 0, action: conclude}", "after_working_days: 0",
     "whole number"),
]


def test_definition__one_file_with_several_problems_lists_every_one():
    text = TINY
    for old, new, _fragment, _words in EDITS:
        text = edit(text, old, new)
    problems = problems_in(text)
    for _old, _new, fragment, words in EDITS:
        assert reported(problems, line_of(text, fragment), words), (fragment, problems)
    assert len(problems) == len(EDITS)
    with pytest.raises(DefinitionError) as caught:
        parse(text, file="tiny.yaml")
    assert caught.value.code == "invalid_definition"
    for problem in problems:
        assert str(problem) in str(caught.value)


def test_definition__a_folder_reports_every_broken_file_and_keeps_the_good_ones(tmp_path):
    (tmp_path / "good.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text(edit(TINY.replace("name: tiny", "name: tiny_two"),
                                               "assignees: [{role: sta_admin}]",
                                               "assignees: [{role: sta_admn}]"),
                                          encoding="utf-8")
    (tmp_path / "same_name.yaml").write_text(TINY, encoding="utf-8")
    (tmp_path / "_draft.yaml").write_text("not: [valid", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a definition", encoding="utf-8")
    definitions, problems = load_folder(tmp_path)
    assert [d.name for d in definitions] == ["tiny"]
    assert [(p.file, p.reason) for p in problems] == [
        ("broken.yaml", "state 'under_review' step: unknown role 'sta_admn'"),
        ("same_name.yaml", "name 'tiny' is already used by good.yaml"),
    ]


# ------------------------------------------------------------------ the command line


def run_check(*paths: Path | str):
    return CliRunner().invoke(cli, ["definitions", "check", *map(str, paths)])


def test_definition__cli_passes_the_shipped_definitions():
    result = run_check()
    assert result.exit_code == 0, result.output
    assert "definition(s) OK" in result.output
    result = run_check(default_folder())
    assert result.exit_code == 0, result.output


def test_definition__cli_prints_every_problem_with_file_and_line(tmp_path):
    assert_check_reports_each_edit(tmp_path, TINY, EDITS)


def test_definition__cli_checks_a_folder_and_several_paths(tmp_path):
    folder = tmp_path / "definitions"
    shutil.copytree(default_folder(), folder, ignore=shutil.ignore_patterns("*.py", "*.md",
                                                                            "__pycache__"))
    award = folder / "award.yaml"
    old = "{state: under_public_notice, after_working_days: 5, action: conclude_notice}"
    award.write_text(edit(award.read_text(encoding="utf-8"), old,
                          old.replace("after_working_days: 5", "after_working_days: 0")),
                     encoding="utf-8")
    line = line_of(award.read_text(encoding="utf-8"), "after_working_days: 0")
    result = run_check(folder)
    assert result.exit_code == 1
    expected = "timer: after_working_days must be a whole number of working days ≥ 1, got 0"
    assert f"award.yaml:{line}: {expected}" in result.output.splitlines()

    good = tmp_path / "tiny.yaml"
    good.write_text(TINY, encoding="utf-8")
    assert run_check(good).exit_code == 0
    result = run_check(good, award)
    assert result.exit_code == 1
    assert [line for line in result.output.splitlines() if ": " in line and ".yaml:" in line] \
        == [f"{award}:{line}: {expected}"]


def test_definition__cli_reports_a_file_that_is_not_utf8(tmp_path):
    """Saved in GB18030, as a Chinese Windows editor might: the first byte that is not UTF-8
    is reported with its line and place (小 is d0 a1, which UTF-8 reads as ѡ; 审 is not)."""
    path = tmp_path / "tiny.yaml"
    path.write_bytes(TINY.encode("gb18030"))
    line = line_of(TINY, "zh: 小审批")
    column = len("title: {en: Tiny approval, zh: 小".encode("gb18030")) + 1
    reason = f"not UTF-8 text: byte 0x{'审'.encode('gb18030')[0]:02x} at byte {column} of the line"
    result = run_check(path)
    assert result.exit_code == 1
    [problem] = [line for line in result.output.splitlines() if line.startswith(f"{path}:")]
    assert problem.startswith(f"{path}:{line}: {reason}")

    folder = tmp_path / "definitions"
    folder.mkdir()
    (folder / "good.yaml").write_text(TINY.replace("name: tiny", "name: good"), encoding="utf-8")
    path.rename(folder / "tiny.yaml")
    result = run_check(folder)
    assert result.exit_code == 1
    assert [line.split(" (")[0] for line in result.output.splitlines() if ".yaml:" in line] == [
        f"tiny.yaml:{line}: {reason}"]
    assert "1 problem(s) in 2 definition(s)" in result.output


def test_definition__python_dash_m_workflow_cli_runs_the_command_line(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_bytes(b"name: tiny\xff\n")
    result = subprocess.run([sys.executable, "-m", "workflow.cli", "definitions", "check",
                             str(path)], capture_output=True, text=True, check=False,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith(f"{path}:1: not UTF-8 text: byte 0xff at byte 11")
