"""Replay: an instance's audit events run again through its definition.

Guards are evaluated again on the data as it was and scores and votes are counted again;
the state and data the events lead to must be the ones stored. Used by tests after the
concurrency and fault runs (``Engine.replay``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import returns, steps
from .actors import Actor
from .catalog import Entry
from .context import ActionContext
from .definition import FLAG, HABITS, REASSIGN, Step
from .errors import InvalidAction


def replay(entry: Entry, instance_id: int, events: Sequence[Mapping[str, Any]]
           ) -> tuple[str, dict[str, Any]]:
    """The state and data ``events`` (oldest first) lead to; raises InvalidAction where an
    event does not follow from the ones before."""
    definition = entry.definition
    state, data = "", {}
    returned_from: str | None = None
    approved = False
    sheets: list[Mapping[str, Any]] = []
    for event in events:
        if event["seq"] == 1:
            state, data = event["to_state"], {**event["data"], **event["changes"]}
            continue
        if event["from_state"] != state:
            raise InvalidAction("replay_mismatch", seq=event["seq"], expected=state,
                                found=event["from_state"])
        action = event["action"]
        if action in HABITS or action == REASSIGN:
            continue
        if action == FLAG:
            data.update(event["changes"])
            continue
        spec = definition.transitions_for(state, action)
        if not spec:
            raise InvalidAction("replay_undeclared", seq=event["seq"], action=action)
        if event["outcome"] == "approve":
            sheets.append(event["data"])
        if event["fired"]:
            ctx = ActionContext(
                workflow=definition.name, instance_id=instance_id, state=state, action=action,
                actor=Actor.system(), now=event["at"],
                data={**data, **event["data"]} if spec[0].merge else dict(data),
                action_data=event["data"], returned_from=returned_from,
                first_approved=approved, target=event["target"], task_data=sheets,
            )
            step = definition.states[state].step
            if step is not None and event["outcome"] == "approve":
                result = _counted_again(step, sheets, event["changes"])
                if any(event["changes"].get(k) != v for k, v in result.items()):
                    raise InvalidAction("replay_mismatch", seq=event["seq"],
                                        expected=result, found=event["changes"])
                ctx.data.update(result)
            fired = entry.machine.fire(state, action, ctx)
            if fired.dest != event["to_state"]:
                raise InvalidAction("replay_mismatch", seq=event["seq"], expected=fired.dest,
                                    found=event["to_state"])
            returned_from = returns.returned_from(definition, fired, returned_from)
            sheets = []
        elif event["to_state"] != state:
            raise InvalidAction("replay_mismatch", seq=event["seq"], expected=state,
                                found=event["to_state"])
        approved = approved or event["outcome"] == "approve"
        data.update(event["changes"])
        state = event["to_state"]
    return state, data



def _counted_again(step: Step, sheets: Sequence[Mapping[str, Any]],
                     recorded: Mapping[str, Any]) -> dict[str, Any]:
    if step.scoring is not None:
        return steps.aggregate_scores(step.scoring, sheets)
    if step.vote is not None:
        members = int(recorded.get(f"{step.vote.into}_members", 0))
        return steps.tally_votes(step.vote, [str(s.get("choice")) for s in sheets], members)
    return {}
