"""Frozen values that leave the engine: what the web app and the CLI are given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class TaskView:
    id: int
    instance_id: int
    workflow: str
    state: str
    step: str
    role: str
    scope: str
    assignee: str | None
    status: str
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    title: str = ""
    on_behalf_of: str | None = None
    """Set when the task is in the inbox because its holder delegated to the reader."""


@dataclass(frozen=True)
class ChainLink:
    """One instance of the suggestion → project → acceptance → award → payout chain."""

    id: int
    workflow: str
    state: str


@dataclass(frozen=True)
class ActionView:
    name: str
    label: Mapping[str, str]
    outcome: str
    requires_comment: bool
    schema: Mapping[str, Any]


@dataclass(frozen=True)
class InstanceView:
    id: int
    workflow: str
    definition_version: int
    state: str
    state_label: Mapping[str, str]
    version: int
    title: str
    data: Mapping[str, Any]
    created_by: str
    created_at: datetime
    updated_at: datetime
    tasks: tuple[TaskView, ...] = ()
    actions: tuple[ActionView, ...] = ()
    links: Mapping[str, list[int]] = field(default_factory=dict)
    chain: tuple[ChainLink, ...] = ()
    final: bool = False


@dataclass(frozen=True)
class EventView:
    seq: int
    at: datetime
    actor: str
    on_behalf_of: str | None
    action: str
    outcome: str
    from_state: str | None
    to_state: str
    fired: bool
    target: str | None
    comment: str | None
    data: Mapping[str, Any]
    changes: Mapping[str, Any]
    hash: str
    prev_hash: str


@dataclass(frozen=True)
class Page:
    items: tuple[Any, ...]
    next: int | None


@dataclass(frozen=True)
class TaskPage:
    """A page of tasks in (deadline, id) order; ``next`` is where the following page starts
    (the last task's deadline and id), None after the last page."""

    items: tuple[TaskView, ...]
    next: tuple[datetime, int] | None


def task_view(row: Any, workflow: str, names: Mapping[int, str], now: datetime, *,
              instance_id: int) -> TaskView:
    """A step task of an instance as its reader sees it (``names``: usernames by id)."""
    due = row.due_at
    return TaskView(
        id=row.id,
        instance_id=instance_id,
        workflow=workflow,
        state=row.state,
        step=row.state,
        role=row.role,
        scope=row.scope,
        assignee=names.get(row.assignee_id) if row.assignee_id else None,
        status=row.status,
        created_at=row.created_at,
        due_at=due,
        overdue=bool(due is not None and due < now),
    )
