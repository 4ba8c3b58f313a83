"""HTML forms generated from JSON Schema, and form posts parsed back into JSON data.

Input names are the dotted paths the engine uses in its field errors (``team.0.share``),
so an error lands next to its input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from workflow.errors import WorkflowError

from .i18n import label

ROWS_BLANK = 2
"""Blank rows offered for a list of objects (more are added by script, or after a save)."""

FIELD_LABELS: dict[str, Any] = {
    "title": _l("Title"), "category": _l("Category"), "department": _l("Department"),
    "field": _l("Field"), "description": _l("Description"),
    "expected_benefit": _l("Expected benefit"), "team": _l("Team members"),
    "username": _l("User"), "share": _l("Share (%)"), "type": _l("Type"),
    "lead": _l("Project lead"), "summary": _l("Summary"), "budget_lines": _l("Budget"),
    "item": _l("Item"), "amount": _l("Amount"), "budget_total": _l("Budget total"),
    "milestones": _l("Milestones"), "name": _l("Name"), "due_date": _l("Due date"),
    "expected_outputs": _l("Expected outputs"), "patents": _l("Patents"),
    "standards": _l("Standards"), "papers": _l("Papers"), "partners": _l("Partners"),
    "project_id": _l("Project number"), "spending": _l("Spending"), "outputs": _l("Outputs"),
    "kind": _l("Award kind"), "source_id": _l("Source item number"),
    "economic_benefit": _l("Economic benefit"), "innovation": _l("Innovation"),
    "feasibility": _l("Feasibility"), "benefit": _l("Benefit"), "grade": _l("Grade"),
    "completed_on": _l("Completed on"), "verified_benefit": _l("Verified benefit"),
    "reward_decided": _l("Reward decided"), "payment_reference": _l("Payment reference"),
    "to_state": _l("Return to"), "score": _l("Score"), "reason": _l("Reason"),
    "rectification": _l("Rectification required"), "deadline": _l("Deadline"),
    "source_workflow": _l("Source lifecycle"), "year": _l("Year"), "lines": _l("Payees"),
    "remainder_to": _l("Rounding remainder to"), "reward": _l("Reward calculation"),
    "rule": _l("Rule"), "inputs": _l("Inputs"), "components": _l("Components"),
    "base": _l("Base"), "multiplier": _l("Multiplier"), "decided": _l("Decided"),
    "grade_table": _l("By grade table"), "benefit_percent": _l("By benefit share"),
    "budget_check": _l("Budget check"), "within": _l("Within budget"), "budgets": _l("Budgets"),
    "expert_score": _l("Expert score"), "expert_score_spread": _l("Score spread"),
    "expert_score_count": _l("Number of scores"), "expert_score_flagged": _l("Scores disagree"),
    "recommendation": _l("Recommendation"), "reward_amount": _l("Reward amount"),
    "proposer": _l("Proposer"), "votes": _l("Votes"),
    "to": _l("To"), "position": _l("Position"), "choice": _l("Vote"),
    "remark": _l("Remark"), "verdict": _l("Verdict"), "proposed_grade": _l("Proposed grade"),
    "rectification_items": _l("Rectification items"), "flags": _l("Flags"),
    "evaluation_score": _l("Evaluation score"), "evaluation_score_spread": _l("Score spread"),
    "evaluation_score_count": _l("Number of scores"),
    "evaluation_score_flagged": _l("Scores disagree"), "value": _l("Value created"),
    "serving_business": _l("Serving the business"), "grade_tally": _l("Vote tally"),
    "grade_votes": _l("Votes cast"), "grade_members": _l("Committee members"),
    "grade_quorate": _l("Quorum reached"),
}

VALUE_LABELS: dict[str, Any] = {
    "rationalization": _l("Rationalization suggestion"), "small_invention": _l("Small invention"),
    "small_creation": _l("Small creation"), "small_renovation": _l("Small renovation"),
    "small_design": _l("Small design"), "small_suggestion": _l("Small suggestion"),
    "research": _l("Research"), "pilot": _l("Pilot"), "promotion": _l("Promotion"),
    "sci_tech_progress": _l("Science and technology progress"),
    "technical_innovation": _l("Technical innovation"),
    "first": _l("First grade"), "second": _l("Second grade"), "third": _l("Third grade"),
    "encouragement": _l("Encouragement"), "special": _l("Special grade"),
    "none": _l("Not awarded"), "before": _l("Before me"), "after": _l("After me"),
    "parallel": _l("Alongside me"), "recommend_first": _l("Recommended, first grade"),
    "recommend": _l("Recommended"), "not_recommended": _l("Not recommended"),
    "pass": _l("Pass"), "fail": _l("Fail"), "rectification_overdue": _l("Rectification overdue"),
    "True": _l("Yes"), "False": _l("No"),
}


ROLE_LABELS: dict[str, Any] = {
    "owner": _l("Submitter"), "dept_head": _l("Department head"), "expert": _l("Expert"),
    "subcommittee_chair": _l("Subcommittee chair"), "committee_member": _l("Committee member"),
    "committee_office": _l("Committee office"), "sta_admin": _l("S&T administrator"),
    "finance": _l("Finance"), "general_manager": _l("General manager"),
    "auditor": _l("Auditor"),
}


def role_label(role: str, scope: str = "") -> str:
    text = str(ROLE_LABELS.get(role, role))
    return f"{text} · {scope}" if scope else text


def field_label(key: str, schema: Mapping[str, Any] | None = None) -> str:
    if key in FIELD_LABELS:
        return str(FIELD_LABELS[key])
    if schema and isinstance(schema.get("title"), str):
        return str(schema["title"])
    return key.replace("_", " ").capitalize()


def field_schema(schema: Mapping[str, Any], root: Mapping[str, Any], key: str
                 ) -> Mapping[str, Any]:
    """The schema of ``key`` within an object of ``schema``: its own, the object's schema
    for every value, or else the item's field of the same name (``root``: a reward's
    inputs are the item's fields)."""
    own = (schema.get("properties") or {}).get(key)
    if isinstance(own, Mapping):
        return own
    each = schema.get("additionalProperties")
    if isinstance(each, Mapping):
        return each
    found = (root.get("properties") or {}).get(key)
    return found if isinstance(found, Mapping) else {}


def known_value(value: Any) -> bool:
    """Whether ``value`` is one of the coded values with a label of their own (what a
    step's effect sets, such as a recommendation, has no schema enum to say so)."""
    return isinstance(value, str) and value in VALUE_LABELS


def value_label(value: Any, states: Mapping[str, Any] | None = None) -> str:
    text = str(value)
    if states and text in states:
        return label(states[text].label, text)
    return str(VALUE_LABELS.get(text, text.replace("_", " ")))


@dataclass
class Widget:
    kind: str
    name: str
    label: str
    required: bool = False
    value: Any = None
    error: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    options: list[tuple[str, str]] = field(default_factory=list)
    children: list[Widget] = field(default_factory=list)
    rows: list[list[Widget]] = field(default_factory=list)
    template: list[Widget] = field(default_factory=list)


@dataclass
class Choices:
    """Lists the form offers for org formats: departments, fields, users; return targets."""

    departments: list[tuple[str, str]] = field(default_factory=list)
    fields: list[tuple[str, str]] = field(default_factory=list)
    users: list[tuple[str, str]] = field(default_factory=list)
    states: Mapping[str, Any] = field(default_factory=dict)
    items: Mapping[str, list[tuple[str, str]]] = field(default_factory=dict)
    """Per field that names another item (an acceptance's project): the items one may name."""

    def name(self, kind: str, code: Any) -> str:
        """The display name of a department, field or user code."""
        table = {"department": self.departments, "field": self.fields,
                 "username": self.users}.get(kind, [])
        return next((text for value, text in table if value == code), str(code or ""))


def row_label(n: int) -> str:
    """The n-th row (from 0) of a table of a form, counted from 1 as people count."""
    return _("row %(n)s", n=n + 1)


def labels_of(ws: list[Widget], within: str = "") -> dict[str, str]:
    """Every input's label by its name (``team.0.share``), with its table and row."""
    found: dict[str, str] = {}
    for w in ws:
        label = f"{within} · {w.label}" if within else w.label
        found[w.name] = label
        found.update(labels_of(w.children, label))
        for n, row in enumerate(w.rows):
            found.update(labels_of(row, f"{label} · {row_label(n)}"))
    return found


def widgets(schema: Mapping[str, Any], values: Mapping[str, Any] | None,
            errors: Mapping[str, str] | None, choices: Choices, prefix: str = "") -> list[Widget]:
    values = values or {}
    errors = errors or {}
    required = set(schema.get("required", []))
    out = []
    for key, sub in (schema.get("properties") or {}).items():
        name = f"{prefix}{key}"
        out.append(_widget(key, name, sub, values.get(key), key in required, errors, choices))
    return out


def _widget(key: str, name: str, schema: Mapping[str, Any], value: Any, required: bool,
            errors: Mapping[str, str], choices: Choices) -> Widget:
    w = Widget("text", name, field_label(key, schema), required, value, errors.get(name))
    kind = schema.get("type")
    fmt = schema.get("format")
    if name == key and key in choices.items:  # a top-level field naming an item
        w.kind = "select"
        w.options = choices.items[key]
    elif "enum" in schema:
        w.kind = "select"
        w.options = [(str(v), value_label(v, choices.states)) for v in schema["enum"]
                     if v is not None]
    elif kind == "object":
        w.kind = "group"
        w.children = widgets(schema, value if isinstance(value, Mapping) else {}, errors,
                             choices, prefix=f"{name}.")
    elif kind == "array" and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        if items.get("type") == "object":
            w.kind = "table"
            existing = value if isinstance(value, list) else []
            count = max(len(existing) + ROWS_BLANK, schema.get("minItems", 0))
            count = min(count, schema.get("maxItems", 50))
            for n in range(count):
                row = existing[n] if n < len(existing) and isinstance(existing[n], Mapping) \
                    else {}
                w.rows.append(widgets(items, row, errors, choices, prefix=f"{name}.{n}."))
            w.template = widgets(items, {}, {}, choices, prefix=f"{name}.__n__.")
        else:
            w.kind = "lines"
            w.value = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
    elif fmt == "money":
        w.kind = "money"
        w.attrs = {"inputmode": "decimal", "pattern": r"-?[0-9,]+(\.[0-9]{1,2})?"}
    elif fmt == "date":
        w.kind = "date"
    elif fmt == "department":
        w.kind = "select"
        w.options = choices.departments
    elif fmt == "field":
        w.kind = "select"
        w.options = choices.fields
    elif fmt == "username":
        w.kind = "username"
        w.attrs = {"list": "usernames", "maxlength": 60}
    elif kind in ("integer", "number"):
        w.kind = "number"
        w.attrs = {k: schema[k] for k in ("minimum", "maximum") if k in schema}
        w.attrs = {("min" if k == "minimum" else "max"): v for k, v in w.attrs.items()}
        w.attrs["step"] = "1" if kind == "integer" else "any"
    elif kind == "boolean":
        w.kind = "checkbox"
    elif kind == "string" or kind is None:
        long_text = (schema.get("maxLength") or 0) > 300
        w.kind = "textarea" if long_text else "text"
        if "maxLength" in schema:
            w.attrs["maxlength"] = schema["maxLength"]
        if "minLength" in schema:
            w.attrs["minlength"] = schema["minLength"]
    return w


_INT = re.compile(r"^-?\d{1,15}$")
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,10})?$")


def parse(schema: Mapping[str, Any], form: Mapping[str, str], prefix: str = "") -> dict[str, Any]:
    """The JSON data a form post means; empty optional inputs are left out."""
    data: dict[str, Any] = {}
    for key, sub in (schema.get("properties") or {}).items():
        value = _parse_value(sub, form, f"{prefix}{key}")
        if value is not None:
            data[key] = value
    return data


def _parse_value(schema: Mapping[str, Any], form: Mapping[str, str], name: str) -> Any:
    kind = schema.get("type")
    if kind == "object" and "enum" not in schema:
        nested = parse(schema, form, f"{name}.")
        return nested or None
    if kind == "array" and isinstance(schema.get("items"), Mapping):
        items = schema["items"]
        if items.get("type") == "object":
            indexes = sorted({int(k[len(name) + 1:].split(".", 1)[0]) for k in form
                              if k.startswith(f"{name}.")
                              and k[len(name) + 1:].split(".", 1)[0].isdigit()})
            rows = [parse(items, form, f"{name}.{n}.") for n in indexes]
            rows = [r for r in rows if r]
            return rows or None
        lines = [line.strip() for line in form.get(name, "").splitlines() if line.strip()]
        return lines or None
    if kind == "boolean":
        return form.get(name) in ("on", "true", "1") if name in form else None
    raw = (form.get(name) or "").strip()
    if raw == "":
        return None
    if "enum" in schema:
        for option in schema["enum"]:
            if str(option) == raw:
                return option
        return raw
    if schema.get("format") == "money":
        return raw.replace(",", "").replace("¥", "").strip()
    if kind == "integer":
        return int(raw) if _INT.match(raw) else raw
    if kind == "number":
        return float(raw) if _NUMBER.match(raw) else raw
    return raw


def action_label(definition: Any, action: str) -> str:
    if action == "start":
        return _("Created")
    for t in definition.transitions:
        if t.action == action:
            return label(t.label, action)
    return action.replace("_", " ")


def _definition(workflow: str) -> Any:
    engine = current_app.extensions["innoflow"]
    try:
        return engine.catalog.newest(workflow).definition
    except WorkflowError:
        return None


def workflow_title(workflow: str) -> str:
    definition = _definition(workflow)
    return label(definition.title, workflow) if definition else workflow


def state_label(workflow: str, state: str) -> str:
    definition = _definition(workflow)
    if definition is None or state not in definition.states:
        return state
    return label(definition.states[state].label, state)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(field_label=field_label, value_label=value_label,
                                 known_value=known_value, field_schema=field_schema,
                                 action_label=action_label, role_label=role_label,
                                 workflow_title=workflow_title, state_label=state_label)
