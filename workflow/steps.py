"""How a step's tasks progress: approval modes, added signers, quorum, waiting chains.

Pure functions over the step's tasks; the engine writes what they decide. A task that
waits (``waiting_for``) opens when the task it waits for is done: that is how sequential
steps (依次) and signers added before or after (加签) work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .definition import Definition, Scoring, Step, Vote
from .money import CENT
from .store import DONE, OPEN, WAITING, TaskRow


def approval_test(definition: Definition, state: str) -> Callable[[TaskRow], bool]:
    """Whether a done task of ``state`` was decided by an approving action."""
    def is_approval(task: TaskRow) -> bool:
        found = definition.transitions_for(state, task.decision or "")
        return bool(found) and found[0].outcome == "approve"

    return is_approval


def approval_sheets(definition: Definition, state: str, tasks: Sequence[TaskRow],
                    current: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The data of the step's approvals so far (score sheets, votes), ``current`` (the one
    being given now) included."""
    is_approval = approval_test(definition, state)
    found = [t.data for t in tasks if t.status == DONE and t.kind == "step" and t.data
             and is_approval(t)]
    return [*found, current] if current is not None else found


@dataclass(frozen=True)
class Progress:
    complete: bool
    """The step is decided: fire the transition."""
    open: list[TaskRow] = field(default_factory=list)
    """Waiting tasks that open now."""
    cancel: list[TaskRow] = field(default_factory=list)
    """Tasks no longer needed."""


def _pending(tasks: Sequence[TaskRow], acting: TaskRow | None) -> list[TaskRow]:
    return [t for t in tasks if t.status in (OPEN, WAITING)
            and (acting is None or t.id != acting.id)]


def after_approval(step: Step | None, tasks: Sequence[TaskRow], acting: TaskRow | None,
                   is_approval: Callable[[TaskRow], bool]) -> Progress:
    """What an approval of ``acting`` does to its step (``tasks``: the visit's tasks)."""
    pending = _pending(tasks, acting)
    if step is None or acting is None:
        return Progress(True, cancel=pending)
    released = [t for t in pending if t.status == WAITING and t.waiting_for == acting.id]
    regular = [t for t in pending if t.kind == "step"]
    added = [t for t in pending if t.kind == "added"]
    if step.mode in ("owner", "single", "any"):
        satisfied = acting.kind == "step" or any(
            t.kind == "step" and t.status == DONE and is_approval(t) for t in tasks)
        leftover_regular = [] if satisfied else regular
    elif step.mode == "quorum":
        approvals = sum(1 for t in tasks if t.kind == "step" and t.status == DONE
                        and is_approval(t)) + (acting.kind == "step")
        satisfied = approvals >= (step.quorum or 1) or not regular
        leftover_regular = [] if satisfied else regular
    else:  # all, sequential
        satisfied = not regular
        leftover_regular = regular
    if satisfied and not added:
        return Progress(True, cancel=pending)
    to_open = [t for t in released if t in added or t in leftover_regular]
    cancel = [t for t in regular if t not in leftover_regular]
    if not to_open and not any(t.status == OPEN for t in leftover_regular + added):
        # Nothing left that could ever open: the remaining waiting tasks wait for no one.
        to_open = [t for t in leftover_regular + added if t.status == WAITING][:1]
    return Progress(False, open=to_open, cancel=cancel)


def still_open(tasks: Sequence[TaskRow], acting: TaskRow | None, progress: Progress,
               now: datetime, due: datetime | None) -> list[TaskRow]:
    """The step's open and waiting tasks once ``progress`` is written (no re-reading)."""
    gone = {t.id for t in progress.cancel} | ({acting.id} if acting is not None else set())
    opened = {t.id for t in progress.open}
    found = []
    for task in tasks:
        if task.id in gone:
            continue
        if task.id in opened:
            task = replace(task, status=OPEN, waiting_for=None, created_at=now, due_at=due)
        if task.status in (OPEN, WAITING):
            found.append(task)
    return found


def after_rejection(step: Step | None, tasks: Sequence[TaskRow], acting: TaskRow | None,
                    is_approval: Callable[[TaskRow], bool]) -> Progress:
    """A reject, return or other decision: one decides, except in a quorum step (M of N),
    where it decides only once M approvals can no longer be reached."""
    pending = _pending(tasks, acting)
    if step is None or acting is None or step.mode != "quorum" or acting.kind != "step":
        return Progress(True, cancel=pending)
    regular = [t for t in tasks if t.kind == "step" and t.status in (OPEN, WAITING, DONE)]
    refusals = sum(1 for t in regular if t.status == DONE and not is_approval(t)) + 1
    if len(regular) - refusals < (step.quorum or 1):
        return Progress(True, cancel=pending)
    return Progress(False)


def weighted_score(scoring: Scoring, scores: Mapping[str, Any]) -> Decimal:
    """One expert's score: the weighted mean of the criteria."""
    total = sum((Decimal(c.weight) * Decimal(str(scores[c.name])) for c in scoring.criteria),
                Decimal(0))
    weights = sum((Decimal(c.weight) for c in scoring.criteria), Decimal(0))
    return total / weights


def aggregate_scores(scoring: Scoring, sheets: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The step's result: aggregate, spread and the per-expert scores (revealed now)."""
    per_expert = sorted(weighted_score(scoring, s) for s in sheets
                        if all(c.name in s for c in scoring.criteria))
    if not per_expert:
        return {}
    counted = per_expert[1:-1] if scoring.aggregate == "trimmed_mean" and len(per_expert) > 2 \
        else per_expert
    value = (sum(counted, Decimal(0)) / len(counted)).quantize(CENT)
    spread = (per_expert[-1] - per_expert[0]).quantize(CENT)
    result: dict[str, Any] = {
        scoring.into: float(value),
        f"{scoring.into}_spread": float(spread),
        f"{scoring.into}_count": len(per_expert),
    }
    if scoring.spread_limit is not None:
        result[f"{scoring.into}_flagged"] = float(spread) > scoring.spread_limit
    return result


def tally_votes(vote: Vote, choices: Sequence[str], members: int) -> dict[str, Any]:
    """Count the votes; the highest option whose support (votes for it or higher) reaches
    its threshold of the votes cast wins; without quorum nothing is awarded."""
    counts = {option: 0 for option in vote.options}
    for choice in choices:
        if choice in counts:
            counts[choice] += 1
    cast = sum(counts.values())
    result = vote.options[-1]
    quorate = members > 0 and Fraction(cast, members) >= Fraction(vote.quorum)
    if quorate:
        support = 0
        for option in vote.options[:-1]:
            support += counts[option]
            if Fraction(support, cast) >= Fraction(vote.thresholds[option]):
                result = option
                break
    return {
        vote.into: result,
        f"{vote.into}_tally": counts,
        f"{vote.into}_votes": cast,
        f"{vote.into}_members": members,
        f"{vote.into}_quorate": quorate,
    }
