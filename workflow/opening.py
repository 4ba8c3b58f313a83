"""Entering a state: its step's tasks, who holds them, and the notifications.

Owner steps go to the creator; sequential steps (依次) open one task per listed role, each
waiting for the one before; every other step opens one personal task per eligible person
(N of them for an expert review, see ``assign``) or one pooled task for the role in its
scope (a single approver's step). When nobody eligible holds the role, the S&T admins are
told. People the step copies (抄送) become observers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from . import assign, authz, habits, messages, store
from .definition import State
from .store import OPEN, WAITING, TaskRow


def open_step(conn: Connection, instance_id: int, created_by: int, data: Mapping[str, Any],
              state: State, visit: int, now: datetime,
              due_in: Callable[[int | None, datetime], datetime | None]
              ) -> tuple[list[dict[str, Any]], list[TaskRow]]:
    """Open the new state's tasks; the notifications that announce them, and the tasks."""
    step = state.step
    if step is None:
        return [], []
    due = due_in(step.deadline_days, now)
    base = {"instance_id": instance_id, "state": state.name, "visit": visit,
            "created_at": now, "due_at": due, "status": OPEN, "kind": "step",
            "waiting_for": None, "added_by": None}
    rows: list[dict[str, Any]] = []
    unassigned: list[dict[str, Any]] = []
    if step.mode == "owner":
        rows.append({**base, "role": authz.OWNER_ROLE, "scope": "", "assignee_id": created_by,
                     "seq": 0, "pooled": False})
    elif step.mode == "sequential":
        for seq, assignee in enumerate(step.assignees):
            rows.append({**base, "role": assignee.role, "scope": assign.scope_of(
                assignee, data), "assignee_id": None, "seq": seq, "pooled": True,
                "status": OPEN if seq == 0 else WAITING, "due_at": due if seq == 0 else None})
    else:
        assignee = step.assignees[0]
        scope = assign.scope_of(assignee, data)
        people = assign.candidates(conn, step, assignee, instance_id=instance_id,
                                   created_by=created_by, data=data)
        if people and step.mode in ("any", "all", "quorum"):
            rows += [{**base, "role": assignee.role, "scope": scope, "assignee_id": uid,
                      "seq": n, "pooled": False} for n, (uid, _name) in enumerate(people)]
        else:
            rows.append({**base, "role": assignee.role, "scope": scope, "assignee_id": None,
                         "seq": 0, "pooled": True})
        if not people:
            # Nobody eligible holds the role in scope (those named on the item stand aside):
            # the admins must give it to someone.
            unassigned.append(messages.message(
                instance_id, "nobody_eligible", now, role="sta_admin", scope="",
                params={"state": state.name, "role": assignee.role, "scope": scope}))
    ids = store.insert_tasks(conn, rows)
    if step.mode == "sequential":
        store.chain_waiting(conn, ids)
        for previous, current in zip(ids, rows[1:], strict=False):
            current["waiting_for"] = previous
    opened = [store.task_row(task_id, r) for task_id, r in zip(ids, rows, strict=True)]
    outbox = [messages.task_opened(instance_id, task, state.name, now)
              for task in opened if task.status == OPEN] + unassigned
    if step.copy_to:
        observers = [uid for a in step.copy_to
                     for uid, _ in store.role_holders(conn, a.role, assign.scope_of(a, data))]
        for user_id in habits.add_observers(conn, instance_id, observers, created_by, now):
            outbox.append(messages.message(instance_id, "copied", now, recipient=user_id,
                                           params={"state": state.name}))
    return outbox, opened
