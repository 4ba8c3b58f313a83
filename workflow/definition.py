"""Definitions: parsed from YAML, checked all at once, then immutable.

A definition is a different thing from the instances that run on it: this module only
reads files and says what is wrong with them, with file, line and reason.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from . import registry
from .actors import ROLES
from .errors import DefinitionError
from .schema import EMPTY_OBJECT, Validator, expand, schema_problem

MODES = ("owner", "single", "any", "all", "sequential", "quorum")
HABITS = ("transfer", "claim", "release", "add_signer", "remove_signer", "copy", "urge")
"""Built-in actions of every step (转交, 认领, 退回池, 加签, 减签, 抄送, 催办); reserved names."""
REASSIGN = "reassign_overdue"
"""The scheduler hands overdue personal tasks of a step to other eligible people; reserved."""
FLAG = "flag"
"""The scheduler's mark on an instance (a missed milestone), in any state; reserved."""
DEFAULT_HABITS = frozenset({"transfer", "claim", "release", "copy", "urge"})
OUTCOMES = ("approve", "reject", "return", "withdraw", "submit", "other")
BY = ("step", "owner", "anyone", "system")
RETURNED_FROM = "returned_from"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Call:
    """A guard or effect by name, with the parameters the file gave it."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Assignee:
    role: str
    scope_from: str | None = None
    scope: str = ""


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: str
    min: int
    max: int


@dataclass(frozen=True)
class Scoring:
    """Expert scoring: each assigned expert scores every criterion; blind until all have."""

    criteria: tuple[Criterion, ...]
    aggregate: str
    into: str
    spread_limit: float | None


@dataclass(frozen=True)
class Vote:
    """A committee vote: options from highest to lowest (the last means "not awarded");
    an option wins when the votes for it or a higher one reach its threshold."""

    options: tuple[str, ...]
    thresholds: Mapping[str, str]
    quorum: str
    into: str


@dataclass(frozen=True)
class Step:
    mode: str
    assignees: tuple[Assignee, ...]
    deadline_days: int | None
    form: Mapping[str, Any] | None
    allow: frozenset[str] = DEFAULT_HABITS
    quorum: int | None = None
    experts: int | None = None
    recuse_department: bool = False
    scoring: Scoring | None = None
    vote: Vote | None = None
    copy_to: tuple[Assignee, ...] = ()
    reminders: Reminders | None = None


@dataclass(frozen=True)
class State:
    name: str
    label: Mapping[str, str]
    final: bool
    step: Step | None
    line: int
    public: bool = False
    """Everyone may read an instance while it is here (a public notice, 公示)."""


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    dest: str
    outcome: str
    by: str
    requires_comment: bool
    conditions: tuple[Call, ...]
    unless: tuple[Call, ...]
    effects: tuple[Call, ...]
    schema: Mapping[str, Any]
    merge: bool
    label: Mapping[str, str]
    not_by_actors_of: tuple[str, ...]
    idempotency_key: str | None
    line: int
    revises: bool = False
    """The proposer (re)submits and may revise the start data on the way (a partial update)."""


@dataclass(frozen=True)
class Timer:
    state: str
    after_working_days: int
    action: str
    line: int


@dataclass(frozen=True)
class Definition:
    name: str
    title: Mapping[str, str]
    initial: str
    start_by: str
    start_schema: Mapping[str, Any]
    on_start: tuple[Call, ...]
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...]
    extra: Mapping[str, Any]
    source: str
    content_hash: str
    file: str
    _by_source: Mapping[tuple[str, str], tuple[Transition, ...]] = field(repr=False)
    _validators: dict[Any, Any] = field(repr=False, compare=False)

    def transitions_for(self, state: str, action: str) -> tuple[Transition, ...]:
        return self._by_source.get((state, action), ())

    def actions_from(self, state: str) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            if t.source == state:
                seen.setdefault(t.action, None)
        return list(seen)

    def action_names(self) -> list[str]:
        return list(dict.fromkeys(t.action for t in self.transitions))

    def revision_states(self) -> frozenset[str]:
        """States whose resubmission goes back to the step that returned the item."""
        return frozenset(
            t.source for t in self.transitions if "came_from" in {c.name for c in t.conditions}
        )

    def validator(self, schema: Mapping[str, Any]) -> Validator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = Validator(schema)
        return self._validators[key]

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A value derived from this (immutable) definition, computed once."""
        if key not in self._validators:
            self._validators[key] = compute()
        return self._validators[key]

    def timer_for(self, state: str) -> Timer | None:
        for timer in self.timers:
            if timer.state == state:
                return timer
        return None


# ------------------------------------------------------------------ YAML with line numbers


class _Map(dict[str, Any]):
    line: int = 0
    key_lines: dict[str, int]


class _Loader(yaml.SafeLoader):
    pass


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> _Map:
    loader.flatten_mapping(node)
    result = _Map()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicated key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


class _Seq(list[Any]):
    item_lines: list[int]


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> _Seq:
    result = _Seq(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def _line(node: Any, key: str | None = None) -> int:
    if isinstance(node, _Map):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    return 0


def _plain(value: Any) -> Any:
    """Line-tracking maps become ordinary dicts before anything keeps them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# ------------------------------------------------------------------ parsing and checking


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def add(self, line: int, reason: str) -> None:
        self.problems.append(Problem(self.file, line, reason))

    def keys(self, node: Any, allowed: set[str], where: str) -> None:
        if not isinstance(node, dict):
            return
        for key in node:
            if key not in allowed:
                self.add(_line(node, key), f"{where}: unknown key {key!r}")

    def schema(self, node: Any, line: int, where: str) -> dict[str, Any]:
        if node is None:
            return dict(EMPTY_OBJECT)
        if not isinstance(node, dict):
            self.add(line, f"{where}: a schema must be a mapping")
            return dict(EMPTY_OBJECT)
        expanded = expand(_plain(node))
        problem = schema_problem(expanded)
        if problem:
            self.add(line, f"{where}: not a valid JSON Schema: {problem}")
            return dict(EMPTY_OBJECT)
        if expanded.get("type") != "object":
            self.add(line, f"{where}: the schema must describe an object (type: object)")
        for example in expanded.get("examples", []):
            errors = Validator(expanded).errors(example)
            if errors:
                self.add(line, f"{where}: an example does not match its schema: {errors}")
        return expanded

    def calls(self, node: Any, kind: str, where: str) -> tuple[Call, ...]:
        table = registry.GUARDS if kind == "guard" else registry.EFFECTS
        if node is None:
            return ()
        if not isinstance(node, list):
            node = [node]
        calls = []
        params: Any
        for index, item in enumerate(node):
            line = _line(item) or (node.item_lines[index] if isinstance(node, _Seq) else 0)
            if isinstance(item, str):
                name, params = item, {}
            elif isinstance(item, dict) and len(item) == 1:
                name, params = next(iter(item.items()))
                params = params or {}
            else:
                self.add(line, f"{where}: a {kind} is a name or {{name: {{params}}}}")
                continue
            entry = table.get(name)
            if entry is None or (kind == "guard" and name in registry.INTERNAL_GUARDS):
                self.add(line, f"{where}: unknown {kind} {name!r}")
                continue
            errors = Validator(entry.params).errors(_plain(params))
            if errors:
                self.add(line, f"{where}: {kind} {name!r} parameters: {errors}")
                continue
            calls.append(Call(name, MappingProxyType(_plain(params))))
        return tuple(calls)


def _label(node: Any, fallback: str) -> Mapping[str, str]:
    if isinstance(node, dict):
        return MappingProxyType({str(k): str(v) for k, v in node.items()})
    if isinstance(node, str):
        return MappingProxyType({"en": node, "zh": node})
    return MappingProxyType({"en": fallback.replace("_", " "), "zh": fallback})


def _assignees(check: _Checker, raw: Any, line: int, where: str) -> list[Assignee]:
    found: list[Assignee] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict) or "role" not in item:
            check.add(_line(item) or line, f"{where}: an assignee needs a role")
            continue
        check.keys(item, {"role", "scope_from", "scope"}, where)
        if item["role"] not in ROLES:
            check.add(_line(item, "role"), f"{where}: unknown role {item['role']!r}")
        found.append(Assignee(item["role"], item.get("scope_from"), str(item.get("scope", ""))))
    return found


def _fraction(text: Any) -> bool:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return False
    return 0 < value <= 1


def _scoring(check: _Checker, node: Any, where: str) -> Scoring | None:
    if node is None:
        return None
    where = f"{where} scoring"
    if not isinstance(node, dict):
        check.add(0, f"{where}: must be a mapping")
        return None
    check.keys(node, {"criteria", "aggregate", "into", "spread_limit"}, where)
    criteria = []
    for item in node.get("criteria") or []:
        if not isinstance(item, dict) or not _NAME.match(str(item.get("name", ""))):
            check.add(_line(item) or _line(node), f"{where}: a criterion needs a snake_case name")
            continue
        check.keys(item, {"name", "weight", "min", "max"}, where)
        low, high = item.get("min", 0), item.get("max", 100)
        if not (isinstance(low, int) and isinstance(high, int) and low < high):
            check.add(_line(item), f"{where}: criterion {item['name']!r}: min < max, integers")
        try:
            weight = Decimal(str(item.get("weight", "1")))
        except ArithmeticError:
            weight = Decimal(0)
        if weight <= 0:
            check.add(_line(item), f"{where}: criterion {item['name']!r}: weight must be > 0")
        criteria.append(Criterion(item["name"], str(weight), int(low), int(high)))
    if not criteria:
        check.add(_line(node), f"{where}: at least one criterion")
    aggregate = node.get("aggregate", "mean")
    if aggregate not in ("mean", "trimmed_mean"):
        check.add(_line(node, "aggregate"), f"{where}: aggregate is mean or trimmed_mean")
    into = node.get("into", "expert_score")
    spread = node.get("spread_limit")
    if spread is not None and not isinstance(spread, int | float):
        check.add(_line(node, "spread_limit"), f"{where}: spread_limit is a number")
    return Scoring(tuple(criteria), aggregate, str(into), spread)


def _vote(check: _Checker, node: Any, where: str) -> Vote | None:
    if node is None:
        return None
    where = f"{where} vote"
    if not isinstance(node, dict):
        check.add(0, f"{where}: must be a mapping")
        return None
    check.keys(node, {"options", "thresholds", "quorum", "into"}, where)
    options = [str(o) for o in node.get("options") or []]
    if len(options) < 2:
        check.add(_line(node), f"{where}: at least two options, highest first, last = none")
    thresholds = {str(k): str(v) for k, v in (node.get("thresholds") or {}).items()}
    for option in options[:-1]:
        if option not in thresholds:
            check.add(_line(node, "thresholds"), f"{where}: no threshold for {option!r}")
    for option, value in thresholds.items():
        if option not in options[:-1]:
            check.add(_line(node, "thresholds"), f"{where}: threshold for unknown {option!r}")
        elif not _fraction(value):
            check.add(_line(node, "thresholds"), f"{where}: {option}: a fraction like 2/3")
    quorum = str(node.get("quorum", "1/2"))
    if not _fraction(quorum):
        check.add(_line(node, "quorum"), f"{where}: quorum is a fraction like 2/3")
    return Vote(tuple(options), MappingProxyType(thresholds), quorum,
                str(node.get("into", "grade")))


def _generated_form(scoring: Scoring | None, vote: Vote | None) -> dict[str, Any] | None:
    if scoring is not None:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": [c.name for c in scoring.criteria],
            "properties": {
                **{c.name: {"type": "integer", "minimum": c.min, "maximum": c.max}
                   for c in scoring.criteria},
                "remark": {"type": "string", "maxLength": 2000},
            },
            "examples": [{c.name: (c.min + c.max * 4) // 5 for c in scoring.criteria}],
        }
    if vote is not None:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["choice"],
            "properties": {"choice": {"enum": list(vote.options)}},
            "examples": [{"choice": vote.options[len(vote.options) // 2]}],
        }
    return None


_STEP_KEYS = {"reminders", "mode", "assignees", "deadline_days", "form", "label", "allow", "quorum",
              "experts", "recuse_department", "scoring", "vote", "copy_to"}


def _step(check: _Checker, name: str, node: Any) -> Step | None:
    if node is None:
        return None
    where = f"state {name!r} step"
    if not isinstance(node, dict):
        check.add(0, f"{where}: must be a mapping")
        return None
    check.keys(node, _STEP_KEYS, where)
    line = _line(node)
    raw = node.get("assignees")
    mode = node.get("mode", "owner" if raw == "owner" else "single")
    if mode not in MODES:
        check.add(_line(node, "mode"), f"{where}: unknown mode {mode!r} (one of {MODES})")
    assignees: list[Assignee] = []
    if raw == "owner":
        if mode != "owner":
            check.add(line, f"{where}: assignees 'owner' goes with mode 'owner'")
    elif not raw:
        check.add(line, f"{where}: has no role (assignees is empty)")
    else:
        assignees = _assignees(check, raw, line, where)
    if mode == "owner" and raw != "owner":
        check.add(line, f"{where}: mode 'owner' needs assignees: owner")
    if mode in ("single", "any", "all", "quorum") and len(assignees) > 1:
        check.add(line, f"{where}: mode {mode!r} takes one assignee role; use sequential for more")
    deadline = node.get("deadline_days")
    if deadline is not None and (not isinstance(deadline, int) or deadline < 1):
        check.add(_line(node, "deadline_days"),
                  f"{where}: deadline_days must be a whole number ≥ 1")
    quorum = node.get("quorum")
    if mode == "quorum" and (not isinstance(quorum, int) or quorum < 1):
        check.add(_line(node, "mode"), f"{where}: mode quorum needs quorum: M (M of N)")
    elif mode != "quorum" and quorum is not None:
        check.add(_line(node, "quorum"), f"{where}: quorum goes with mode quorum")
    experts = node.get("experts")
    if experts is not None and (not isinstance(experts, int) or experts < 1
                                or mode not in ("any", "all", "quorum")):
        check.add(_line(node, "experts"),
                  f"{where}: experts: N (how many to assign) needs mode any, all or quorum")
    if mode == "quorum" and isinstance(quorum, int) and isinstance(experts, int) and \
            quorum > experts:
        check.add(_line(node, "quorum"), f"{where}: quorum {quorum} is more than experts {experts}")
    allow = node.get("allow")
    habits = DEFAULT_HABITS if allow is None else frozenset(allow) | {"urge"}
    for habit in habits - set(HABITS):
        check.add(_line(node, "allow"), f"{where}: unknown habit {habit!r} (one of {HABITS})")
    if "add_signer" in habits:
        habits = habits | {"remove_signer"}
    scoring = _scoring(check, node.get("scoring"), where)
    vote = _vote(check, node.get("vote"), where)
    if scoring or vote:
        habits = habits - {"add_signer", "remove_signer"}
    if (scoring or vote) and mode not in ("all", "quorum"):
        check.add(line, f"{where}: scoring and voting steps use mode all or quorum")
    if scoring and vote:
        check.add(line, f"{where}: a step scores or votes, not both")
    generated = _generated_form(scoring, vote)
    if generated is not None and "form" in node:
        check.add(_line(node, "form"), f"{where}: scoring and voting steps generate their form")
    form: dict[str, Any] | None
    if "form" in node:
        form = check.schema(node.get("form"), _line(node, "form"), f"{where} form")
    else:
        form = generated
    copy_to = _assignees(check, node["copy_to"], _line(node, "copy_to"), f"{where} copy_to") \
        if node.get("copy_to") else []
    return Step(
        mode=mode,
        assignees=tuple(assignees),
        deadline_days=deadline,
        form=MappingProxyType(form) if form else None,
        allow=frozenset(habits),
        quorum=quorum if isinstance(quorum, int) else None,
        experts=experts if isinstance(experts, int) else None,
        recuse_department=bool(node.get("recuse_department", scoring is not None)),
        scoring=scoring,
        vote=vote,
        copy_to=tuple(copy_to),
        reminders=_reminders(check, node.get("reminders"), where, line, deadline),
    )


def parse(text: str, file: str = "<string>") -> Definition:
    """Parse and check a definition; raise DefinitionError listing every problem."""
    check = _Checker(file)
    try:
        doc = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        check.add(mark.line + 1 if mark else 0, f"not valid YAML: {exc}")
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
    if not isinstance(name, str) or not _NAME.match(name):
        check.add(_line(doc, "name"), "name must be snake_case")
        name = str(name)
    start_by = doc.get("start_by", "anyone")
    if start_by not in ("anyone", "spawn"):
        check.add(_line(doc, "start_by"), "start_by must be 'anyone' or 'spawn'")
    start_schema = check.schema(doc.get("start_schema"), _line(doc, "start_schema"), "start_schema")
    on_start = check.calls(doc.get("on_start"), "effect", "on_start")

    states: dict[str, State] = {}
    raw_states = doc.get("states")
    if not isinstance(raw_states, dict) or not raw_states:
        check.add(_line(doc, "states"), "states: at least one state is needed")
        raw_states = {}
    for state_name, node in raw_states.items():
        line = _line(raw_states, state_name)
        node = node or {}
        if not _NAME.match(str(state_name)):
            check.add(line, f"state {state_name!r}: names are snake_case")
        check.keys(node, {"label", "final", "step", "public"}, f"state {state_name!r}")
        final = bool(node.get("final", False))
        step = _step(check, state_name, node.get("step"))
        if final and step is not None:
            check.add(line, f"state {state_name!r}: a final state has no step")
        states[state_name] = State(state_name, _label(node.get("label"), state_name), final, step,
                                   line, bool(node.get("public", False)))

    initial = doc.get("initial")
    if initial not in states:
        check.add(_line(doc, "initial"), f"initial state {initial!r} is not declared")

    transitions = _transitions(check, doc.get("transitions"), states)
    transitions = _revisions(transitions, start_schema, on_start)
    timers = _timers(check, doc.get("timers"), states, transitions)
    _check_reminder_actions(check, states, transitions)
    _check_graph(check, states, transitions, timers, initial)

    if check.problems:
        raise DefinitionError(check.problems)
    by_source: dict[tuple[str, str], list[Transition]] = {}
    for t in transitions:
        by_source.setdefault((t.source, t.action), []).append(t)
    return Definition(
        name=name,
        title=_label(doc.get("title"), name),
        initial=str(initial),
        start_by=start_by,
        start_schema=MappingProxyType(start_schema),
        on_start=on_start,
        states=MappingProxyType(states),
        transitions=tuple(transitions),
        timers=tuple(timers),
        extra=MappingProxyType(_plain({"rewards": doc.get("rewards")})),
        source=text,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        file=file,
        _by_source=MappingProxyType({k: tuple(v) for k, v in by_source.items()}),
        _validators={},
    )


_TRANSITION_KEYS = {
    "action", "source", "dest", "return_to", "outcome", "by", "requires_comment", "conditions",
    "unless", "effects", "schema", "merge", "label", "not_by_actors_of", "idempotency_key",
}


def _transitions(check: _Checker, raw: Any, states: Mapping[str, State]) -> list[Transition]:
    if not isinstance(raw, list) or not raw:
        check.add(0, "transitions: at least one transition is needed")
        return []
    result: list[Transition] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    shape: dict[tuple[str, str], tuple[str, str, int]] = {}
    for node in raw:
        line = _line(node)
        if not isinstance(node, dict):
            check.add(line, "a transition is a mapping")
            continue
        action = node.get("action")
        where = f"transition {action!r}"
        check.keys(node, _TRANSITION_KEYS, where)
        if not isinstance(action, str) or not _NAME.match(action):
            check.add(line, "a transition needs an action name in snake_case")
            continue
        if action in HABITS or action in ("start", FLAG, REASSIGN):
            check.add(line, f"{where}: {action!r} is a built-in action; choose another name")
        sources = node.get("source")
        sources = sources if isinstance(sources, list) else [sources]
        outcome = node.get("outcome", "other")
        if outcome not in OUTCOMES:
            check.add(_line(node, "outcome"), f"{where}: outcome must be one of {OUTCOMES}")
        by = node.get("by", "step")
        if by not in BY:
            check.add(_line(node, "by"), f"{where}: by must be one of {BY}")
        requires_comment = bool(node.get("requires_comment", outcome in ("reject", "return")))
        if outcome in ("reject", "return") and not requires_comment:
            check.add(line, f"{where}: a {outcome} always requires a comment")
        conditions = check.calls(node.get("conditions"), "guard", where)
        unless = check.calls(node.get("unless"), "guard", where)
        effects = check.calls(node.get("effects"), "effect", where)
        schema = check.schema(node.get("schema"), _line(node, "schema"), f"{where} schema") \
            if "schema" in node else None
        label = _label(node.get("label"), action)
        not_by = tuple(node.get("not_by_actors_of") or ())
        key = node.get("idempotency_key")
        if key is not None and (schema is None or key not in schema.get("required", [])):
            check.add(_line(node, "idempotency_key"),
                      f"{where}: idempotency_key {key!r} must be a required field of the schema")

        destinations: list[tuple[str, tuple[Call, ...]]] = []
        if "return_to" in node:
            if outcome != "return":
                check.add(line, f"{where}: return_to goes with outcome 'return'")
            targets = node["return_to"] if isinstance(node["return_to"], list) else \
                [node["return_to"]]
            for target in targets:
                destinations.append(
                    (target, (Call("chosen_target", MappingProxyType({"state": target})),))
                )
            if "dest" in node:
                check.add(line, f"{where}: give dest or return_to, not both")
        elif node.get("dest") == RETURNED_FROM:
            destinations.append((RETURNED_FROM, ()))
        elif "dest" in node:
            destinations.append((node["dest"], ()))
        else:
            check.add(line, f"{where}: needs a dest")

        for source in sources:
            if source not in states:
                check.add(_line(node, "source"),
                          f"{where}: source state {source!r} is not declared")
                continue
            if states[source].final:
                check.add(line, f"{where}: leaves the final state {source!r}")
            if by == "step" and states[source].step is None:
                check.add(line, f"{where}: by 'step' from {source!r}, which has no step")
            previous = shape.get((source, action))
            if previous and previous[:2] != (outcome, by):
                check.add(line, f"{where}: from {source!r} it is declared twice with a different "
                          f"outcome or actor (first at line {previous[2]})")
            shape.setdefault((source, action), (outcome, by, line))
            for dest, extra in destinations:
                if dest != RETURNED_FROM and dest not in states:
                    check.add(_line(node, "dest") or line,
                              f"{where}: destination state {dest!r} is not declared")
                    continue
                signature = (source, action, dest if extra else "",
                             repr((conditions, unless)))
                if signature in seen:
                    check.add(line, f"{where}: duplicated from {source!r} (also at line "
                              f"{seen[signature]})")
                    continue
                seen[signature] = line
                result.append(
                    Transition(
                        action=action,
                        source=source,
                        dest=dest,
                        outcome=outcome,
                        by=by,
                        requires_comment=requires_comment,
                        conditions=extra + conditions,
                        unless=unless,
                        effects=effects,
                        schema=MappingProxyType(schema if schema is not None else {}),
                        merge=bool(node.get("merge", True)),
                        label=label,
                        not_by_actors_of=not_by,
                        idempotency_key=key,
                        line=line,
                    )
                )
    result = _expand_returned_from(check, result, states)
    _check_forms(check, result, states)
    return result


def _revisions(transitions: list[Transition], start_schema: Mapping[str, Any],
               on_start: tuple[Call, ...]) -> list[Transition]:
    """An owner's submit without its own schema takes the start form as a partial update:
    every start field optional, except the links made at creation, which stay fixed."""
    fixed = {str(c.params["field"]) for c in on_start if c.name == "link_parent"}
    properties = {k: v for k, v in (start_schema.get("properties") or {}).items()
                  if k not in fixed}
    patch = MappingProxyType({"type": "object", "additionalProperties": False,
                              "properties": properties})
    return [
        Transition(**{**t.__dict__, "schema": patch, "revises": True, "merge": True})
        if t.by == "owner" and t.outcome == "submit" and not t.schema.get("properties")
        else t
        for t in transitions
    ]


def _expand_returned_from(
    check: _Checker, transitions: list[Transition], states: Mapping[str, State]
) -> list[Transition]:
    """``dest: returned_from`` becomes one guarded transition per step that can return here."""
    expanded: list[Transition] = []
    for t in transitions:
        if t.dest != RETURNED_FROM:
            expanded.append(t)
            continue
        origins = [r.source for r in transitions if r.outcome == "return" and r.dest == t.source]
        if not origins:
            check.add(t.line, f"transition {t.action!r}: dest returned_from, but nothing returns "
                      f"to {t.source!r}")
        for origin in dict.fromkeys(origins):
            guard = Call("came_from", MappingProxyType({"state": origin}))
            expanded.append(
                Transition(**{**t.__dict__, "dest": origin, "conditions": (guard, *t.conditions)})
            )
    return expanded


def _check_forms(check: _Checker, transitions: list[Transition], states: Mapping[str, State]
                 ) -> None:
    """An approval without its own schema takes the step's form."""
    for i, t in enumerate(transitions):
        step = states[t.source].step
        if step is not None and (step.scoring or step.vote) and t.outcome == "approve":
            t = transitions[i] = Transition(**{**t.__dict__, "merge": False})
        if not t.schema and step is not None and step.form is not None and t.outcome == "approve":
            transitions[i] = Transition(**{**t.__dict__, "schema": step.form})
        elif not t.schema:
            transitions[i] = Transition(**{**t.__dict__, "schema": MappingProxyType(
                dict(EMPTY_OBJECT))})
        if t.outcome == "return" and transitions[i].schema.get("properties", {}).get("to_state"):
            check.add(t.line, f"transition {t.action!r}: 'to_state' is reserved for return_to")


def _timers(check: _Checker, raw: Any, states: Mapping[str, State],
            transitions: list[Transition]) -> list[Timer]:
    timers: list[Timer] = []
    for node in raw or []:
        line = _line(node)
        if not isinstance(node, dict):
            check.add(line, "a timer is a mapping")
            continue
        check.keys(node, {"state", "after_working_days", "action"}, "timer")
        state, days, action = node.get("state"), node.get("after_working_days"), node.get("action")
        if state not in states:
            check.add(line, f"timer: state {state!r} is not declared")
            continue
        if not isinstance(days, int) or days < 1:
            check.add(line, "timer: after_working_days must be a whole number ≥ 1")
        matching = [t for t in transitions if t.source == state and t.action == action]
        if not matching:
            check.add(line, f"timer: no transition {action!r} from {state!r}")
        elif any(t.by != "system" for t in matching):
            check.add(line, f"timer: transition {action!r} must be by: system")
        if any(t.state == state for t in timers):
            check.add(line, f"timer: {state!r} already has a timer")
        whole = days if isinstance(days, int) and days >= 1 else 1  # reported above
        timers.append(Timer(str(state), whole, str(action), line))
    for t in transitions:
        if t.by == "system" and not any(tm.state == t.source and tm.action == t.action
                                        for tm in timers) and not _ladder_fires(states, t):
            check.add(t.line, f"transition {t.action!r}: by system, but no timer fires it")
    return timers


# ------------------------------------------------------------------ reminders (escalation ladder)


@dataclass(frozen=True)
class Reminders:
    """A step's escalation ladder (催办), in working days counted from the task's deadline:
    remind the holder ``before_days`` before it, again when it passes (``overdue``),
    escalate to ``escalate_to`` ``escalate_after_days`` after it, and finally fire the
    system ``action`` ``action_after_days`` after the escalation (or after the deadline)."""

    before_days: int | None = None
    overdue: bool = True
    escalate_after_days: int | None = None
    escalate_to: Assignee | None = None
    action_after_days: int | None = None
    action: str | None = None
    line: int = 0


_REMINDER_KEYS = {"before_days", "overdue", "escalate", "action"}


def _whole(check: _Checker, node: Any, key: str, where: str) -> int | None:
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        check.add(_line(node, key), f"{where}: {key} must be a whole number ≥ 1")
        return None
    return value


def _reminders(check: _Checker, node: Any, where: str, line: int,
               deadline: Any) -> Reminders | None:
    if node is None:
        return None
    where = f"{where} reminders"
    if not isinstance(node, dict):
        check.add(line, f"{where}: must be a mapping")
        return None
    check.keys(node, _REMINDER_KEYS, where)
    if deadline is None:
        check.add(_line(node), f"{where}: reminders count from deadline_days, which is missing")
    overdue = node.get("overdue", True)
    if not isinstance(overdue, bool):
        check.add(_line(node, "overdue"), f"{where}: overdue is true or false")
    escalate = node.get("escalate")
    escalate_days: int | None = None
    escalate_to: Assignee | None = None
    if escalate is not None:
        if not isinstance(escalate, dict):
            check.add(_line(node, "escalate"), f"{where}: escalate is {{after_days, to}}")
        else:
            check.keys(escalate, {"after_days", "to"}, f"{where} escalate")
            escalate_days = _whole(check, escalate, "after_days", f"{where} escalate")
            if escalate_days is None:
                check.add(_line(escalate), f"{where} escalate: after_days is required")
            found = _assignees(check, escalate.get("to"), _line(escalate), f"{where} escalate")
            if len(found) != 1:
                check.add(_line(escalate), f"{where} escalate: to names one role")
            escalate_to = found[0] if found else None
    action = node.get("action")
    action_days: int | None = None
    action_name: str | None = None
    if action is not None:
        if not isinstance(action, dict):
            check.add(_line(node, "action"), f"{where}: action is {{after_days, name}}")
        else:
            check.keys(action, {"after_days", "name"}, f"{where} action")
            action_days = _whole(check, action, "after_days", f"{where} action")
            action_name = action.get("name")
            if action_days is None or not isinstance(action_name, str):
                check.add(_line(action), f"{where} action: after_days and name are required")
                action_name = None
    return Reminders(
        before_days=_whole(check, node, "before_days", where),
        overdue=bool(overdue),
        escalate_after_days=escalate_days,
        escalate_to=escalate_to,
        action_after_days=action_days,
        action=action_name,
        line=_line(node),
    )


def _ladder_fires(states: Mapping[str, State], transition: Transition) -> bool:
    step = states[transition.source].step if transition.source in states else None
    return bool(step and step.reminders and step.reminders.action == transition.action)


def _check_reminder_actions(check: _Checker, states: Mapping[str, State],
                            transitions: list[Transition]) -> None:
    """A ladder's final action is a system transition leaving its own state."""
    for name, state in states.items():
        ladder = state.step.reminders if state.step else None
        if ladder is None or ladder.action is None:
            continue
        if ladder.action == REASSIGN:
            if state.step is None or state.step.mode not in ("any", "all", "quorum"):
                check.add(ladder.line, f"state {name!r} reminders: {REASSIGN} needs a step "
                          "whose tasks go to people (mode any, all or quorum)")
            continue
        matching = [t for t in transitions if t.source == name and t.action == ladder.action]
        if not matching:
            check.add(ladder.line, f"state {name!r} reminders: no transition "
                      f"{ladder.action!r} from {name!r}")
        elif any(t.by != "system" for t in matching):
            check.add(ladder.line, f"state {name!r} reminders: transition {ladder.action!r} "
                      "must be by: system")


# ------------------------------------------------------------------ graph


def _check_graph(check: _Checker, states: Mapping[str, State], transitions: list[Transition],
                 timers: list[Timer], initial: Any) -> None:
    outgoing: dict[str, set[str]] = {name: set() for name in states}
    for t in transitions:
        outgoing[t.source].add(t.dest)
    for name, state in states.items():
        if not state.final and not outgoing[name]:
            check.add(state.line, f"state {name!r} is not final and has no way out")
        if not state.final and state.step is None and not any(
            t.source == name and t.by in ("anyone", "owner", "system") for t in transitions
        ):
            check.add(state.line, f"state {name!r} has no step, so nobody can act in it")
    if initial not in states:
        return
    reached = {initial}
    queue = deque([initial])
    while queue:
        for nxt in outgoing[queue.popleft()]:
            if nxt not in reached:
                reached.add(nxt)
                queue.append(nxt)
    for name, state in states.items():
        if name not in reached:
            check.add(state.line, f"state {name!r} is unreachable from {initial!r}")


# ------------------------------------------------------------------ files


def default_folder() -> Path:
    """The definitions shipped with the package (the top-level ``definitions/`` folder)."""
    import definitions

    return Path(next(iter(definitions.__path__)))


def files_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("_"))


def load_folder(folder: Path) -> tuple[list[Definition], list[Problem]]:
    """Every definition in ``folder`` and every problem found, all at once."""
    found: list[Definition] = []
    problems: list[Problem] = []
    names: dict[str, str] = {}
    for path in files_in(folder):
        try:
            definition = parse(path.read_text(encoding="utf-8"), file=path.name)
        except DefinitionError as exc:
            problems.extend(exc.problems)
            continue
        if definition.name in names:
            problems.append(Problem(path.name, 1, f"name {definition.name!r} is already used by "
                                    f"{names[definition.name]}"))
            continue
        names[definition.name] = path.name
        found.append(definition)
    return found, problems


def iter_schemas(definition: Definition) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield "start", definition.start_schema
    for t in definition.transitions:
        yield f"{t.source}.{t.action}", t.schema


def check_validator(schema: Mapping[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(schema)
