"""Rungs of a reminder ladder that come after the state's own timer has moved the item on.

A timer fires at the end of its ``after_working_days``-th working day in the state; a step's
tasks open when the state is entered or later, and their rungs count from each task's
deadline: the overdue reminder the morning after it, the escalation ``after_days`` later,
the final action ``after_days`` after that. A rung due on a later working day than the timer
is never sent, when the timer's action leaves the state whatever the data (no guard, another
state). A problem of new files only: a stored version with such a rung ran that way."""

from __future__ import annotations

from collections.abc import Mapping

from .checker import Checker
from .model import Reminders, State, Timer, Transition


def check_rungs_before_timers(check: Checker, states: Mapping[str, State],
                              transitions: list[Transition], timers: list[Timer]) -> None:
    for timer in timers:
        step = states[timer.state].step
        ladder = step.reminders if step else None
        if step is None or ladder is None or not isinstance(step.deadline_days, int) \
                or not _always_leaves(timer, transitions):
            continue
        late = [rung for rung, day in _rung_days(ladder, step.deadline_days)
                if day > timer.after_working_days]
        if late:
            check.add_if_new(ladder.line, f"state {timer.state!r} reminders: the timer "
                             f"{timer.action!r} leaves {timer.state!r} after "
                             f"{timer.after_working_days} working days, before the "
                             f"{' and the '.join(late)} (deadline_days {step.deadline_days})")


def _always_leaves(timer: Timer, transitions: list[Transition]) -> bool:
    return any(t.source == timer.state and t.action == timer.action and t.dest != timer.state
               and not t.conditions and not t.unless for t in transitions)


def _rung_days(ladder: Reminders, deadline: int) -> list[tuple[str, int]]:
    """Each rung after the deadline, with the working day of the state it falls on at the
    earliest (for a task opened as the state is entered)."""
    rungs = []
    if ladder.overdue:
        rungs.append(("overdue reminder", deadline + 1))
    last = deadline
    if ladder.escalate_after_days and ladder.escalate_to is not None:
        last += ladder.escalate_after_days
        rungs.append(("escalation", last))
    if ladder.action and ladder.action_after_days:
        rungs.append((f"action {ladder.action!r}", last + ladder.action_after_days))
    return rungs
