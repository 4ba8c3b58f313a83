"""Engine values to the JSON shapes of API.md (times ISO 8601 with zone, money as strings)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from workflow.definition import Definition
from workflow.views import ActionView, EventView, InstanceView, TaskView


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def task_json(task: TaskView) -> dict[str, Any]:
    return {
        "id": task.id, "instance_id": task.instance_id, "workflow": task.workflow,
        "state": task.state, "step": task.step, "title": task.title, "role": task.role,
        "scope": task.scope, "assignee": task.assignee, "status": task.status,
        "due_at": iso(task.due_at), "overdue": task.overdue,
        "on_behalf_of": getattr(task, "on_behalf_of", None),
    }


def action_json(action: ActionView) -> dict[str, Any]:
    return {"name": action.name, "label": dict(action.label), "outcome": action.outcome,
            "requires_comment": action.requires_comment, "schema": dict(action.schema)}


def instance_json(view: InstanceView) -> dict[str, Any]:
    return {
        "id": view.id,
        "workflow": view.workflow,
        "definition_version": view.definition_version,
        "state": view.state,
        "state_label": dict(view.state_label),
        "final": view.final,
        "version": view.version,
        "title": view.title,
        "data": dict(view.data),
        "created_by": view.created_by,
        "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at),
        "tasks": [task_json(t) for t in view.tasks],
        "actions": [action_json(a) for a in view.actions],
        "links": {kind: list(ids) for kind, ids in view.links.items()},
        "chain": [{"id": c.id, "workflow": c.workflow, "state": c.state}
                  for c in getattr(view, "chain", ())],
    }


def event_json(event: EventView) -> dict[str, Any]:
    return {
        "seq": event.seq, "at": iso(event.at), "actor": event.actor,
        "on_behalf_of": event.on_behalf_of, "action": event.action, "outcome": event.outcome,
        "from_state": event.from_state, "to_state": event.to_state, "fired": event.fired,
        "comment": event.comment, "data": dict(event.data), "hash": event.hash,
        "prev_hash": event.prev_hash,
    }


def workflow_json(definition: Definition, version: int, *, detail: bool = False
                  ) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": definition.name,
        "version": version,
        "title": dict(definition.title),
        "states": [{"name": s.name, "label": dict(s.label), "final": s.final}
                   for s in definition.states.values()],
    }
    if detail:
        body["initial"] = definition.initial
        body["start_by"] = definition.start_by
        body["start_schema"] = dict(definition.start_schema)
        body["transitions"] = [
            {"action": t.action, "source": t.source, "dest": t.dest, "outcome": t.outcome,
             "by": t.by, "label": dict(t.label), "requires_comment": t.requires_comment}
            for t in definition.transitions]
    return body
