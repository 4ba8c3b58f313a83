"""The fields an item can have, and the check that every field the file names (an assignee's
``scope_from``, a guard's ``field``) is one of them. A misspelt name reads nothing when the
lifecycle runs: the tasks go to holders of the role with no scope, the guard never holds.

An item's data is its start form, what actions merge into it (a transition's schema, an
approval's step form), what a scoring or voting step concludes, what effects write (declared
by the registry: ``Entry.sets`` and the parameters of ``Entry.names_written``) and the
scheduler's ``flags``. A schema that lets fields in without declaring them (no
``additionalProperties: false``, or ``patternProperties``) lets any name in, and nothing is
reported; nor is anything when a schema or an effect could not be read.

A problem of new files only: a stored version that names a missing field ran that way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .. import registry
from .checker import Checker
from .model import Call, State, Transition

SCHEDULER_FIELDS = frozenset({"flags"})
"""Written by the scheduler's ``flag`` on an instance in any state (a missed milestone)."""

SCORING_RESULTS = ("", "_spread", "_count", "_flagged")
VOTE_RESULTS = ("", "_tally", "_votes", "_members", "_quorate")
"""What a scoring or voting step writes, each after its ``into`` (see ``workflow.steps``)."""


def check_field_names(check: Checker, start_schema: Mapping[str, Any],
                      on_start: tuple[Call, ...], states: Mapping[str, State],
                      transitions: Iterable[Transition]) -> None:
    known = item_fields(start_schema, on_start, states, transitions)
    if known is None or check.fields_unknown:
        return
    for named in check.field_names:
        if named.name not in known:
            check.add_if_new(named.line, f"{named.where}: no field {named.name!r} in this "
                             "definition")


def item_fields(start_schema: Mapping[str, Any], on_start: tuple[Call, ...],
                states: Mapping[str, State], transitions: Iterable[Transition]
                ) -> frozenset[str] | None:
    """Every field an item of this definition can have, or None when any field can be."""
    transitions = list(transitions)
    schemas = [start_schema, *(t.schema for t in transitions if t.merge)]
    if any(schema.get("additionalProperties") is not False or schema.get("patternProperties")
           for schema in schemas):
        return None
    fields = set(SCHEDULER_FIELDS)
    for schema in schemas:
        fields.update(schema.get("properties") or {})
    for state in states.values():
        step = state.step
        if step is not None and step.scoring is not None:
            fields.update(step.scoring.into + suffix for suffix in SCORING_RESULTS)
        if step is not None and step.vote is not None:
            fields.update(step.vote.into + suffix for suffix in VOTE_RESULTS)
    for call in (*on_start, *(c for t in transitions for c in t.effects)):
        fields.update(_written(call))
    return frozenset(fields)


def _written(call: Call) -> Iterator[str]:
    entry = registry.EFFECTS.get(call.name)
    if entry is None:
        return
    yield from entry.sets
    for param in entry.names_written:
        value = call.params.get(param)
        if isinstance(value, Mapping | list):
            yield from (str(name) for name in value)
