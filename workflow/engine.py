"""The one way into the engine: ``start`` a new instance, ``act`` on an existing one.

Each call is one database transaction: load the instance under a write lock, check the
version and the actor, validate the data, fire the transition, close and open tasks, run
effects, append one audit event, write outbox rows. Either all of it is stored or none.
Timers come through ``act`` as the system actor. Everything else here only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from . import authz, store
from .actors import Actor
from .audit import GENESIS, event_hash
from .calendar import WorkingCalendar
from .catalog import Catalog, Entry
from .clock import Clock, SystemClock
from .context import ActionContext, InstanceRef
from .db import Database
from .definition import Definition, State, Transition
from .errors import (
    BadRequest,
    Forbidden,
    InvalidAction,
    NotFound,
    ValidationFailed,
    VersionConflict,
)
from .org import check_org_formats
from .registry import EFFECTS
from .store import DONE, OPEN, WAITING, TaskRow
from .views import ActionView, EventView, InstanceView, Page, TaskView

log = logging.getLogger(__name__)

TARGET_FIELD = "to_state"
"""The data field that names the step a return goes back to."""


class Engine:
    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
        definitions: Path | None = None,
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.calendar = calendar or WorkingCalendar.from_package()
        self.catalog = Catalog(db, definitions)
        self.fault_hook: Any = None
        """Tests set this to a callable(point) that may raise between two writes."""

    def load_definitions(self) -> list[Entry]:
        return self.catalog.sync(self.clock.now())

    # ------------------------------------------------------------------ writes

    def start(self, workflow: str, *, actor: Actor, data: Mapping[str, Any]) -> InstanceView:
        """Create an instance of the newest version of ``workflow`` in its initial state."""
        entry = self.catalog.newest(workflow)
        if entry.definition.start_by != "anyone":
            raise Forbidden("spawn_only", workflow=workflow)
        if actor.is_system or actor.read_only:
            raise Forbidden("read_only")
        data = _object(data)
        errors = entry.definition.validator(entry.definition.start_schema).errors(data)
        if errors:
            raise ValidationFailed("invalid_data", fields=errors)
        now = self.clock.now()
        with self.db.write() as conn:
            check_org_formats(conn, entry.definition.start_schema, data)
            row = self._create(conn, entry, actor, data, now)
            return self._view(conn, row, entry, actor)

    def act(
        self,
        instance_id: int,
        action: str,
        *,
        actor: Actor,
        comment: str | None = None,
        data: Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> InstanceView:
        """Perform ``action`` on an instance as ``actor``; one transaction, all or nothing."""
        payload = _object(data if data is not None else {})
        if comment is not None and not isinstance(comment, str):
            raise BadRequest("comment_not_text")
        if expected_version is not None and (
            isinstance(expected_version, bool) or not isinstance(expected_version, int)
        ):
            raise BadRequest("expected_version_not_integer")
        now = self.clock.now()
        with self.db.write() as conn:
            row = store.load_instance(conn, instance_id, lock=True)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            entry = self.catalog.by_id(row.definition_id)
            replay = self._idempotent_replay(conn, row, entry.definition, action, payload)
            if replay:
                return self._view(conn, row, entry, actor)
            if expected_version is not None and expected_version != row.version:
                raise VersionConflict("stale_version", expected=expected_version,
                                      current=row.version)
            row = self._act(conn, row, entry, action, actor, comment, payload, now)
            return self._view(conn, row, entry, actor)

    def _idempotent_replay(self, conn: Connection, row: Any, definition: Definition,
                           action: str, data: Mapping[str, Any]) -> bool:
        """A repeated idempotent action with the same key answers as before and changes nothing."""
        keys = {t.idempotency_key for t in definition.transitions
                if t.action == action and t.idempotency_key}
        if not keys:
            return False
        key = next(iter(keys))
        done = store.fired_event(conn, row.id, action)
        if done is None:
            return False
        if done.data.get(key) == data.get(key):
            return True
        raise InvalidAction("already_done_differently", action=action, field=key)

    def _act(self, conn: Connection, row: Any, entry: Entry, action: str, actor: Actor,
             comment: str | None, data: dict[str, Any], now: datetime) -> Any:
        definition = entry.definition
        candidates = definition.transitions_for(row.state, action)
        if not candidates:
            raise InvalidAction("action_not_available", action=action, state=row.state)
        spec = candidates[0]
        tasks = store.step_tasks(conn, row.id, row.state_visit)
        task = authz.authorize(spec, actor, created_by=row.created_by, data=row.data, tasks=tasks)
        if spec.not_by_actors_of and actor.username in store.prior_actors(
            conn, row.id, spec.not_by_actors_of
        ):
            raise Forbidden("segregation_of_duties", action=action,
                            earlier=list(spec.not_by_actors_of))
        if spec.requires_comment and not (comment or "").strip():
            raise ValidationFailed("comment_required", fields={"comment": "required"})
        target = _return_target(candidates, data)
        errors = definition.validator(spec.schema).errors(data)
        if errors:
            raise ValidationFailed("invalid_data", fields=errors)

        step = definition.states[row.state].step
        others = [t for t in tasks if t.status in (OPEN, WAITING) and (task is None
                                                                        or t.id != task.id)]
        completes = not (
            spec.by == "step" and spec.outcome == "approve" and step is not None
            and step.mode in ("all", "sequential") and others
        )
        ctx = ActionContext(
            workflow=definition.name,
            instance_id=row.id,
            state=row.state,
            action=action,
            actor=actor,
            now=now,
            data={**row.data, **data} if spec.merge else dict(row.data),
            action_data=data,
            returned_from=row.returned_from,
            first_approved=row.first_approved_at is not None,
            target=target,
            task_data=[t.data for t in tasks if t.status == DONE and t.data] + [data],
            lookup=lambda other_id: self._lookup(conn, other_id),
        )
        fired: Transition | None = None
        if completes:
            fired = entry.machine.fire(row.state, action, ctx)
            for call in fired.effects:
                EFFECTS[call.name].func(ctx, **call.params)

        changes = {**(data if spec.merge else {}), **ctx.changes}
        seq = row.audit_seq + 1
        values: dict[str, Any] = {
            "version": row.version + 1,
            "data": {**row.data, **changes},
            "updated_at": now,
            "audit_seq": seq,
        }
        if spec.outcome == "approve" and row.first_approved_at is None:
            values["first_approved_at"] = now
        if "title" in changes:
            values["title"] = str(changes["title"])[:200]

        self._fault("before_tasks")
        if task is not None:
            store.close_task(conn, task.id, status=DONE, at=now, by=actor.id, decision=action,
                             data=data or None)
        outbox: list[dict[str, Any]] = []
        if fired is None:
            waiting = [t for t in others if t.status == WAITING]
            if waiting and not any(t.status == OPEN for t in others):
                nxt = waiting[0]
                due = self._due(step.deadline_days if step else None, now)
                store.open_task(conn, nxt.id, now, due)
                outbox.append(self._task_message(row.id, nxt.role, nxt.scope, nxt.assignee_id,
                                                 row.state, now))
            to_state = row.state
        else:
            store.cancel_tasks(conn, (t.id for t in others), now)
            to_state = fired.dest
            new_state = definition.states[to_state]
            values.update(
                state=to_state,
                state_entered_at=now,
                state_visit=seq,
                returned_from=_returned_from(definition, fired, row.returned_from),
                timer_due_at=self._timer_due(definition, to_state, now),
            )
            self._fault("before_new_tasks")
            outbox += self._open_tasks(conn, row.id, row.created_by, values["data"], new_state,
                                       seq, now)
            if actor.id != row.created_by:
                outbox.append(_message(row.id, "instance_moved", now, recipient=row.created_by,
                                       params={"action": action, "from": row.state,
                                               "to": to_state}))

        event = {
            "instance_id": row.id, "seq": seq, "at": now, "actor": actor.username,
            "on_behalf_of": None, "action": action, "outcome": spec.outcome,
            "from_state": row.state, "to_state": to_state, "fired": fired is not None,
            "target": target, "comment": comment or None, "data": data, "changes": changes,
            "prev_hash": row.audit_head,
        }
        event["hash"] = values["audit_head"] = event_hash(event)
        self._fault("before_instance")
        if not store.update_instance(conn, row.id, row.version, values):
            raise VersionConflict("stale_version", current=row.version)
        self._fault("before_audit")
        store.insert_event(conn, event)
        self._fault("before_outbox")
        store.insert_outbox(conn, outbox)
        for spawn in ctx.spawns:
            self._fault("before_spawn")
            child = self._create(conn, self.catalog.newest(spawn.workflow), actor,
                                 dict(spawn.data), now, spawned=True)
            store.insert_links(conn, [{"from_id": row.id, "to_id": child.id,
                                       "kind": spawn.link_kind}])
        if ctx.links:
            store.insert_links(conn, [{"from_id": row.id, "to_id": link.target_id,
                                       "kind": link.kind} for link in ctx.links])
        self._fault("before_commit")
        return _Row(row, values)

    def _create(self, conn: Connection, entry: Entry, actor: Actor, data: dict[str, Any],
                now: datetime, *, spawned: bool = False) -> Any:
        definition = entry.definition
        if spawned:
            errors = definition.validator(definition.start_schema).errors(data)
            if errors:
                raise ValidationFailed("invalid_spawn", fields=errors)
        ctx = ActionContext(
            workflow=definition.name, instance_id=None, state=definition.initial,
            action="start", actor=actor, now=now, data=dict(data), action_data=data,
            lookup=lambda other_id: self._lookup(conn, other_id),
        )
        for call in definition.on_start:
            EFFECTS[call.name].func(ctx, **call.params)
        full = {**data, **ctx.changes}
        state = definition.states[definition.initial]
        values: dict[str, Any] = {
            "definition_id": entry.id, "workflow": definition.name, "state": state.name,
            "version": 1, "title": str(full.get("title", ""))[:200], "data": full,
            "created_by": actor.id, "created_at": now, "updated_at": now,
            "state_entered_at": now, "state_visit": 1, "returned_from": None,
            "first_approved_at": None, "timer_due_at": self._timer_due(definition, state.name,
                                                                         now),
            "audit_seq": 1, "audit_head": GENESIS,
        }
        instance_id = store.insert_instance(conn, values)
        values["id"] = instance_id
        event = {
            "instance_id": instance_id, "seq": 1, "at": now, "actor": actor.username,
            "on_behalf_of": None, "action": "start", "outcome": "submit", "from_state": None,
            "to_state": state.name, "fired": False, "target": None, "comment": None,
            "data": data, "changes": ctx.changes, "prev_hash": GENESIS,
        }
        event["hash"] = event_hash(event)
        store.insert_event(conn, event)
        values["audit_head"] = event["hash"]
        conn.execute(store.INSTANCES.update().where(store.INSTANCES.c.id == instance_id)
                     .values(audit_head=event["hash"]))
        outbox = self._open_tasks(conn, instance_id, actor.id, full, state, 1, now)
        store.insert_outbox(conn, outbox)
        if ctx.links:
            store.insert_links(conn, [{"from_id": instance_id, "to_id": link.target_id,
                                       "kind": link.kind} for link in ctx.links])
        return _Row(None, values)

    def _open_tasks(self, conn: Connection, instance_id: int, created_by: int,
                    data: Mapping[str, Any], state: State, visit: int,
                    now: datetime) -> list[dict[str, Any]]:
        """Open the new state's tasks; the notifications that announce them."""
        step = state.step
        if step is None:
            return []
        due = self._due(step.deadline_days, now)
        base = {"instance_id": instance_id, "state": state.name, "visit": visit,
                "created_at": now, "due_at": due, "status": OPEN}
        rows: list[dict[str, Any]] = []
        if step.mode == "owner":
            rows.append({**base, "role": "owner", "scope": "", "assignee_id": created_by,
                         "seq": 0})
        elif step.mode == "sequential":
            for seq, assignee in enumerate(step.assignees):
                rows.append({**base, "role": assignee.role, "scope": _scope(assignee, data),
                             "assignee_id": None, "seq": seq,
                             "status": OPEN if seq == 0 else WAITING,
                             "due_at": due if seq == 0 else None})
        else:
            assignee = step.assignees[0]
            scope = _scope(assignee, data)
            people: list[tuple[int, str]] = []
            if step.mode in ("any", "all"):
                excluded = authz.parties(data)
                people = [(uid, name) for uid, name in store.role_holders(conn, assignee.role,
                                                                          scope)
                          if uid != created_by and name not in excluded]
            if people:
                rows += [{**base, "role": assignee.role, "scope": scope, "assignee_id": uid,
                          "seq": n} for n, (uid, _name) in enumerate(people)]
            else:
                rows.append({**base, "role": assignee.role, "scope": scope, "assignee_id": None,
                             "seq": 0})
        store.insert_tasks(conn, rows)
        return [self._task_message(instance_id, r["role"], r["scope"], r["assignee_id"],
                                   state.name, now) for r in rows if r["status"] == OPEN]

    @staticmethod
    def _task_message(instance_id: int, role: str, scope: str, assignee_id: int | None,
                      state: str, now: datetime) -> dict[str, Any]:
        if assignee_id is not None:
            return _message(instance_id, "task_opened", now, recipient=assignee_id,
                            params={"state": state})
        return _message(instance_id, "task_opened", now, role=role, scope=scope,
                        params={"state": state})

    def _due(self, days: int | None, now: datetime) -> datetime | None:
        return self.calendar.deadline(now, days) if days else None

    def _timer_due(self, definition: Definition, state: str, now: datetime) -> datetime | None:
        timer = definition.timer_for(state)
        return self.calendar.deadline(now, timer.after_working_days) if timer else None

    def _lookup(self, conn: Connection, instance_id: int) -> InstanceRef | None:
        row = store.load_instance(conn, instance_id, lock=False)
        if row is None:
            return None
        owner = store.usernames(conn, [row.created_by]).get(row.created_by, "")
        return InstanceRef(row.id, row.workflow, row.state, dict(row.data), owner)

    def _fault(self, point: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(point)

    # ------------------------------------------------------------------ timers

    def fire_due_timers(self, limit: int = 500) -> int:
        """Fire every timer that is due; each fires once, whoever else is trying."""
        now = self.clock.now()
        with self.db.read() as conn:
            due = store.due_timers(conn, now, limit)
        fired = 0
        system = Actor.system()
        for row in due:
            with self.db.read() as conn:
                current = store.load_instance(conn, row.id, lock=False)
            if current is None or current.version != row.version:
                continue
            timer = self.catalog.by_id(current.definition_id).definition.timer_for(current.state)
            if timer is None:
                continue
            try:
                self.act(row.id, timer.action, actor=system, expected_version=row.version)
                fired += 1
            except (VersionConflict, InvalidAction) as exc:
                log.info("timer on instance %s not fired: %s", row.id, exc)
        return fired

    # ------------------------------------------------------------------ reads

    def get(self, instance_id: int, *, actor: Actor) -> InstanceView:
        with self.db.read() as conn:
            row = store.load_instance(conn, instance_id, lock=False)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            entry = self.catalog.by_id(row.definition_id)
            self._check_view(conn, row, entry, actor)
            return self._view(conn, row, entry, actor)

    def history(self, instance_id: int, *, actor: Actor) -> list[EventView]:
        with self.db.read() as conn:
            row = store.load_instance(conn, instance_id, lock=False)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            self._check_view(conn, row, self.catalog.by_id(row.definition_id), actor)
            return [_event_view(e) for e in store.events_of(conn, instance_id)]

    def inbox(self, *, actor: Actor, limit: int = 50, workflow: str | None = None,
              state: str | None = None) -> list[TaskView]:
        """Open tasks the actor can act on now, most urgent first."""
        if actor.is_system or actor.read_only:
            return []
        now = self.clock.now()
        with self.db.read() as conn:
            rows = store.inbox(conn, user_id=actor.id, roles=actor.roles, limit=limit,
                               workflow=workflow, state=state)
            names = store.usernames(conn, [r.assignee_id for r in rows])
        return [
            _task_view(r, r.workflow, names, now, title=r.title) for r in rows
            if r.assignee_id == actor.id or r.created_by != actor.id
        ]

    def overdue(self, *, limit: int = 500) -> list[TaskView]:
        now = self.clock.now()
        with self.db.read() as conn:
            rows = store.overdue(conn, now, limit)
            names = store.usernames(conn, [r.assignee_id for r in rows])
            workflows = dict(conn.execute(
                select(store.INSTANCES.c.id, store.INSTANCES.c.workflow)
                .where(store.INSTANCES.c.id.in_({r.instance_id for r in rows}))).all())
        return [_task_view(r, workflows.get(r.instance_id, ""), names, now, status=OPEN)
                for r in rows]

    def list_instances(self, *, actor: Actor, workflow: str | None = None,
                       state: str | None = None, mine: bool = False, after: int | None = None,
                       limit: int = 50) -> Page:
        instances = store.INSTANCES
        tasks = store.TASKS
        stmt = select(instances).order_by(instances.c.id.desc()).limit(limit + 1)
        if workflow:
            stmt = stmt.where(instances.c.workflow == workflow)
        if state:
            stmt = stmt.where(instances.c.state == state)
        if after:
            stmt = stmt.where(instances.c.id < after)
        if mine:
            stmt = stmt.where(instances.c.created_by == actor.id)
        elif not any(role in authz.GLOBAL_VIEWERS for role, _ in actor.roles):
            involved = select(tasks.c.instance_id).where(tasks.c.assignee_id == actor.id)
            for role, scope in actor.roles:
                involved = involved.union(select(tasks.c.instance_id).where(
                    tasks.c.assignee_id.is_(None), tasks.c.role == role, tasks.c.scope == scope))
            stmt = stmt.where((instances.c.created_by == actor.id)
                              | instances.c.id.in_(involved))
        with self.db.read() as conn:
            rows = list(conn.execute(stmt))
            more = len(rows) > limit
            rows = rows[:limit]
            items = tuple(self._view(conn, r, self.catalog.by_id(r.definition_id), actor,
                                     detail=False) for r in rows)
        return Page(items, rows[-1].id if more and rows else None)

    def replay(self, instance_id: int) -> tuple[str, dict[str, Any]]:
        """Re-run an instance's audit events through its definition; its state and data.

        Raises InvalidAction if an event does not follow from the one before.
        """
        with self.db.read() as conn:
            row = store.load_instance(conn, instance_id, lock=False)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            events = store.events_of(conn, instance_id)
        entry = self.catalog.by_id(row.definition_id)
        definition = entry.definition
        state = ""
        data: dict[str, Any] = {}
        returned_from: str | None = None
        approved = False
        for event in events:
            if event["seq"] == 1:
                state, data = event["to_state"], {**event["data"], **event["changes"]}
                continue
            if event["from_state"] != state:
                raise InvalidAction("replay_mismatch", seq=event["seq"], expected=state,
                                    found=event["from_state"])
            spec = definition.transitions_for(state, event["action"])
            if not spec:
                raise InvalidAction("replay_undeclared", seq=event["seq"], action=event["action"])
            if event["fired"]:
                ctx = ActionContext(
                    workflow=definition.name, instance_id=row.id, state=state,
                    action=event["action"], actor=Actor.system(), now=event["at"],
                    data={**data, **event["data"]} if spec[0].merge else dict(data),
                    action_data=event["data"], returned_from=returned_from,
                    first_approved=approved, target=event["target"],
                )
                fired = entry.machine.fire(state, event["action"], ctx)
                if fired.dest != event["to_state"]:
                    raise InvalidAction("replay_mismatch", seq=event["seq"], expected=fired.dest,
                                        found=event["to_state"])
                returned_from = _returned_from(definition, fired, returned_from)
            elif event["to_state"] != state:
                raise InvalidAction("replay_mismatch", seq=event["seq"], expected=state,
                                    found=event["to_state"])
            approved = approved or event["outcome"] == "approve"
            data.update(event["changes"])
            state = event["to_state"]
        return state, data

    def _check_view(self, conn: Connection, row: Any, entry: Entry, actor: Actor) -> None:
        task_roles = [(t.role, t.scope, t.assignee_id) for t in conn.execute(
            select(store.TASKS.c.role, store.TASKS.c.scope, store.TASKS.c.assignee_id)
            .where(store.TASKS.c.instance_id == row.id))]
        if not authz.can_view(actor, entry.definition, created_by=row.created_by, data=row.data,
                              task_roles=task_roles):
            raise NotFound("instance_not_found", id=row.id)

    def _view(self, conn: Connection, row: Any, entry: Entry, actor: Actor | None,
              *, detail: bool = True) -> InstanceView:
        definition = entry.definition
        state = definition.states[row.state]
        now = self.clock.now()
        owner = store.usernames(conn, [row.created_by]).get(row.created_by, "")
        tasks: list[TaskRow] = []
        actions: list[ActionView] = []
        links: dict[str, list[int]] = {}
        if detail:
            tasks = [t for t in store.step_tasks(conn, row.id, row.state_visit)
                     if t.status in (OPEN, WAITING)]
            if actor is not None:
                actions = self._actions_for(conn, row, definition, tasks, actor)
            links = store.links_of(conn, row.id)
        names = store.usernames(conn, [t.assignee_id for t in tasks if t.assignee_id])
        return InstanceView(
            id=row.id,
            workflow=row.workflow,
            definition_version=entry.version,
            state=row.state,
            state_label=state.label,
            version=row.version,
            title=row.title,
            data=row.data,
            created_by=owner,
            created_at=row.created_at,
            updated_at=row.updated_at,
            tasks=tuple(_task_view(t, row.workflow, names, now, instance_id=row.id)
                        for t in tasks),
            actions=tuple(actions),
            links=links,
            final=state.final,
        )

    def _actions_for(self, conn: Connection, row: Any, definition: Definition,
                     tasks: Sequence[TaskRow], actor: Actor) -> list[ActionView]:
        found = []
        for name in definition.actions_from(row.state):
            candidates = definition.transitions_for(row.state, name)
            spec = candidates[0]
            if spec.by == "system" or not authz.permitted(
                spec, actor, created_by=row.created_by, data=row.data, tasks=tasks
            ):
                continue
            if spec.not_by_actors_of and actor.username in store.prior_actors(
                conn, row.id, spec.not_by_actors_of
            ):
                continue
            found.append(ActionView(name, spec.label, spec.outcome, spec.requires_comment,
                                    action_schema(candidates)))
        return found

def action_schema(candidates: Sequence[Transition]) -> dict[str, Any]:
    """The schema of an action's data, with ``to_state`` when the actor picks a return target."""
    schema = dict(candidates[0].schema)
    targets = _targets(candidates)
    if targets:
        properties = dict(schema.get("properties", {}))
        properties[TARGET_FIELD] = {"enum": targets}
        schema["properties"] = properties
        if len(targets) > 1:
            schema["required"] = [*schema.get("required", []), TARGET_FIELD]
    return schema


def _targets(candidates: Sequence[Transition]) -> list[str]:
    return [c.params["state"] for t in candidates for c in t.conditions
            if c.name == "chosen_target"]


def _return_target(candidates: Sequence[Transition], data: dict[str, Any]) -> str | None:
    targets = _targets(candidates)
    if not targets:
        return None
    chosen = data.pop(TARGET_FIELD, None)
    if chosen is None and len(targets) == 1:
        return targets[0]
    if chosen not in targets:
        raise ValidationFailed("invalid_target",
                               fields={TARGET_FIELD: f"must be one of {', '.join(targets)}"})
    return str(chosen)


def _returned_from(definition: Definition, fired: Transition, current: str | None) -> str | None:
    """Remember which step returned the item to its revision state; forget on resubmission."""
    if fired.outcome == "return" and fired.dest in definition.revision_states():
        return fired.source
    if any(c.name == "came_from" for c in fired.conditions):
        return None
    return current


def _scope(assignee: Any, data: Mapping[str, Any]) -> str:
    if assignee.scope_from:
        return str(data.get(assignee.scope_from) or "")
    return str(assignee.scope or "")


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise BadRequest("data_not_object", fields={"data": "must be a JSON object"})
    return dict(data)


def _message(instance_id: int, key: str, now: datetime, *, recipient: int | None = None,
             role: str | None = None, scope: str | None = None,
             params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"created_at": now, "instance_id": instance_id, "recipient_id": recipient,
            "role": role, "scope": scope, "key": key, "params": dict(params or {}),
            "status": "pending", "attempts": 0, "next_attempt_at": now, "sent_at": None,
            "last_error": None}


def _task_view(row: Any, workflow: str, names: Mapping[int, str], now: datetime, *,
               instance_id: int | None = None, status: str | None = None,
               title: str = "") -> TaskView:
    due = row.due_at
    return TaskView(
        id=row.id,
        instance_id=instance_id if instance_id is not None else row.instance_id,
        workflow=workflow,
        state=row.state,
        step=row.state,
        role=row.role,
        scope=row.scope,
        assignee=names.get(row.assignee_id) if row.assignee_id else None,
        status=status or row.status,
        created_at=getattr(row, "created_at", now),
        due_at=due,
        overdue=bool(due is not None and due < now),
        title=title,
    )


def _event_view(event: Mapping[str, Any]) -> EventView:
    return EventView(
        seq=event["seq"], at=event["at"], actor=event["actor"],
        on_behalf_of=event["on_behalf_of"], action=event["action"], outcome=event["outcome"],
        from_state=event["from_state"], to_state=event["to_state"], fired=event["fired"],
        target=event["target"], comment=event["comment"], data=event["data"],
        changes=event["changes"], hash=event["hash"], prev_hash=event["prev_hash"],
    )


class _Row:
    """The instance row as it is after this transaction's writes, without reading it back."""

    def __init__(self, row: Any, values: Mapping[str, Any]) -> None:
        self._values = dict(row._mapping) if row is not None else {}
        self._values.update(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

