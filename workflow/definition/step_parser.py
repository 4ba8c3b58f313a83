"""A state's step: who acts (approval mode, assignees, quorum, experts), what they fill in
(form, scoring criteria, vote options and thresholds), which habits they may use, who gets
a copy, and the reminder and escalation ladder counted from the step's deadline."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from ..actors import ROLES, SCOPED_ROLES
from . import shapes
from .checker import SNAKE_CASE, Checker
from .model import (
    DEFAULT_HABITS,
    HABITS,
    MODES,
    Assignee,
    Criterion,
    Reminders,
    Scoring,
    Step,
    Vote,
)
from .yaml_lines import line_of, shown


def _assignees(check: Checker, raw: Any, line: int, where: str) -> list[Assignee]:
    found: list[Assignee] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict) or "role" not in item:
            check.add(line_of(item) or line, f"{where}: an assignee needs a role")
            continue
        check.keys(item, {"role", "scope_from", "scope"}, where)
        if item["role"] not in ROLES:
            check.add(line_of(item, "role"), f"{where}: unknown role {item['role']!r}")
        shapes.text(check, item, "scope_from", where, "the name of a data field")
        check.names_field(item, "scope_from", where)
        shapes.text(check, item, "scope", where, "a text (a department or field code)")
        if "scope_from" in item and "scope" in item:
            check.add_if_new(line_of(item, "scope"), f"{where}: give scope_from or scope, "
                             "not both (scope_from wins)")
        _scope_of_role(check, item, where)
        found.append(Assignee(item["role"], item.get("scope_from"), str(item.get("scope", ""))))
    return found


def _scope_of_role(check: Checker, item: dict[Any, Any], where: str) -> None:
    """A role the organisation grants within a department or a field is held by nobody
    without a scope, and any other role by nobody within one."""
    role = item["role"]
    if not isinstance(role, str):
        return
    given = [key for key in ("scope_from", "scope")
             if isinstance(item.get(key), str) and item[key].strip()]
    if role in SCOPED_ROLES and "scope_from" not in item and "scope" not in item:
        check.add_if_new(line_of(item, "role"), f"{where}: role {role!r} is granted within a "
                         f"{SCOPED_ROLES[role]}; give scope_from or scope")
    elif role in ROLES and role not in SCOPED_ROLES and given:
        check.add_if_new(line_of(item, given[0]), f"{where}: role {role!r} is granted without "
                         f"a scope; leave out {given[0]} {item[given[0]]!r}")


def _fraction(text: Any) -> bool:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return False
    return 0 < value <= 1


def _scoring(check: Checker, node: Any, where: str, line: int) -> Scoring | None:
    if node is None:
        return None
    where = f"{where} scoring"
    if not isinstance(node, dict):
        check.add(line, f"{where}: must be a mapping")
        return None
    check.keys(node, {"criteria", "aggregate", "into", "spread_limit"}, where)
    criteria: list[Criterion] = []
    raw = node.get("criteria") or []
    if not isinstance(raw, list):
        check.add(line_of(node, "criteria"), f"{where}: criteria is a list")
        raw = []
    for item in raw:
        if not isinstance(item, dict) or not SNAKE_CASE.match(str(item.get("name", ""))):
            check.add(line_of(item) or line_of(node),
                      f"{where}: a criterion needs a snake_case name")
            continue
        check.keys(item, {"name", "weight", "min", "max"}, where)
        if any(c.name == item["name"] for c in criteria):
            check.add_if_new(line_of(item, "name"),
                             f"{where}: criterion {item['name']!r} is declared twice")
        low, high = item.get("min", 0), item.get("max", 100)
        if not (isinstance(low, int) and isinstance(high, int) and low < high):
            check.add(line_of(item), f"{where}: criterion {item['name']!r}: min < max, integers")
            low, high = 0, 100  # reported
        for key in ("min", "max"):
            if isinstance(item.get(key), bool):
                check.add_if_new(line_of(item, key), f"{where}: criterion {item['name']!r}: "
                                 f"{key} must be a whole number, got {shown(item[key])}")
        try:
            weight = Decimal(str(item.get("weight", "1")))
        except ArithmeticError:
            weight = Decimal(0)
        if weight.is_nan() or weight <= 0:
            check.add(line_of(item), f"{where}: criterion {item['name']!r}: weight must be > 0")
        criteria.append(Criterion(item["name"], str(weight), int(low), int(high)))
    if not criteria:
        check.add(line_of(node), f"{where}: at least one criterion")
    aggregate = node.get("aggregate", "mean")
    if aggregate not in ("mean", "trimmed_mean"):
        check.add(line_of(node, "aggregate"), f"{where}: aggregate is mean or trimmed_mean")
    into = node.get("into", "expert_score")
    shapes.text(check, node, "into", where, "the name of the data field the score goes into")
    spread = node.get("spread_limit")
    if spread is not None and not isinstance(spread, int | float):
        check.add(line_of(node, "spread_limit"), f"{where}: spread_limit is a number")
    elif isinstance(spread, bool) or (spread is not None and not 0 <= spread < math.inf):
        check.add_if_new(line_of(node, "spread_limit"), f"{where}: spread_limit must be a number "
                         f"of points ≥ 0, got {shown(spread)}")
    return Scoring(tuple(criteria), aggregate, str(into), spread)


def _vote(check: Checker, node: Any, where: str, line: int) -> Vote | None:
    if node is None:
        return None
    where = f"{where} vote"
    if not isinstance(node, dict):
        check.add(line, f"{where}: must be a mapping")
        return None
    check.keys(node, {"options", "thresholds", "quorum", "into"}, where)
    shapes.a_list(check, node, "options", where, "names, highest first")
    shapes.distinct_names(check, node, "options", where)
    shapes.text(check, node, "into", where, "the name of the data field the result goes into")
    try:
        options = [str(o) for o in node.get("options") or []]
    except TypeError:
        options = []
    if len(options) < 2:
        check.add(line_of(node), f"{where}: at least two options, highest first, last = none")
    raw = node.get("thresholds") or {}
    if not isinstance(raw, dict):
        check.add(line_of(node, "thresholds"), f"{where}: thresholds map options to fractions")
        raw = {}
    thresholds = {str(k): str(v) for k, v in raw.items()}
    for option in options[:-1]:
        if option not in thresholds:
            check.add(line_of(node, "thresholds"), f"{where}: no threshold for {option!r}")
    for option, value in thresholds.items():
        if option not in options[:-1]:
            check.add(line_of(node, "thresholds"), f"{where}: threshold for unknown {option!r}")
        elif not _fraction(value):
            check.add(line_of(node, "thresholds"), f"{where}: {option}: a fraction like 2/3")
    quorum = str(node.get("quorum", "1/2"))
    if not _fraction(quorum):
        check.add(line_of(node, "quorum"), f"{where}: quorum is a fraction like 2/3")
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
    if vote is not None and vote.options:
        return {
            "type": "object",
            "additionalProperties": False,
            "required": ["choice"],
            "properties": {"choice": {"enum": list(vote.options)}},
            "examples": [{"choice": vote.options[len(vote.options) // 2]}],
        }
    return None


_REMINDER_KEYS = {"before_days", "overdue", "escalate", "action"}


def _whole(check: Checker, node: Any, key: str, where: str) -> int | None:
    value = node.get(key)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 1):
        check.add(line_of(node, key), f"{where}: {key} must be a whole number of working days "
                  f"≥ 1, got {shown(value)}")
        return None
    return value


def _reminders(check: Checker, node: Any, where: str, line: int,
               deadline: Any) -> Reminders | None:
    if node is None:
        return None
    where = f"{where} reminders"
    if not isinstance(node, dict):
        check.add(line, f"{where}: must be a mapping")
        return None
    check.keys(node, _REMINDER_KEYS, where)
    if deadline is None:
        check.add(line_of(node), f"{where}: reminders count from deadline_days, which is missing")
    overdue = node.get("overdue", True)
    if not isinstance(overdue, bool):
        check.add(line_of(node, "overdue"), f"{where}: overdue is true or false")
    escalate = node.get("escalate")
    escalate_days: int | None = None
    escalate_to: Assignee | None = None
    if escalate is not None:
        if not isinstance(escalate, dict):
            check.add(line_of(node, "escalate"), f"{where}: escalate is {{after_days, to}}")
        else:
            check.keys(escalate, {"after_days", "to"}, f"{where} escalate")
            escalate_days = _whole(check, escalate, "after_days", f"{where} escalate")
            if escalate_days is None:
                check.add(line_of(escalate), f"{where} escalate: after_days is required")
            found = _assignees(check, escalate.get("to"), line_of(escalate), f"{where} escalate")
            if len(found) != 1:
                check.add(line_of(escalate), f"{where} escalate: to names one role")
            escalate_to = found[0] if found else None
    action = node.get("action")
    action_days: int | None = None
    action_name: str | None = None
    if action is not None:
        if not isinstance(action, dict):
            check.add(line_of(node, "action"), f"{where}: action is {{after_days, name}}")
        else:
            check.keys(action, {"after_days", "name"}, f"{where} action")
            action_days = _whole(check, action, "after_days", f"{where} action")
            action_name = action.get("name")
            if action_days is None or not isinstance(action_name, str):
                check.add(line_of(action), f"{where} action: after_days and name are required")
                action_name = None
    before_days = _whole(check, node, "before_days", where)
    if before_days is not None and isinstance(deadline, int) and not isinstance(deadline, bool) \
            and before_days >= deadline:
        check.add_if_new(line_of(node, "before_days"), f"{where}: before_days {before_days} is "
                         f"not less than deadline_days {deadline}: the reminder would fall on "
                         "the day the task opens or before it")
    return Reminders(
        before_days=before_days,
        overdue=bool(overdue),
        escalate_after_days=escalate_days,
        escalate_to=escalate_to,
        action_after_days=action_days,
        action=action_name,
        line=line_of(node),
    )


_STEP_KEYS = {"reminders", "mode", "assignees", "deadline_days", "form", "label", "allow", "quorum",
              "experts", "recuse_department", "scoring", "vote", "copy_to"}


def parse_step(check: Checker, name: str, node: Any, step_line: int) -> Step | None:
    """The step of state ``name``, written on ``step_line``."""
    if node is None:
        return None
    where = f"state {name!r} step"
    if not isinstance(node, dict):
        check.add(step_line, f"{where}: must be a mapping")
        return None
    check.keys(node, _STEP_KEYS, where)
    line = line_of(node)
    raw = node.get("assignees")
    mode = node.get("mode", "owner" if raw == "owner" else "single")
    if mode not in MODES:
        check.add(line_of(node, "mode"), f"{where}: unknown mode {mode!r} (one of {MODES})")
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
    shapes.whole_number(check, node, "deadline_days", where, " of working days")
    quorum = node.get("quorum")
    if mode == "quorum" and quorum is None:
        check.add(line_of(node, "mode"), f"{where}: mode quorum needs quorum: M (M of N)")
    elif mode == "quorum":
        shapes.whole_number(check, node, "quorum", where, " of approvals")
    elif quorum is not None:
        check.add(line_of(node, "quorum"), f"{where}: quorum goes with mode quorum")
    experts = node.get("experts")
    if experts is not None and mode not in ("any", "all", "quorum"):
        check.add(line_of(node, "experts"),
                  f"{where}: experts: N (how many to assign) needs mode any, all or quorum")
    shapes.whole_number(check, node, "experts", where)
    if mode == "quorum" and isinstance(quorum, int) and isinstance(experts, int) and \
            quorum > experts:
        check.add(line_of(node, "quorum"),
                  f"{where}: quorum {quorum} is more than experts {experts}")
    allow = node.get("allow")
    shapes.a_list(check, node, "allow", where, f"habits ({', '.join(HABITS)})")
    if isinstance(allow, str):  # one habit; read letter by letter before, which nothing passed
        allow = [allow] if allow else []
    try:
        habits = DEFAULT_HABITS if allow is None else frozenset(allow) | {"urge"}
    except TypeError:
        check.add(line_of(node, "allow"), f"{where}: allow is a list of habits (one of {HABITS})")
        habits = DEFAULT_HABITS
    for habit in habits - set(HABITS):
        check.add(line_of(node, "allow"), f"{where}: unknown habit {habit!r} (one of {HABITS})")
    if "add_signer" in habits:
        habits = habits | {"remove_signer"}
    scoring = _scoring(check, node.get("scoring"), where, line_of(node, "scoring"))
    vote = _vote(check, node.get("vote"), where, line_of(node, "vote"))
    if scoring or vote:
        habits = habits - {"add_signer", "remove_signer"}
    if (scoring or vote) and mode not in ("all", "quorum"):
        check.add(line, f"{where}: scoring and voting steps use mode all or quorum")
    if scoring and vote:
        check.add(line, f"{where}: a step scores or votes, not both")
    generated = _generated_form(scoring, vote)
    if generated is not None and "form" in node:
        check.add(line_of(node, "form"), f"{where}: scoring and voting steps generate their form")
    form: dict[str, Any] | None
    if "form" in node:
        form = check.schema(node.get("form"), line_of(node, "form"), f"{where} form")
    else:
        form = generated
    if "label" in node:
        check.add_if_new(line_of(node, "label"), f"{where}: label is not read here; the state's "
                         "label names its step")
    if node.get("copy_to") is not None and not node["copy_to"] and \
            not isinstance(node["copy_to"], list | dict):
        check.add_if_new(line_of(node, "copy_to"), f"{where}: copy_to must be a list of "
                         f"{{role, scope_from, scope}}, got {shown(node['copy_to'])}")
    copy_to = _assignees(check, node["copy_to"], line_of(node, "copy_to"), f"{where} copy_to") \
        if node.get("copy_to") else []
    return Step(
        mode=mode,
        assignees=tuple(assignees),
        deadline_days=deadline,
        form=MappingProxyType(form) if form else None,
        allow=frozenset(habits),
        quorum=quorum if isinstance(quorum, int) else None,
        experts=experts if isinstance(experts, int) else None,
        recuse_department=shapes.flag(check, node, "recuse_department", where,
                                      default=scoring is not None),
        scoring=scoring,
        vote=vote,
        copy_to=tuple(copy_to),
        reminders=_reminders(check, node.get("reminders"), where, line, deadline),
    )
