"""Project milestones: remind the project's lead before a milestone falls due, and tell
the lead and the S&T admins when it was missed.

Milestones are data of an established project (``milestones: [{name, due_date}]``). The
planner writes two rungs per milestone into ``scheduled_effects`` (unique keys
``milestone_before:<instance>:<n>:<date>`` and ``milestone_missed:…``); ``run_due`` in
``workflow.reminders`` claims them with the other rungs and turns each into one outbox
row. A missed milestone also flags the project (the engine's ``flag`` action, as the system:
audited, and idempotent by the rung's key).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, select

from . import leases, store
from .actors import Actor
from .calendar import WorkingCalendar
from .engine import Engine
from .models import ScheduledEffect, table_of

EFFECTS = table_of(ScheduledEffect)
MILESTONE_BEFORE, MILESTONE_MISSED = "milestone_before", "milestone_missed"
KINDS = (MILESTONE_BEFORE, MILESTONE_MISSED)
TRACKED = (("project", "established"),)
"""(workflow, state) pairs whose instances' milestones are watched."""
BEFORE_DAYS = 5
PLAN_BATCH = 500


def plan(engine: Engine, *, calendar: WorkingCalendar | None = None,
         now: datetime | None = None, limit: int = PLAN_BATCH) -> int:
    """Write the rungs of tracked instances not planned yet; the number of instances."""
    calendar = calendar or engine.calendar
    now = now or engine.clock.now()
    i = store.INSTANCES.c
    planned = exists().where(and_(EFFECTS.c.instance_id == i.id,
                                  EFFECTS.c.kind.in_(KINDS)))
    total = 0
    for workflow, state in TRACKED:
        stmt = (select(i.id, i.data, i.created_by, i.state)
                .where(i.workflow == workflow, i.state == state, ~planned)
                .order_by(i.id).limit(limit))
        with engine.db.write() as conn:
            if not leases.try_lock(conn, "milestone-planner"):
                return total
            instances = list(conn.execute(stmt))
            rows = [row for inst in instances for row in _rungs(inst, calendar, now)]
            leases.insert_once(conn, EFFECTS, rows, "key")
        total += len(instances)
    return total


def _rungs(instance: Any, calendar: WorkingCalendar, now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for n, milestone in enumerate(instance.data.get("milestones") or []):
        try:
            due = date.fromisoformat(str(milestone.get("due_date")))
        except (TypeError, ValueError, AttributeError):
            continue
        params = {"name": str(milestone.get("name", "")), "due_date": due.isoformat(),
                  "state": instance.state}
        before = calendar.morning(calendar.subtract_working_days(due, BEFORE_DAYS))
        missed = calendar.morning(calendar.add_working_days(due, 1))
        for kind, at in ((MILESTONE_BEFORE, before), (MILESTONE_MISSED, missed)):
            if kind == MILESTONE_BEFORE and at <= now:
                continue
            rows.append({"key": f"{kind}:{instance.id}:{n}:{due.isoformat()}", "kind": kind,
                         "instance_id": instance.id, "task_id": None, "due_at": at,
                         "next_attempt_at": at, "status": leases.PENDING, "attempts": 0,
                         "params": params, "done_at": None})
    if not rows:  # nothing to watch: a marker so the instance is planned once
        rows.append({"key": f"{MILESTONE_MISSED}:{instance.id}:none", "kind": MILESTONE_MISSED,
                     "instance_id": instance.id, "task_id": None, "due_at": now,
                     "next_attempt_at": now, "status": leases.DONE, "attempts": 0,
                     "params": {"state": instance.state}, "done_at": now})
    return rows


def flag(engine: Engine, rung: Any, instance: Any) -> None:
    """Mark the project: this milestone was missed."""
    engine.act(instance.id, "flag", actor=Actor.system(), data={
        "key": rung.key, "reason": "milestone_missed",
        "details": {"name": rung.params.get("name"), "due_date": rung.params.get("due_date")}})


def is_current(rung: Any, instance: Any) -> bool:
    return instance is not None and instance.state == rung.params.get("state")


def message(engine: Engine, rung: Any, instance: Any, lead_id: int | None,
            now: datetime) -> list[dict[str, Any]]:
    """The outbox rows of a milestone rung: to the lead, and to S&T admins when missed."""
    stage = "before" if rung.kind == MILESTONE_BEFORE else "missed"
    params = {"name": rung.params.get("name"), "due_date": rung.params.get("due_date"),
              "stage": stage, "workflow": instance.workflow, "title": instance.title}
    base = {"created_at": now, "instance_id": instance.id, "key": "milestone",
            "params": params, "status": leases.PENDING, "attempts": 0, "next_attempt_at": now,
            "sent_at": None, "last_error": None, "channel": None}
    rows = [{**base, "recipient_id": lead_id or instance.created_by, "role": None,
             "scope": None, "dedupe_key": rung.key}]
    if stage == "missed":
        rows.append({**base, "recipient_id": None, "role": "sta_admin", "scope": "",
                     "dedupe_key": f"{rung.key}:sta_admin"})
    return rows
