"""What guards and effects see of an action: values, no database handles."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .actors import Actor


@dataclass(frozen=True)
class InstanceRef:
    """A read-only glance at another instance, for effects that link or copy."""

    id: int
    workflow: str
    state: str
    data: Mapping[str, Any]
    created_by: str


@dataclass(frozen=True)
class SpawnRequest:
    workflow: str
    data: Mapping[str, Any]
    link_kind: str


@dataclass(frozen=True)
class LinkRequest:
    target_id: int
    kind: str


@dataclass
class ActionContext:
    """Built fresh for every action; guards read it, effects add changes, spawns and links."""

    workflow: str
    instance_id: int | None
    state: str
    action: str
    actor: Actor
    now: datetime
    data: dict[str, Any]
    action_data: Mapping[str, Any]
    returned_from: str | None = None
    first_approved: bool = False
    target: str | None = None
    task_data: list[Mapping[str, Any]] = field(default_factory=list)
    lookup: Callable[[int], InstanceRef | None] = lambda _id: None
    query: Callable[..., Any] | None = None
    """A named read from ``registry.QUERIES`` in the action's transaction (None in replay)."""
    changes: dict[str, Any] = field(default_factory=dict)
    spawns: list[SpawnRequest] = field(default_factory=list)
    links: list[LinkRequest] = field(default_factory=list)

    def set(self, key: str, value: Any) -> None:
        self.changes[key] = value
        self.data[key] = value
