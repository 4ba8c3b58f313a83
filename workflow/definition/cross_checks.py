"""Checks that need the whole definition: every timer and every ladder's final action fires
a system transition of its own state (and every system transition is fired by one), every
state that is not final has a way out, and every state is reachable from the initial one."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from typing import Any

from .checker import Checker
from .model import REASSIGN, State, Timer, Transition
from .shapes import whole_number
from .yaml_lines import item_line, shown


def declared(name: Any, states: Mapping[str, State]) -> bool:
    """Whether ``name`` is a declared state (a list or a mapping never is)."""
    return isinstance(name, str) and name in states


def parse_timers(check: Checker, raw: Any, states: Mapping[str, State],
                 transitions: list[Transition], timers_line: int) -> list[Timer]:
    timers: list[Timer] = []
    if raw is not None and not isinstance(raw, list):
        reason = f"timers: a list of {{state, after_working_days, action}}, got {shown(raw)}"
        if raw:
            check.add(timers_line, reason)
        else:  # read as no timers before
            check.add_if_new(timers_line, reason)
        raw = None
    for index, node in enumerate(raw or []):
        line = item_line(raw, index, timers_line)
        if not isinstance(node, dict):
            check.add(line, "a timer is a mapping")
            continue
        check.keys(node, {"state", "after_working_days", "action"}, "timer")
        state, days, action = node.get("state"), node.get("after_working_days"), node.get("action")
        if not declared(state, states):
            check.add(line, f"timer: state {state!r} is not declared")
            continue
        whole_number(check, node, "after_working_days", "timer", " of working days",
                     required=True)
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


def _ladder_fires(states: Mapping[str, State], transition: Transition) -> bool:
    step = states[transition.source].step if transition.source in states else None
    return bool(step and step.reminders and step.reminders.action == transition.action)


def check_reminder_actions(check: Checker, states: Mapping[str, State],
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


def check_graph(check: Checker, states: Mapping[str, State], transitions: list[Transition],
                initial: Any) -> None:
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
    if not declared(initial, states):
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
