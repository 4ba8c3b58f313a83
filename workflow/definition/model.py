"""What a parsed definition is made of: frozen values and the names the files may not use.

Nothing here reads a file; ``parser.py`` builds these values and nothing changes them after.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..schema import Validator

MODES = ("owner", "single", "any", "all", "sequential", "quorum")
HABITS = ("transfer", "claim", "release", "add_signer", "remove_signer", "copy", "urge")
"""Built-in actions of every step (转交, 认领, 退回池, 加签, 减签, 抄送, 催办); reserved names."""
REASSIGN = "reassign_overdue"
"""The scheduler hands overdue personal tasks of a step to other eligible people; reserved."""
FLAG = "flag"
"""The scheduler's mark on an instance (a missed milestone), in any state; reserved."""
DEFAULT_HABITS = frozenset({"transfer", "claim", "release", "copy", "urge"})
OUTCOMES = ("approve", "reject", "return", "withdraw", "submit", "other")
BY = ("step", "owner", "anyone", "system")
RETURNED_FROM = "returned_from"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Call:
    """A guard or effect by name, with the parameters the file gave it."""

    name: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class Assignee:
    role: str
    scope_from: str | None = None
    scope: str = ""


@dataclass(frozen=True)
class Criterion:
    name: str
    weight: str
    min: int
    max: int


@dataclass(frozen=True)
class Scoring:
    """Expert scoring: each assigned expert scores every criterion; blind until all have."""

    criteria: tuple[Criterion, ...]
    aggregate: str
    into: str
    spread_limit: float | None


@dataclass(frozen=True)
class Vote:
    """A committee vote: options from highest to lowest (the last means "not awarded");
    an option wins when the votes for it or a higher one reach its threshold."""

    options: tuple[str, ...]
    thresholds: Mapping[str, str]
    quorum: str
    into: str


@dataclass(frozen=True)
class Reminders:
    """A step's escalation ladder (催办), in working days counted from the task's deadline:
    remind the holder ``before_days`` before it, again when it passes (``overdue``),
    escalate to ``escalate_to`` ``escalate_after_days`` after it, and finally fire the
    system ``action`` ``action_after_days`` after the escalation (or after the deadline)."""

    before_days: int | None = None
    overdue: bool = True
    escalate_after_days: int | None = None
    escalate_to: Assignee | None = None
    action_after_days: int | None = None
    action: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Step:
    mode: str
    assignees: tuple[Assignee, ...]
    deadline_days: int | None
    form: Mapping[str, Any] | None
    allow: frozenset[str] = DEFAULT_HABITS
    quorum: int | None = None
    experts: int | None = None
    recuse_department: bool = False
    scoring: Scoring | None = None
    vote: Vote | None = None
    copy_to: tuple[Assignee, ...] = ()
    reminders: Reminders | None = None


@dataclass(frozen=True)
class State:
    name: str
    label: Mapping[str, str]
    final: bool
    step: Step | None
    line: int
    public: bool = False
    """Everyone may read an instance while it is here (a public notice, 公示)."""


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    dest: str
    outcome: str
    by: str
    requires_comment: bool
    conditions: tuple[Call, ...]
    unless: tuple[Call, ...]
    effects: tuple[Call, ...]
    schema: Mapping[str, Any]
    merge: bool
    label: Mapping[str, str]
    not_by_actors_of: tuple[str, ...]
    idempotency_key: str | None
    line: int
    revises: bool = False
    """The proposer (re)submits and may revise the start data on the way (a partial update)."""


@dataclass(frozen=True)
class Timer:
    state: str
    after_working_days: int
    action: str
    line: int


@dataclass(frozen=True)
class Definition:
    name: str
    title: Mapping[str, str]
    initial: str
    start_by: str
    start_schema: Mapping[str, Any]
    on_start: tuple[Call, ...]
    states: Mapping[str, State]
    transitions: tuple[Transition, ...]
    timers: tuple[Timer, ...]
    extra: Mapping[str, Any]
    source: str
    content_hash: str
    file: str
    _by_source: Mapping[tuple[str, str], tuple[Transition, ...]] = field(repr=False)
    _validators: dict[Any, Any] = field(repr=False, compare=False)

    def transitions_for(self, state: str, action: str) -> tuple[Transition, ...]:
        return self._by_source.get((state, action), ())

    def actions_from(self, state: str) -> list[str]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            if t.source == state:
                seen.setdefault(t.action, None)
        return list(seen)

    def action_names(self) -> list[str]:
        return list(dict.fromkeys(t.action for t in self.transitions))

    def revision_states(self) -> frozenset[str]:
        """States whose resubmission goes back to the step that returned the item."""
        return frozenset(
            t.source for t in self.transitions if "came_from" in {c.name for c in t.conditions}
        )

    def validator(self, schema: Mapping[str, Any]) -> Validator:
        key = id(schema)
        if key not in self._validators:
            self._validators[key] = Validator(schema)
        return self._validators[key]

    def memo(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """A value derived from this (immutable) definition, computed once."""
        if key not in self._validators:
            self._validators[key] = compute()
        return self._validators[key]

    def timer_for(self, state: str) -> Timer | None:
        for timer in self.timers:
            if timer.state == state:
                return timer
        return None

