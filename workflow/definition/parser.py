"""One definition file from text to a checked, immutable :class:`Definition`: the top-level
keys, the start form and the states here; steps, transitions and the whole-definition checks
in their own modules. Every problem is collected before anything is raised."""

from __future__ import annotations

import hashlib
from types import MappingProxyType

import yaml

from ..errors import DefinitionError
from . import shapes
from .checker import SNAKE_CASE, Checker
from .cross_checks import check_graph, check_reminder_actions, declared, parse_timers
from .item_fields import check_field_names
from .ladder_timing import check_rungs_before_timers
from .model import Definition, Problem, State, Transition
from .step_parser import parse_step
from .transition_parser import parse_transitions, with_revisions
from .yaml_lines import MAX_DEPTH, error_line, line_of, load, plain


def parse(text: str, file: str = "<string>", *, stored: bool = False) -> Definition:
    """Parse and check a definition; raise DefinitionError listing every problem.

    ``stored=True`` reads the text of a version already in the database: it was accepted
    when it was stored, so the checks that only guard new files are left out (the schema
    checks of ``schema_checks``, the value shapes of ``shapes`` and the depth limit
    ``MAX_DEPTH``), and running instances on it go on loading.
    """
    try:
        return _parse(text, file, stored)
    except RecursionError:  # a stored text is read without the depth limit
        problem = Problem(file, 1, "nested too deeply to be read")
        raise DefinitionError([problem]) from None


def _parse(text: str, file: str, stored: bool) -> Definition:
    check = Checker(file, stored=stored)
    try:
        doc = load(text, max_depth=None if stored else MAX_DEPTH)
    except yaml.YAMLError as exc:
        check.add(error_line(exc, text), f"not valid YAML: {exc}")
        raise DefinitionError(check.problems) from exc
    if not isinstance(doc, dict):
        check.add(1, "a definition is a mapping with name, states and transitions")
        raise DefinitionError(check.problems)
    check.keys(
        doc,
        {"name", "title", "initial", "start_by", "start_schema", "on_start", "states",
         "transitions", "timers", "rewards"},
        "definition",
    )
    name = doc.get("name")
    if not isinstance(name, str) or not SNAKE_CASE.match(name):
        check.add(line_of(doc, "name"), "name must be snake_case")
        name = str(name)
    title = shapes.label(check, doc, "title", "", name)
    start_by = doc.get("start_by", "anyone")
    if start_by not in ("anyone", "spawn"):
        check.add(line_of(doc, "start_by"), "start_by must be 'anyone' or 'spawn'")
    start_schema = check.schema(doc.get("start_schema"), line_of(doc, "start_schema"),
                                "start_schema")
    on_start = check.calls(doc.get("on_start"), "effect", "on_start", line_of(doc, "on_start"))

    states: dict[str, State] = {}
    raw_states = doc.get("states")
    if not isinstance(raw_states, dict) or not raw_states:
        check.add(line_of(doc, "states"), "states: at least one state is needed")
        raw_states = {}
    for state_name, node in raw_states.items():
        line = line_of(raw_states, state_name)
        where = f"state {state_name!r}"
        node = node or {}
        if not SNAKE_CASE.match(str(state_name)):
            check.add(line, f"{where}: names are snake_case")
        if not isinstance(node, dict):
            check.add(line, f"{where}: a state is a mapping (label, final, step)")
            node = {}
        check.keys(node, {"label", "final", "step", "public"}, where)
        final = shapes.flag(check, node, "final", where)
        public = shapes.flag(check, node, "public", where)
        label = shapes.label(check, node, "label", where, state_name)
        step = parse_step(check, state_name, node.get("step"), line_of(node, "step") or line)
        if final and step is not None:
            check.add(line, f"{where}: a final state has no step")
        states[state_name] = State(state_name, label, final, step, line, public)

    initial = doc.get("initial")
    if not declared(initial, states):
        check.add(line_of(doc, "initial"), f"initial state {initial!r} is not declared")

    transitions = parse_transitions(check, doc.get("transitions"), states,
                                    line_of(doc, "transitions"))
    transitions = with_revisions(transitions, start_schema, on_start)
    timers = parse_timers(check, doc.get("timers"), states, transitions, line_of(doc, "timers"))
    check_reminder_actions(check, states, transitions)
    check_rungs_before_timers(check, states, transitions, timers)
    check_graph(check, states, transitions, initial)
    check_field_names(check, start_schema, on_start, states, transitions)

    if check.problems:
        raise DefinitionError(check.problems)
    by_source: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        by_source.setdefault((t.source, t.action), []).append(t)
    return Definition(
        name=name,
        title=title,
        initial=str(initial),
        start_by=start_by,
        start_schema=MappingProxyType(start_schema),
        on_start=on_start,
        states=MappingProxyType(states),
        transitions=tuple(transitions),
        timers=tuple(timers),
        extra=MappingProxyType(plain({"rewards": doc.get("rewards")})),
        source=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        file=file,
        _by_source=MappingProxyType({k: tuple(v) for k, v in by_source.items()}),
        _validators={},
    )
