"""Actions only the scheduler takes, through ``Engine.act`` like every other action.

``flag`` marks an instance in any state (a missed milestone, say); ``reassign_overdue``
gives each overdue personal task of a step to the next eligible person who has had no
task in it yet (an expert who never scored). Both move no state and append one event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from . import assign, audit, messages, rawsql, store
from .actors import Actor
from .definition import FLAG, REASSIGN, Definition
from .errors import Forbidden, InvalidAction, ValidationFailed
from .schema import Validator
from .store import OPEN

_FLAG_VALIDATOR = Validator({
    "type": "object", "additionalProperties": False, "required": ["key", "reason"],
    "properties": {"key": {"type": "string", "minLength": 1, "maxLength": 200},
                   "reason": {"type": "string", "minLength": 1, "maxLength": 60},
                   "details": {"type": "object"}},
})


def flag(conn: Connection, row: rawsql.Record, actor: Actor, data: Mapping[str, Any],
         now: datetime) -> rawsql.Record:
    """Mark the instance; the same flag twice changes nothing."""
    if not actor.is_system:
        raise Forbidden("system_only", action=FLAG)
    errors = _FLAG_VALIDATOR.errors(data)
    if errors:
        raise ValidationFailed("invalid_data", fields=errors)
    flags = list(row.data.get("flags") or [])
    if any(f.get("key") == data["key"] for f in flags):
        return row
    flags.append({**data, "at": now.isoformat()})
    changes = {"flags": flags}
    event = audit.new_event(row, row.audit_seq + 1, now, actor, None, FLAG, "other", row.state,
                            False, None, None, data, changes)
    notice = messages.message(row.id, "flagged", now, recipient=row.created_by,
                              params={"key": data["key"], "reason": data["reason"]})
    return store.append_action(conn, row, event,
                               {"updated_at": now, "data": {**row.data, **changes}}, [notice])


def reassign_overdue(conn: Connection, row: rawsql.Record, definition: Definition,
                     actor: Actor, now: datetime,
                     due_in: Callable[[int | None, datetime], datetime | None],
                     usernames: Callable[[Connection, Sequence[int | None]], Mapping[int, str]]
                     ) -> rawsql.Record:
    """Each overdue personal task of the step goes to the next eligible person."""
    if not actor.is_system:
        raise Forbidden("system_only", action=REASSIGN)
    step = definition.states[row.state].step
    if step is None or step.mode not in ("any", "all", "quorum"):
        raise InvalidAction("action_not_available", action=REASSIGN, state=row.state)
    tasks = store.step_tasks(conn, row.id, row.state_visit)
    overdue = [t for t in tasks if t.status == OPEN and t.kind == "step" and not t.pooled
               and t.assignee_id is not None and t.due_at is not None and t.due_at < now]
    involved = {t.assignee_id for t in tasks} | {t.completed_by for t in tasks}
    spare = [(uid, name) for uid, name in assign.candidates(
        conn, step, step.assignees[0], instance_id=row.id, created_by=row.created_by,
        data=row.data, everyone=True) if uid not in involved]
    due = due_in(step.deadline_days, now)
    names = usernames(conn, [t.assignee_id for t in overdue])
    replaced = []
    outbox = []
    for task, (uid, name) in zip(overdue, spare, strict=False):
        store.reassign_task(conn, task.id, uid, now, due)
        replaced.append({"task": task.id, "from": names.get(task.assignee_id or 0), "to": name})
        outbox.append(messages.message(row.id, "task_opened", now, recipient=uid,
                                       params={"state": row.state, "via": REASSIGN}))
    if not replaced:
        raise InvalidAction("nothing_to_reassign", state=row.state)
    event = audit.new_event(row, row.audit_seq + 1, now, actor, None, REASSIGN, "other",
                            row.state, False, None, None, {"replaced": replaced}, {})
    return store.append_action(conn, row, event, {"updated_at": now}, outbox)
