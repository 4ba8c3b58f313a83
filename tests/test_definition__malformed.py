"""Malformed definition files: whatever is wrong with a file, reading and checking it ends in
a list of problems, each with the file, a line of that file and a reason, and never in any
other exception (TypeError, KeyError, RecursionError, a YAML error, a decoding error…).

The property tests mutate the shipped definitions three ways: in their parsed form (a value
or a key replaced by a wrong shape, deleted, nested deep, a stray key added, including
misspelt and dangling schema keywords), in their text (values replaced by odd YAML, keys
that are lists, booleans or null, unknown tags, broken indentation, truncation, problems on
the first line) and in their bytes (sequences that are not UTF-8). The explicit cases after
them are the crashes found, by those tests or by reading the parser, one each.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.definition_text import edit, line_of
from workflow.definition import (
    MAX_DEPTH,
    Definition,
    Problem,
    decode,
    default_folder,
    files_in,
    parse,
)
from workflow.errors import DefinitionError
from workflow.machine import CompiledMachine

SHIPPED = {path.name: path.read_text(encoding="utf-8") for path in files_in(default_folder())}

SETTINGS = settings(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
"""Derandomized, so a run is repeatable. Each example is read twice (as a new file and as a
stored version), about 0.1 s: the three property tests take about 15 s together."""


def checked(text: str, file: str, *, stored: bool = False) -> list[Problem]:
    """The problems of ``text``, after checking that each names ``file`` and one of its lines;
    an accepted definition must also compile to a state machine."""
    try:
        definition = parse(text, file=file, stored=stored)
    except DefinitionError as exc:
        assert exc.problems, "a DefinitionError without problems"
        last = len(text.splitlines()) + 1
        for problem in exc.problems:
            assert isinstance(problem, Problem), problem
            assert problem.file == file, problem
            assert isinstance(problem.line, int) and 1 <= problem.line <= last, problem
            assert isinstance(problem.reason, str) and problem.reason.strip(), problem
        return list(exc.problems)
    assert isinstance(definition, Definition)
    CompiledMachine(definition)
    return []


def problems_of(text: str, file: str) -> list[Problem]:
    """The problems of ``text`` as a new file; read as a stored version, it has some of them
    (the checks that only guard new files are left out), never another, unless nesting past
    MAX_DEPTH stopped the reading of the new file."""
    problems = checked(text, file)
    stored = checked(text, file, stored=True)
    if not any("levels deep" in p.reason for p in problems):
        assert set(stored) <= set(problems)
    return problems


# ------------------------------------------------------------ mutations of the parsed form


class Tagged:
    """A scalar written with an explicit tag, such as ``!!python/object:os.system``."""

    def __init__(self, tag: str, value: str) -> None:
        self.tag, self.value = tag, value


class ListKey(tuple[Any, ...]):
    """A key written as a YAML sequence (``? [a, b]``): a list where a name belongs."""


class Dumper(yaml.SafeDumper):
    pass


Dumper.add_representer(
    Tagged, lambda d, t: d.represent_scalar(t.tag.replace("!!", "tag:yaml.org,2002:", 1)
                                            if t.tag.startswith("!!") else t.tag, t.value))
Dumper.add_representer(ListKey, lambda d, k: d.represent_sequence(
    "tag:yaml.org,2002:seq", list(k)))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


TREES = {name: yaml.safe_load(text) for name, text in SHIPPED.items()}
PLACES = [(name, path) for name in sorted(TREES) for path in _paths(TREES[name])]
"""Every node of every shipped definition, as (file, path from the top)."""

TAGS = ["!!python/object:os.system", "!!python/name:os.system", "!!python/tuple", "!custom",
        "!!binary", "!!timestamp", "!!set", "!!omap", "!!float", "!!int", "!!bool", "!!null",
        "!!str", "!!merge"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**20), st.floats(),
    st.text(max_size=6),
    st.sampled_from(["low", "owner", "object", "money", "returned_from", "1/0", "2/3", "nan",
                     "step", "system", "approve", "draft", "sta_admin", "transfer"]),
    st.builds(Tagged, st.sampled_from(TAGS), st.sampled_from(["x", "2024-01-01", "aGk=", ""])),
)
WRONG = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.text(max_size=4), st.integers(0, 3), st.booleans()),
                        inner, max_size=3)),
    max_leaves=6,
)
"""A value of the wrong shape: scalars of every type, tagged scalars, small lists and maps."""

WRONG_KEYS = st.one_of(
    st.booleans(), st.none(), st.integers(-1, 3), st.floats(allow_nan=False),
    st.builds(ListKey, st.lists(st.sampled_from(["a", "draft", 1]), max_size=2)),
    st.sampled_from(["minLenght", "$ref", "$dynamicRef", "$id", "$schema", "$defs", "<<", "true",
                     "its inputs and its result", "step", "label", "type", "items",
                     "properties", "definitions"]),
)
STRAY_VALUES = st.one_of(WRONG, st.sampled_from([
    "#/$defs/missing", "#/properties/nope", "#", "#anchor", "http://example.invalid/s.json",
    "http://[bad", "other.json", "http://json-schema.org/draft-07/schema#"]))


def _parent_and_key(tree: Any, path: tuple[Any, ...]) -> tuple[Any, Any]:
    node = tree
    for step in path[:-1]:
        node = node[step]
    return node, path[-1]


def _nested(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"n": value}
    return value


@st.composite
def tree_mutants(draw: st.DrawFn) -> tuple[str, str]:
    name, path = draw(st.sampled_from(PLACES))
    tree = copy.deepcopy(TREES[name])
    how = draw(st.sampled_from(["replace", "rekey", "delete", "add_key", "nest"]))
    if not path:
        tree = draw(WRONG) if how == "replace" else tree
    else:
        parent, key = _parent_and_key(tree, path)
        if how == "replace":
            parent[key] = draw(WRONG)
        elif how == "nest":
            parent[key] = _nested(parent[key], draw(st.integers(1, 40)))
        elif how == "delete":
            del parent[key]
        elif how == "rekey" and isinstance(parent, dict):
            new_key = draw(WRONG_KEYS)
            parent.pop(key)
            parent.setdefault(new_key, TREES[name] if new_key == "<<" else None)
        elif how == "add_key" and isinstance(parent[key], dict):
            parent[key].setdefault(draw(WRONG_KEYS), draw(STRAY_VALUES))
    text = yaml.dump(tree, Dumper=Dumper, sort_keys=False, allow_unicode=True)
    return name, text


@settings(SETTINGS, max_examples=90)
@given(tree_mutants())
def test_malformed__a_wrong_shape_anywhere_yields_problems_never_a_crash(mutant):
    name, text = mutant
    problems_of(text, name)


# ------------------------------------------------------------------ mutations of the text

ODD_VALUES = [
    "[a, b]", "{}", "[]", "null", "~", "true", "low", "0", "-1", "1e400", ".nan", "-.inf",
    "!!python/object:os.system ls", "!!python/object/apply:os.system [ls]", "!unknown x",
    "!!binary aGk=", "!!timestamp 2024-01-01", "!!set {a, b}", "*nowhere", "&anchor x",
    "{a: 1, a: 2}", "'unclosed", "{type: object, description: a, b}", "{? [a, b] : c}",
    "[a, {b: c}]", "\"\\x00\"", "2024-01-01", "0o17", "0x1F", "<<", "|", ">-", "%", "@at",
    "`tick`", "{<<: 5}", "{<<: [1]}", "$ref",
]
ODD_KEYS = ["? [a, b]\n{indent}: x", "true: x", "1: x", "null: x", "~: x", "<<: 5",
            "<<: *nowhere", "[a]: x", "{a: b}: x", "? {a: b}\n{indent}: y", "!!python/none x: y",
            "minLenght: 3", "$ref: '#/$defs/missing'", "its inputs and its result:"]
FIRST_LINES = ["%YAML 2.0\n", "%TAG ! tag:example.com,2000:\n", "--- !!python/object:x\n",
               "---\n- a\n---\n", "...\n", "\ufeff", "--- a\n--- b\n", "- list at the top\n",
               "just text\n", "\t", "? [a]\n: b\n", "&a x\n"]
ODD_CHARS = ["\x00", "\x07", "\x85", "\u2028", "\ufffe", "\t", "\r", "\ufeff", ":", "#", "{"]


def _value_replaced(line: str, snippet: str) -> str:
    head, colon, _ = line.partition(": ")
    if colon:
        return f"{head}: {snippet}"
    stripped = line.lstrip()
    if stripped.startswith("- "):
        return f"{line[:len(line) - len(stripped)]}- {snippet}"
    return f"{line}{snippet}"


@st.composite
def text_mutants(draw: st.DrawFn) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(SHIPPED)))
    lines = SHIPPED[name].splitlines(keepends=True)
    at = draw(st.integers(0, len(lines) - 1))
    line = lines[at]
    indent = line[:len(line) - len(line.lstrip(" "))]
    how = draw(st.sampled_from(["value", "key", "delete", "duplicate", "indent", "truncate",
                                "deep", "first_line", "char"]))
    if how == "value":
        lines[at] = _value_replaced(line.rstrip("\n"), draw(st.sampled_from(ODD_VALUES))) + "\n"
    elif how == "key":
        key = draw(st.sampled_from(ODD_KEYS)).replace("{indent}", indent)
        lines.insert(at, f"{indent}{key}\n")
    elif how == "delete":
        del lines[at]
    elif how == "duplicate":
        lines.insert(at, line)
    elif how == "indent":
        shift = draw(st.integers(-4, 4))
        lines[at] = (" " * shift + line) if shift >= 0 else line[min(-shift, len(indent)):]
    elif how == "deep":
        depth = draw(st.integers(1, 2 * MAX_DEPTH))
        opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}"), ("[{a: ", "}]")]))
        lines[at] = _value_replaced(line.rstrip("\n"), opening * depth + "x" + closing * depth
                                    ) + "\n"
    elif how == "first_line":
        lines.insert(0, draw(st.sampled_from(FIRST_LINES)))
    text = "".join(lines)
    if how == "truncate":
        text = text[:draw(st.integers(0, len(text)))]
    elif how == "char":
        where = draw(st.integers(0, len(text)))
        text = text[:where] + draw(st.sampled_from(ODD_CHARS)) + text[where:]
    return name, text


@settings(SETTINGS, max_examples=150)
@given(text_mutants())
def test_malformed__odd_yaml_text_yields_problems_never_a_crash(mutant):
    name, text = mutant
    problems_of(text, name)


# ----------------------------------------------------------------- mutations of the bytes

NOT_UTF8 = [b"\xff", b"\xfe", b"\xc3", b"\x80", b"\xc0\xaf", b"\xe6\x97", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80"]
"""Sequences that make any valid UTF-8 text invalid wherever they are put: a stray byte, a
truncated or overlong sequence, an encoded surrogate, a code point past U+10FFFF."""


@settings(SETTINGS, max_examples=100)
@given(st.sampled_from(sorted(SHIPPED)), st.data())
def test_malformed__bytes_that_are_not_utf8_are_reported_with_their_line(name, data):
    original = SHIPPED[name].encode()
    where = data.draw(st.integers(0, len(original)))
    mutant = original[:where] + data.draw(st.sampled_from(NOT_UTF8)) + original[where:]
    try:
        decode(mutant, name)
    except DefinitionError as exc:
        [problem] = exc.problems
    else:
        raise AssertionError("decoded bytes that are not UTF-8")
    assert (problem.file, problem.line) == (name, original.count(b"\n", 0, where) + 1)
    assert problem.reason.startswith("not UTF-8 text")


# ------------------------------------------------- the crashes found, one regression each


CRASHES = [
    # (file, old, new, fragment on the line reported, words of the reason); each id names
    # the exception the edit raised before it became a problem.
    pytest.param("award.yaml", "  draft:\n    label: {en: Nomination draft",
                 "  [draft, other]:\n    label: {en: Nomination draft", "[draft, other]:",
                 ("not valid YAML", "a key must be a name, not a sequence"),
                 id="TypeError-list-as-key"),
    pytest.param("award.yaml", "  draft:\n    label: {en: Nomination draft",
                 "  {draft: 1}:\n    label: {en: Nomination draft", "{draft: 1}:",
                 ("not valid YAML", "a key must be a name, not a mapping"),
                 id="TypeError-map-as-key"),
    pytest.param("award.yaml", "  under_public_notice:\n    label: {en: Public notice, zh: 公示}\n"
                 "    public: true\n", "  under_public_notice: [public]\n",
                 "under_public_notice: [public]",
                 ("state 'under_public_notice'", "a state is a mapping"),
                 id="AttributeError-state-not-a-mapping"),
    pytest.param("award.yaml", "  withdrawn: {label: {en: Withdrawn, zh: 已撤回}, final: true}",
                 "  3: {final: true}", "3: {final: true}", ("state 3", "snake_case"),
                 id="AttributeError-state-named-by-a-number"),
    pytest.param("award.yaml", "initial: draft", "initial: [draft]", "initial: [draft]",
                 ("initial state ['draft'] is not declared",), id="TypeError-initial-a-list"),
    pytest.param("award.yaml", "source: [draft, under_formal_review]",
                 "source: [draft, {under_formal_review: 1}]", "source: [draft, {under",
                 ("source state {'under_formal_review': 1} is not declared",),
                 id="TypeError-source-a-mapping"),
    pytest.param("award.yaml", "    dest: under_chair_consolidation\n",
                 "    dest: [under_chair_consolidation]\n", "dest: [under_chair_consolidation]",
                 ("destination state ['under_chair_consolidation'] is not declared",),
                 id="TypeError-dest-a-list"),
    pytest.param("payout.yaml", "return_to: [under_list_confirmation]",
                 "return_to: [[under_list_confirmation]]", "return_to: [[under_list",
                 ("destination state ['under_list_confirmation'] is not declared",),
                 id="TypeError-return_to-a-list-of-lists"),
    pytest.param("payout.yaml", "title: {en: Reward payout,", "title: {en: !!int many,",
                 "!!int many", ("not valid YAML", "cannot read 'many' as int"),
                 id="ValueError-tagged-int"),
    pytest.param("payout.yaml", "title: {en: Reward payout,", "title: {en: !!bool maybe,",
                 "!!bool maybe", ("not valid YAML", "cannot read 'maybe' as bool"),
                 id="KeyError-tagged-bool"),
    pytest.param("payout.yaml", "title: {en: Reward payout,", "title: {en: !!timestamp soon,",
                 "!!timestamp soon", ("not valid YAML", "cannot read 'soon' as timestamp"),
                 id="AttributeError-tagged-timestamp"),
    pytest.param("payout.yaml", "title: {en: Reward payout,", "title: {en: !!int '',",
                 "!!int ''", ("not valid YAML", "cannot read '' as int"),
                 id="IndexError-empty-tagged-int"),
    pytest.param("payout.yaml", "title: {en: Reward payout,", "title: {en: 2026-13-45,",
                 "2026-13-45", ("not valid YAML", "cannot read '2026-13-45' as timestamp"),
                 id="ValueError-impossible-date"),
    pytest.param("award.yaml", '{name: innovation, weight: "0.4", min: 0, max: 100}',
                 '{name: innovation, weight: "0.4", min: low, max: 100}', "min: low",
                 ("criterion 'innovation'", "min < max, integers"), id="ValueError-min-low"),
    pytest.param("award.yaml", '{name: innovation, weight: "0.4", min: 0, max: 100}',
                 "{name: innovation, weight: .nan, min: 0, max: 100}", "weight: .nan",
                 ("criterion 'innovation'", "weight must be > 0"),
                 id="InvalidOperation-weight-nan"),
    pytest.param("award.yaml", "        criteria:\n", "        criteria: 5\n        unused:\n",
                 "criteria: 5", ("scoring: criteria is a list",), id="TypeError-criteria-5"),
    pytest.param("award.yaml", "options: [special, first, second, third, none]",
                 "options: []", "options: []", ("vote: at least two options",),
                 id="IndexError-options-empty"),
    pytest.param("award.yaml", "options: [special, first, second, third, none]",
                 "options: 5", "options: 5", ("vote: at least two options",),
                 id="TypeError-options-5"),
    pytest.param("award.yaml", 'thresholds: {special: "2/3", first: "2/3", second: "3/5", '
                 'third: "3/5"}', "thresholds: [special, first]", "thresholds: [special",
                 ("vote: thresholds map options to fractions",),
                 id="AttributeError-thresholds-a-list"),
    pytest.param("payout.yaml", "allow: [transfer, claim, release, add_signer, copy]",
                 "allow: 5", "allow: 5", ("allow is a list of habits",), id="TypeError-allow-5"),
    pytest.param("payout.yaml", "allow: [transfer, claim, release, add_signer, copy]",
                 "allow: [transfer, {claim: 1}]", "allow: [transfer, {claim",
                 ("allow is a list of habits",), id="TypeError-allow-a-mapping-item"),
    pytest.param("payout.yaml", "not_by_actors_of: [confirm_list], label: {en: Approve",
                 "not_by_actors_of: 5, label: {en: Approve", "not_by_actors_of: 5",
                 ("not_by_actors_of is a list of action names",),
                 id="TypeError-not_by_actors_of-5"),
    pytest.param("award.yaml", "timers:\n  - {state: under_public_notice, after_working_days: 5,"
                 " action: conclude_notice}\n", "timers: 5\n", "timers: 5",
                 ("timers: a list",), id="TypeError-timers-5"),
    pytest.param("award.yaml", 'table: {special: "100000.00", first: "50000.00",',
                 'table: {special: many, 1: few, first: "50000.00",',
                 "    effects: [{decide_reward", ("'decide_reward' parameters",),
                 id="TypeError-parameter-errors-under-int-and-str-keys"),
    pytest.param("payout.yaml", "payment_reference: {type: string, minLength: 3, maxLength: 64,",
                 'payment_reference: {$ref: "#/$defs/reference", minLength: 3, maxLength: 64,',
                 "$ref", ("transition 'confirm_payment' schema", "$ref '#/$defs/reference'",
                          "does not resolve"), id="Unresolvable-dangling-ref-with-examples"),
    pytest.param("payout.yaml", "      examples: [{payment_reference: PAY-2026-000123}]",
                 '      $defs: {loop: {allOf: [{$ref: "#/$defs/loop"}]}}\n'
                 '      allOf: [{$ref: "#/$defs/loop"}]\n'
                 "      examples: [{payment_reference: PAY-2026-000123}]", "    schema:",
                 ("transition 'confirm_payment' schema", "an example cannot be checked",
                  "never ends"), id="RecursionError-ref-loop"),
    pytest.param("payout.yaml", "title: {en: Reward payout,",
                 "title: {en: " + "[" * 1000 + "]" * 1000 + ",", "title: {en: [[[",
                 ("not valid YAML", f"nested more than {MAX_DEPTH} levels deep"),
                 id="RecursionError-deep-nesting"),
]


@pytest.mark.parametrize(("file", "old", "new", "fragment", "words"), CRASHES)
def test_malformed__each_crash_found_is_a_problem_on_its_line(file, old, new, fragment, words):
    text = edit(SHIPPED[file], old, new)
    problems = problems_of(text, file)
    line = line_of(text, fragment)
    assert any(p.line == line and all(w in p.reason for w in words) for p in problems), \
        (line, problems)


LINES = [
    # Problems that were reported on line 0, now on the line they are about.
    ("payout.yaml", "  - action: report_failure\n    source: awaiting_payment\n"
     "    dest: payment_failed\n    outcome: reject\n"
     "    label: {en: Payment failed, zh: 支付失败}\n",
     "  - report_failure\n", "- report_failure", "a transition is a mapping"),
    ("award.yaml", "  - {state: under_public_notice, after_working_days: 5, action: "
     "conclude_notice}", "  - 5", "  - 5", "a timer is a mapping"),
    ("award.yaml", "  returned_for_revision:\n    label: {en: Returned for revision, "
     "zh: 退回修改}\n    step: {assignees: owner}", "  returned_for_revision:\n    label: "
     "{en: Returned for revision, zh: 退回修改}\n    step: owner", "step: owner",
     "step: must be a mapping"),
    ("award.yaml", "      scoring:\n        criteria:\n", "      scoring: 5\n      unused:\n"
     "        criteria:\n", "scoring: 5", "scoring: must be a mapping"),
    ("award.yaml", "      vote:\n        options:", "      vote: [a]\n      unused:\n"
     "        options:", "vote: [a]", "vote: must be a mapping"),
    ("award.yaml", "by: owner, conditions: [not_yet_approved]",
     "by: owner, conditions: [[not_yet_approved]]", "conditions: [[not_yet_approved]]",
     "a guard is a name or {name: {params}}"),
    ("payout.yaml", "on_start: [check_budget]", "on_start: 5", "on_start: 5",
     "an effect is a name or {name: {params}}"),
    ("payout.yaml", "\ntransitions:\n", "\ntransitions: 5\nunused:\n", "transitions: 5",
     "transitions: at least one transition is needed"),
    ("payout.yaml", "    source_id: {type: integer}", "    source_id: {type: integer}\x07",
     "source_id: {type: integer}", "unacceptable character #x0007"),
]


@pytest.mark.parametrize(("file", "old", "new", "fragment", "words"), LINES)
def test_malformed__problems_name_the_line_they_are_about(file, old, new, fragment, words):
    text = edit(SHIPPED[file], old, new)
    problems = problems_of(text, file)
    line = line_of(text, fragment)
    assert any(p.line == line and words in p.reason for p in problems), (line, problems)


def test_malformed__nesting_past_max_depth_is_refused_in_a_new_file_not_in_a_stored_one():
    """Before the limit such a text could be stored; it keeps loading."""
    deep = "[" * (MAX_DEPTH + 50) + "]" * (MAX_DEPTH + 50)
    text = edit(SHIPPED["payout.yaml"], "title: {en: Reward payout,", f"title: {{en: {deep},")
    assert [(p.line, p.reason.split(":")[0]) for p in checked(text, "payout.yaml")] == [
        (line_of(text, "title: {en: [["), "not valid YAML")]
    assert parse(text, file="payout.yaml", stored=True).title["en"] == deep


def test_malformed__nesting_past_the_stack_in_a_stored_text_is_a_problem_too():
    """A stored text is read without the depth limit, as deep as Python's stack allows."""
    deep = "[" * 5000 + "]" * 5000
    text = edit(SHIPPED["payout.yaml"], "title: {en: Reward payout,", f"title: {{en: {deep},")
    with pytest.raises(DefinitionError) as caught:
        parse(text, file="payout.yaml", stored=True)
    assert [str(p) for p in caught.value.problems] == ["payout.yaml:1: nested too deeply to be "
                                                       "read"]
