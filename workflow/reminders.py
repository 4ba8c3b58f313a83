"""The escalation ladder: reminders before and after a task's deadline, escalation, and a
final automatic action, as declared by ``reminders`` on a step.

Two jobs. ``plan`` finds open tasks whose first rung is near and writes one row per rung
into ``scheduled_effects`` (the row's unique key, ``<kind>:<task>:<due>``, makes planning
repeatable). ``run_due`` claims due rungs with a lease and performs them: a reminder or
an escalation becomes an outbox row (unique ``dedupe_key`` = the rung's key, written in
the same transaction that marks the rung done); the final action goes through
``Engine.act`` as the system actor with the instance's version. A rung whose task was
closed, or whose deadline moved, is skipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update

from . import leases, milestones, store
from .actors import Actor
from .calendar import WorkingCalendar
from .definition import Reminders
from .engine import Engine
from .errors import InvalidAction, NotFound, VersionConflict, WorkflowError
from .models import ScheduledEffect, table_of

log = logging.getLogger(__name__)

EFFECTS = table_of(ScheduledEffect)
REMIND_BEFORE, REMIND_OVERDUE, ESCALATE, AUTO_ACTION = (
    "remind_before", "remind_overdue", "escalate", "auto_action")
NONE = "none"
"""A marker rung for a task whose definition version has no ladder, so it is planned once."""
SKIPPED = "skipped"
REMINDER_HOUR = 9
"""Rungs fire at this local hour of their working day."""
PLAN_BATCH = 2000
RUN_BATCH = 500
EFFECT_BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


@dataclass(frozen=True)
class Rung:
    kind: str
    at: datetime


def ladder(rules: Reminders, *, due_at: datetime, opened_at: datetime,
           calendar: WorkingCalendar) -> list[Rung]:
    """When each rung of ``rules`` fires for a task due at ``due_at`` (local working days)."""
    due_day = calendar.local_day(due_at)
    rungs: list[Rung] = []
    if rules.before_days:
        at = calendar.morning(calendar.subtract_working_days(due_day, rules.before_days),
                              REMINDER_HOUR)
        if at > opened_at:
            rungs.append(Rung(REMIND_BEFORE, at))
    if rules.overdue:
        rungs.append(Rung(REMIND_OVERDUE,
                          calendar.morning(calendar.add_working_days(due_day, 1), REMINDER_HOUR)))
    last_day = due_day
    if rules.escalate_after_days and rules.escalate_to is not None:
        last_day = calendar.add_working_days(due_day, rules.escalate_after_days)
        rungs.append(Rung(ESCALATE, calendar.morning(last_day, REMINDER_HOUR)))
    if rules.action and rules.action_after_days:
        day = calendar.add_working_days(last_day, rules.action_after_days)
        rungs.append(Rung(AUTO_ACTION, calendar.morning(day, REMINDER_HOUR)))
    return rungs


def _ladder_states(engine: Engine) -> tuple[set[str], int]:
    """State names with a ladder in the newest definitions, and the longest lead time."""
    names: set[str] = set()
    lead = 0
    for workflow in engine.catalog.names():
        for state in engine.catalog.newest(workflow).definition.states.values():
            rules = state.step.reminders if state.step else None
            if rules is not None:
                names.add(state.name)
                lead = max(lead, rules.before_days or 0)
    return names, lead


def plan(engine: Engine, *, calendar: WorkingCalendar | None = None, now: datetime | None = None,
         limit: int = PLAN_BATCH) -> int:
    """Write the rungs of open tasks whose first rung is near; the number of tasks planned."""
    calendar = calendar or engine.calendar
    now = now or engine.clock.now()
    states, lead = _ladder_states(engine)
    if not states:
        return 0
    horizon_day = calendar.add_working_days(calendar.local_day(now), lead + 1)
    horizon = calendar.morning(horizon_day, 0) + timedelta(days=1)
    tasks, instances = store.TASKS, store.INSTANCES
    planned = exists().where(EFFECTS.c.task_id == tasks.c.id)
    stmt = (select(tasks.c.id, tasks.c.instance_id, tasks.c.state, tasks.c.due_at,
                   tasks.c.created_at, instances.c.definition_id)
            .join(instances, instances.c.id == tasks.c.instance_id)
            .where(tasks.c.status == store.OPEN, tasks.c.due_at.is_not(None),
                   tasks.c.due_at < horizon, tasks.c.state.in_(sorted(states)), ~planned)
            .order_by(tasks.c.due_at, tasks.c.id)
            .limit(limit))
    with engine.db.write() as conn:
        if not leases.try_lock(conn, "planner"):
            return 0  # another scheduler is planning right now
        candidates = list(conn.execute(stmt))
        rows = _rungs(engine, candidates, calendar, now)
        leases.insert_once(conn, EFFECTS, rows, "key")
    return len(candidates)


def _rungs(engine: Engine, candidates: list[Any], calendar: WorkingCalendar,
           now: datetime) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for task in candidates:
        definition = engine.catalog.by_id(task.definition_id).definition
        step = definition.states[task.state].step if task.state in definition.states else None
        rules = step.reminders if step else None
        due_key = task.due_at.strftime("%Y%m%dT%H%M%S")
        base = {"instance_id": task.instance_id, "task_id": task.id, "status": leases.PENDING,
                "attempts": 0, "params": {"due_at": task.due_at.isoformat(),
                                          "state": task.state}}
        rungs = ladder(rules, due_at=task.due_at, opened_at=task.created_at,
                       calendar=calendar) if rules else []
        if not rungs:
            rows.append({**base, "key": f"{NONE}:{task.id}:{due_key}", "kind": NONE,
                         "due_at": task.due_at, "next_attempt_at": task.due_at,
                         "status": leases.DONE, "done_at": now})
        for rung in rungs:
            rows.append({**base, "key": f"{rung.kind}:{task.id}:{due_key}", "kind": rung.kind,
                         "due_at": rung.at, "next_attempt_at": rung.at, "done_at": None})
    return rows


def run_due(engine: Engine, *, owner: str, now: datetime | None = None,
            limit: int = RUN_BATCH, lease: timedelta = leases.DEFAULT_LEASE,
            fault: Any = None) -> int:
    """Claim and perform due rungs; the number claimed. ``fault(point)`` is for tests."""
    now = now or engine.clock.now()
    with engine.db.write() as conn:
        claimed = leases.claim(conn, EFFECTS, owner=owner, now=now, limit=limit, lease=lease)
    if not claimed:
        return 0
    if fault is not None:
        fault("rung_claimed")
    with engine.db.read() as conn:
        tasks = {t.id: t for t in conn.execute(select(store.TASKS).where(
            store.TASKS.c.id.in_({r.task_id for r in claimed})))}
        instances = {i.id: i for i in conn.execute(select(store.INSTANCES).where(
            store.INSTANCES.c.id.in_({r.instance_id for r in claimed})))}
        holders = store.usernames(conn, [t.assignee_id for t in tasks.values()])
        leads = store.user_ids(conn, [str(i.data.get("lead")) for i in instances.values()
                                      if i.data.get("lead")])
    stale: list[int] = []
    actions: list[tuple[Any, Any]] = []
    messages: dict[int, list[dict[str, Any]]] = {}
    for rung in claimed:
        task, instance = tasks.get(rung.task_id), instances.get(rung.instance_id)
        if rung.kind in milestones.KINDS:
            if instance is not None and milestones.is_current(rung, instance):
                messages[rung.id] = milestones.message(
                    engine, rung, instance, leads.get(str(instance.data.get("lead"))), now)
            else:
                stale.append(rung.id)
        elif not _current(rung, task, instance):
            stale.append(rung.id)
        elif rung.kind == AUTO_ACTION:
            actions.append((rung, instance))
        else:
            try:
                messages[rung.id] = [_message(engine, rung, task, instance, holders, now)]
            except Exception as exc:  # one bad rung never stops the others
                _failed(engine, rung, owner, now, exc)
    for rung in claimed:
        if rung.kind == milestones.MILESTONE_MISSED and rung.id in messages:
            # Before the rung is marked done: a worker killed here flags again, harmlessly.
            milestones.flag(engine, rung, instances[rung.instance_id])
    with engine.db.write() as conn:
        leases.finish_many(conn, EFFECTS, stale, owner=owner, status=SKIPPED, done_at=now)
        done = leases.finish_many(conn, EFFECTS, list(messages), owner=owner,
                                  status=leases.DONE, done_at=now)
        leases.insert_once(conn, store.OUTBOX, [m for i in sorted(done) for m in messages[i]],
                           "dedupe_key")
    for rung, instance in actions:
        try:
            _auto_action(engine, rung, instance, owner=owner, now=now)
        except Exception as exc:  # one bad rung never stops the others
            _failed(engine, rung, owner, now, exc)
    return len(claimed)


def _failed(engine: Engine, rung: Any, owner: str, now: datetime, exc: Exception) -> None:
    log.exception("rung %s failed", rung.key)
    with engine.db.write() as conn:
        leases.retry_later(conn, EFFECTS, rung, owner=owner, now=now,
                           error=f"{type(exc).__name__}: {exc}", backoff=EFFECT_BACKOFF)


def _current(rung: Any, task: Any, instance: Any) -> bool:
    """The rung's task is still open, with the same deadline, in the instance's state."""
    return (task is not None and instance is not None and task.status == store.OPEN
            and task.due_at is not None
            and task.due_at.isoformat() == rung.params.get("due_at")
            and instance.state == task.state)


def _message(engine: Engine, rung: Any, task: Any, instance: Any, holders: dict[int, str],
             now: datetime) -> dict[str, Any]:
    params: dict[str, Any] = {"state": task.state, "due_at": task.due_at.isoformat(),
                              "workflow": instance.workflow, "title": instance.title}
    recipient: int | None = task.assignee_id
    role: str | None = None if recipient is not None else task.role
    scope: str | None = None if recipient is not None else task.scope
    if rung.kind == ESCALATE:
        definition = engine.catalog.by_id(instance.definition_id).definition
        step = definition.states[task.state].step
        target = step.reminders.escalate_to if step and step.reminders else None
        if target is None:
            raise LookupError(f"no escalation target for {task.state!r}")
        recipient = None
        role = target.role
        scope = str(instance.data.get(target.scope_from) or "") if target.scope_from \
            else target.scope
        holder = holders.get(task.assignee_id or 0)
        params["holder"] = holder or (f"{task.role}@{task.scope}" if task.scope else task.role)
        key = "escalation"
    else:
        params["stage"] = "before" if rung.kind == REMIND_BEFORE else "overdue"
        key = "reminder"
    return {"created_at": now, "instance_id": instance.id, "recipient_id": recipient,
            "role": role, "scope": scope, "key": key, "params": params,
            "status": leases.PENDING, "attempts": 0, "next_attempt_at": now, "sent_at": None,
            "last_error": None, "dedupe_key": rung.key, "channel": None}


def _auto_action(engine: Engine, rung: Any, instance: Any, *, owner: str,
                 now: datetime) -> None:
    definition = engine.catalog.by_id(instance.definition_id).definition
    rules = definition.states[instance.state].step.reminders  # type: ignore[union-attr]
    action = rules.action if rules else None
    outcome, error = leases.DONE, None
    if action is None:
        outcome = SKIPPED
    else:
        try:
            engine.act(instance.id, action, actor=Actor.system(),
                       expected_version=instance.version)
        except (VersionConflict, InvalidAction, NotFound) as exc:
            outcome, error = SKIPPED, f"{exc}"
        except WorkflowError as exc:
            outcome, error = leases.FAILED, f"{exc}"
    with engine.db.write() as conn:
        leases.finish(conn, EFFECTS, rung.id, owner=owner, status=outcome, done_at=now,
                      last_error=error)


def pending_for(engine: Engine, instance_id: int) -> list[dict[str, Any]]:
    """The rungs still to come for an instance (for an item's page)."""
    with engine.db.read() as conn:
        rows = conn.execute(select(EFFECTS.c.kind, EFFECTS.c.due_at, EFFECTS.c.task_id)
                            .where(EFFECTS.c.instance_id == instance_id,
                                   EFFECTS.c.status == leases.PENDING)
                            .order_by(EFFECTS.c.due_at))
        return [dict(r._mapping) for r in rows]


def cancel_closed(engine: Engine, *, now: datetime | None = None) -> int:
    """Skip pending rungs whose task is no longer open (housekeeping; rungs also check)."""
    now = now or engine.clock.now()
    tasks = store.TASKS
    closed = exists().where(and_(tasks.c.id == EFFECTS.c.task_id, tasks.c.status != store.OPEN))
    with engine.db.write() as conn:
        return conn.execute(update(EFFECTS).where(EFFECTS.c.status == leases.PENDING,
                                                  EFFECTS.c.lease_owner.is_(None), closed)
                            .values(status=SKIPPED, done_at=now)).rowcount
