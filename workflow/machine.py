"""One ``transitions`` machine per definition version, shared by every instance on it.

Instances are not registered with the machine (that would make it scan every model it
ever saw); a short-lived token carries the state through one trigger. Callbacks only
record which declared transition fired; the engine does the writing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transitions import Machine

from . import registry
from .context import ActionContext
from .definition import Call, Definition, Transition
from .errors import InvalidAction


class _Token:
    __slots__ = ("fired", "state")

    def __init__(self, state: str) -> None:
        self.state = state
        self.fired: Transition | None = None


def _guard(call: Call) -> Callable[[Any], bool]:
    func = registry.GUARDS[call.name].func
    params = dict(call.params)

    def check(event: Any) -> bool:
        return bool(func(event.kwargs["ctx"], **params))

    return check


def _holds(call: Call, ctx: ActionContext) -> bool:
    return bool(registry.GUARDS[call.name].func(ctx, **call.params))


def _recorder(transition: Transition) -> Callable[[Any], None]:
    def record(event: Any) -> None:
        event.model.fired = transition

    return record


class CompiledMachine:
    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=list(definition.states),
            initial=definition.initial,
            transitions=[
                {
                    "trigger": t.action,
                    "source": t.source,
                    "dest": t.dest,
                    "conditions": [_guard(c) for c in t.conditions],
                    "unless": [_guard(c) for c in t.unless],
                    "after": [_recorder(t)],
                }
                for t in definition.transitions
            ],
            auto_transitions=False,
            send_event=True,
        )

    def may(self, state: str, action: str, ctx: ActionContext) -> bool:
        """Whether some transition of ``action`` could fire on the data as it stands; the
        return target the actor will pick is not known yet, so it counts as satisfied."""
        for transition in self.definition.transitions_for(state, action):
            try:
                conditions = all(_holds(c, ctx) for c in transition.conditions
                                 if c.name != "chosen_target")
                if conditions and not any(_holds(c, ctx) for c in transition.unless):
                    return True
            except (ValueError, KeyError, TypeError):
                continue
        return False

    def fire(self, state: str, action: str, ctx: ActionContext) -> Transition:
        """Fire ``action`` from ``state``; the declared transition that fired, or an error."""
        token = _Token(state)
        event = self.machine.events.get(action)
        if event is None or not self.definition.transitions_for(state, action):
            raise InvalidAction("action_not_available", action=action, state=state)
        try:
            event.trigger(token, ctx=ctx)
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidAction("guard_error", action=action, reason=str(exc)) from exc
        if token.fired is None:
            names = sorted({c.name for t in self.definition.transitions_for(state, action)
                            for c in (*t.conditions, *t.unless)})
            raise InvalidAction("guard_failed", action=action, state=state, guards=names)
        return token.fired
