"""退回 returns: where a return may go, which one the actor chose, and who returned it.

A definition may offer several return targets for one action (``chosen_target`` guards);
the actor names one in the ``to_state`` field. The step that returned an item to its
revision state is remembered, so that resubmission goes back to it (``came_from``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .definition import Definition, Transition
from .errors import ValidationFailed

TARGET_FIELD = "to_state"
"""The data field that names the step a return goes back to."""


def action_schema(candidates: Sequence[Transition]) -> dict[str, Any]:
    """The schema of an action's data, with ``to_state`` when the actor picks a return target."""
    schema = dict(candidates[0].schema)
    choices = targets(candidates)
    if choices:
        properties = dict(schema.get("properties", {}))
        properties[TARGET_FIELD] = {"enum": choices}
        schema["properties"] = properties
        if len(choices) > 1:
            schema["required"] = [*schema.get("required", []), TARGET_FIELD]
    return schema


def targets(candidates: Sequence[Transition]) -> list[str]:
    return [c.params["state"] for t in candidates for c in t.conditions
            if c.name == "chosen_target"]


def chosen_target(candidates: Sequence[Transition], data: dict[str, Any]) -> str | None:
    """The target the actor chose (taken out of ``data``); the only one when there is one."""
    choices = targets(candidates)
    if not choices:
        return None
    chosen = data.pop(TARGET_FIELD, None)
    if chosen is None and len(choices) == 1:
        return choices[0]
    if chosen not in choices:
        raise ValidationFailed("invalid_target",
                               fields={TARGET_FIELD: f"must be one of {', '.join(choices)}"})
    return str(chosen)


def returned_from(definition: Definition, fired: Transition, current: str | None) -> str | None:
    """Remember which step returned the item to its revision state; forget on resubmission."""
    if fired.outcome == "return" and fired.dest in definition.revision_states():
        return fired.source
    if any(c.name == "came_from" for c in fired.conditions):
        return None
    return current
