"""Transitions: sources and destinations, outcome and actor, guards and effects, schemas;
``return_to`` and ``dest: returned_from`` become guarded transitions, approvals take their
step's form, an owner's plain resubmission becomes a revision of the start data.
Duplicated transitions are found here, while reading."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..schema import EMPTY_OBJECT
from . import shapes
from .checker import SNAKE_CASE, Checker
from .cross_checks import declared
from .model import BY, FLAG, HABITS, OUTCOMES, REASSIGN, RETURNED_FROM, Call, State, Transition
from .yaml_lines import item_line, line_of

_TRANSITION_KEYS = {
    "action", "source", "dest", "return_to", "outcome", "by", "requires_comment", "conditions",
    "unless", "effects", "schema", "merge", "label", "not_by_actors_of", "idempotency_key",
}


def parse_transitions(check: Checker, raw: Any, states: Mapping[str, State],
                      transitions_line: int) -> list[Transition]:
    if not isinstance(raw, list) or not raw:
        check.add(transitions_line, "transitions: at least one transition is needed")
        return []
    result: list[Transition] = []
    seen: dict[tuple[str, str, str, str], int] = {}
    shape: dict[tuple[str, str], tuple[str, str, int]] = {}
    segregations: list[tuple[dict[Any, Any], str]] = []
    for index, node in enumerate(raw):
        line = item_line(raw, index, transitions_line)
        if not isinstance(node, dict):
            check.add(line, "a transition is a mapping")
            continue
        action = node.get("action")
        where = f"transition {action!r}"
        check.keys(node, _TRANSITION_KEYS, where)
        if not isinstance(action, str) or not SNAKE_CASE.match(action):
            check.add(line, "a transition needs an action name in snake_case")
            continue
        if action in HABITS or action in ("start", FLAG, REASSIGN):
            check.add(line, f"{where}: {action!r} is a built-in action; choose another name")
        sources = node.get("source")
        sources = sources if isinstance(sources, list) else [sources]
        if not sources:
            check.add_if_new(line_of(node, "source"), f"{where}: source must name a state or "
                             "a list of states, got an empty list")
        outcome = node.get("outcome", "other")
        if outcome not in OUTCOMES:
            check.add(line_of(node, "outcome"), f"{where}: outcome must be one of {OUTCOMES}")
        by = node.get("by", "step")
        if by not in BY:
            check.add(line_of(node, "by"), f"{where}: by must be one of {BY}")
        requires_comment = shapes.flag(check, node, "requires_comment", where,
                                       default=outcome in ("reject", "return"))
        merge = shapes.flag(check, node, "merge", where, default=True)
        if outcome in ("reject", "return") and not requires_comment:
            check.add(line, f"{where}: a {outcome} always requires a comment")
        conditions = check.calls(node.get("conditions"), "guard", where,
                                 line_of(node, "conditions"))
        unless = check.calls(node.get("unless"), "guard", where, line_of(node, "unless"))
        effects = check.calls(node.get("effects"), "effect", where, line_of(node, "effects"))
        if "schema" in node and node["schema"] is None:
            check.add_if_new(line_of(node, "schema"), f"{where}: schema has no value; give a "
                             "JSON Schema, or leave schema out to take the step's form")
        schema = check.schema(node.get("schema"), line_of(node, "schema"), f"{where} schema") \
            if "schema" in node else None
        label = shapes.label(check, node, "label", where, action)
        not_by = _not_by_actors_of(check, node, where)
        segregations.append((node, where))
        key = node.get("idempotency_key")
        if key is not None and (schema is None or key not in schema.get("required", [])):
            check.add(line_of(node, "idempotency_key"),
                      f"{where}: idempotency_key {key!r} must be a required field of the schema")

        destinations: list[tuple[str, tuple[Call, ...]]] = []
        if "return_to" in node:
            if outcome != "return":
                check.add(line, f"{where}: return_to goes with outcome 'return'")
            targets = node["return_to"] if isinstance(node["return_to"], list) else \
                [node["return_to"]]
            if not targets:
                check.add_if_new(line_of(node, "return_to"), f"{where}: return_to must name a "
                                 "state or a list of states, got an empty list")
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
            if not declared(source, states):
                check.add(line_of(node, "source"),
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
                if dest != RETURNED_FROM and not declared(dest, states):
                    check.add(line_of(node, "return_to" if "return_to" in node else "dest"),
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
                        merge=merge,
                        label=label,
                        not_by_actors_of=not_by,
                        idempotency_key=key,
                        line=line,
                    )
                )
    actions = {t.action for t in result} | set(HABITS) | {"start", FLAG, REASSIGN}
    for node, where in segregations:
        _check_segregation(check, node, where, actions)
    result = _expand_returned_from(check, result, states)
    _check_forms(check, result, states)
    return result


def _not_by_actors_of(check: Checker, node: dict[Any, Any], where: str) -> tuple[str, ...]:
    """The actions whose actors may not take this one (segregation of duties). A text is one
    action, for stored versions too: read letter by letter, it matched no action, and the
    segregation it was written for never held."""
    raw = node.get("not_by_actors_of")
    shapes.a_list(check, node, "not_by_actors_of", where, "action names")
    if isinstance(raw, str):
        return (raw,)
    try:
        return tuple(str(name) for name in raw or ())
    except TypeError:
        check.add(line_of(node, "not_by_actors_of"),
                  f"{where}: not_by_actors_of is a list of action names")
        return ()


def _check_segregation(check: Checker, node: dict[Any, Any], where: str,
                       actions: set[str]) -> None:
    """Every action named in ``not_by_actors_of`` is one the instance can record."""
    raw = node.get("not_by_actors_of")
    for index, name in enumerate(raw if isinstance(raw, list) else []):
        if isinstance(name, str) and name not in actions:
            check.add_if_new(item_line(raw, index, line_of(node, "not_by_actors_of")),
                             f"{where}: not_by_actors_of: no action {name!r} in this definition")
    shapes.distinct_names(check, node, "not_by_actors_of", where)


def with_revisions(transitions: list[Transition], start_schema: Mapping[str, Any],
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
    check: Checker, transitions: list[Transition], states: Mapping[str, State]
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


def _check_forms(check: Checker, transitions: list[Transition], states: Mapping[str, State]
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
