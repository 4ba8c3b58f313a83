"""Outbox rows: the notifications an action writes in its own transaction.

The notifier delivers them after the commit (see ``notify/``); a rolled-back action
leaves none behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .store import TaskRow


def message(instance_id: int | None, key: str, now: datetime, *, recipient: int | None = None,
            role: str | None = None, scope: str | None = None,
            params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One outbox row, to a person (``recipient``) or to the holders of a role in a scope."""
    return {"created_at": now, "instance_id": instance_id, "recipient_id": recipient,
            "role": role, "scope": scope, "key": key, "params": dict(params or {}),
            "status": "pending", "attempts": 0, "next_attempt_at": now, "sent_at": None,
            "last_error": None}


def task_opened(instance_id: int, task: TaskRow, state: str, now: datetime,
                **params: Any) -> dict[str, Any]:
    """A task is waiting: tell its assignee, or the role when the task is pooled."""
    if task.assignee_id is not None:
        return message(instance_id, "task_opened", now, recipient=task.assignee_id,
                       params={"state": state, **params})
    return message(instance_id, "task_opened", now, role=task.role, scope=task.scope,
                   params={"state": state, **params})
