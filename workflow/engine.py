"""The one way into the engine: ``start`` a new instance, ``act`` on an existing one.

Each call is one database transaction: load the instance under a write lock, check the
version and the actor, validate the data, fire the transition, close and open tasks, run
effects, append one audit event, write outbox rows. Either all of it is stored or none.
Timers and the built-in habits (transfer, claim, add signer, copy, urge …) come through
``act`` too. Everything else here only reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, union

from . import (
    assign,
    audit,
    authz,
    delegation,
    habits,
    instance_view,
    messages,
    opening,
    replay,
    returns,
    steps,
    store,
    system_actions,
    worklists,
)
from .actors import Actor
from .audit import GENESIS
from .calendar import WorkingCalendar
from .catalog import Catalog, Entry
from .clock import Clock, SystemClock
from .context import ActionContext, InstanceRef
from .db import Database
from .definition import FLAG, HABITS, REASSIGN, Definition, Step, Transition
from .delegation import DelegationView
from .errors import (
    BadRequest,
    Forbidden,
    InvalidAction,
    NotFound,
    ValidationFailed,
    VersionConflict,
    WorkflowError,
)
from .org import check_org_formats
from .rawsql import Record
from .registry import EFFECTS, QUERIES
from .schema import Validator
from .store import DONE, OPEN, WAITING, TaskRow
from .views import EventView, InstanceView, Page, TaskPage, TaskView

log = logging.getLogger(__name__)

_HABIT_VALIDATORS = {name: Validator(schema) for name, schema in habits.SCHEMAS.items()}


@dataclass(frozen=True)
class BatchResult:
    instance_id: int
    ok: bool
    instance: InstanceView | None = None
    error: WorkflowError | None = None


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
        self._names: dict[int, str] = {}
        self.fault_hook: Callable[[str], None] | None = None
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
            row, opened = self._create(conn, entry, actor, data, now)
            return self._view(conn, row, entry, actor, tasks=opened)

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
            raise BadRequest("comment_not_text", fields={"comment": "must be text"})
        if expected_version is not None and (
            isinstance(expected_version, bool) or not isinstance(expected_version, int)
        ):
            raise BadRequest("expected_version_not_integer",
                             fields={"expected_version": "must be an integer"})
        now = self.clock.now()
        with self.db.write() as conn:
            row = store.load_instance(conn, instance_id, lock=True, substitute=actor.id)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            entry = self.catalog.by_id(row.definition_id)
            if self._idempotent_replay(conn, row, entry.definition, action, payload, actor):
                return self._view(conn, row, entry, actor)
            if expected_version is not None and expected_version != row.version:
                raise VersionConflict("stale_version", expected=expected_version,
                                      current=row.version)
            open_now: list[TaskRow] | None = None  # None: read them back for the answer
            if action == FLAG:
                row = system_actions.flag(conn, row, actor, payload, now)
            elif action == REASSIGN:
                row = system_actions.reassign_overdue(conn, row, entry.definition, actor, now,
                                                      self._due, self._usernames)
            elif action in HABITS:
                row = self._habit(conn, row, entry, action, actor, comment, payload, now)
            else:
                row, open_now = self._act(conn, row, entry, action, actor, comment, payload,
                                          now)
            return self._view(conn, row, entry, actor, tasks=open_now)

    def act_many(self, items: Sequence[tuple[int, int | None]], action: str, *, actor: Actor,
                 comment: str | None = None, data: Mapping[str, Any] | None = None
                 ) -> list[BatchResult]:
        """Batch approval: the same action on several instances, each its own transaction."""
        results = []
        for instance_id, version in items:
            try:
                view = self.act(instance_id, action, actor=actor, comment=comment, data=data,
                                expected_version=version)
            except WorkflowError as exc:
                results.append(BatchResult(instance_id, False, error=exc))
            else:
                results.append(BatchResult(instance_id, True, instance=view))
        return results

    def _idempotent_replay(self, conn: Connection, row: Any, definition: Definition,
                           action: str, data: Mapping[str, Any], actor: Actor) -> bool:
        """A repeated idempotent action with the same key answers as before, changing nothing.

        Only to someone who could have done it (whoever did, or a holder of the step's role);
        anyone else is answered as for any action the state does not offer.
        """
        transitions = [t for t in definition.transitions
                       if t.action == action and t.idempotency_key]
        if not transitions:
            return False
        key = str(transitions[0].idempotency_key)
        done = store.fired_event(conn, row.id, action)
        if done is None:
            return False
        step = definition.states[transitions[0].source].step
        entitled = done.actor == actor.username or (
            step is not None and not actor.read_only
            and any(actor.holds(a.role, assign.scope_of(a, row.data)) for a in step.assignees))
        if not entitled:
            return False  # answered like any other action in this state
        if done.data.get(key) == data.get(key):
            return True
        raise InvalidAction("already_done_differently", action=action, field=key)

    def _act(self, conn: Connection, row: Any, entry: Entry, action: str, actor: Actor,
             comment: str | None, data: dict[str, Any], now: datetime
             ) -> tuple[Record, list[TaskRow]]:
        """Fire ``action``; the instance row as stored and its open tasks afterwards."""
        definition = entry.definition
        candidates = definition.transitions_for(row.state, action)
        if not candidates:
            raise InvalidAction("action_not_available", action=action, state=row.state)
        spec = candidates[0]
        tasks = store.step_tasks(conn, row.id, row.state_visit)
        task, principal = delegation.authorize(conn, spec, actor, row, tasks)
        if spec.not_by_actors_of:
            earlier = store.prior_actors(conn, row.id, spec.not_by_actors_of)
            if actor.username in earlier or (principal and principal.username in earlier):
                raise Forbidden("segregation_of_duties", action=action,
                                earlier=list(spec.not_by_actors_of))
        if spec.requires_comment and not (comment or "").strip():
            raise ValidationFailed("comment_required", fields={"comment": "required"})
        target = returns.chosen_target(candidates, data)
        errors = definition.validator(spec.schema).errors(data)
        if errors:
            raise ValidationFailed("invalid_data", fields=errors)
        if spec.revises and data:
            self._check_revision(conn, definition, row, actor, data, now)

        state = definition.states[row.state]
        step = state.step
        approving = spec.outcome == "approve"
        if spec.by != "step":
            progress = steps.Progress(True, cancel=[t for t in tasks
                                                    if t.status in (OPEN, WAITING)])
        else:
            decide = steps.after_approval if approving else steps.after_rejection
            progress = decide(step, tasks, task, steps.approval_test(definition, row.state))
        ctx = ActionContext(
            workflow=definition.name, instance_id=row.id, state=row.state, action=action,
            actor=actor, now=now, data={**row.data, **data} if spec.merge else dict(row.data),
            action_data=data, returned_from=row.returned_from,
            first_approved=row.first_approved_at is not None, target=target,
            task_data=steps.approval_sheets(definition, row.state, tasks,
                                            data if approving else None),
            lookup=lambda other_id: self._lookup(conn, other_id),
        )
        fired: Transition | None = None
        if progress.complete:
            if step is not None and approving:
                for key, value in self._step_result(conn, step, ctx).items():
                    ctx.set(key, value)
            fired = entry.machine.fire(row.state, action, ctx)
            for call in fired.effects:
                EFFECTS[call.name].func(ctx, **call.params)

        changes = {**(data if spec.merge else {}), **ctx.changes}
        seq = row.audit_seq + 1
        values: dict[str, Any] = {"version": row.version + 1, "updated_at": now,
                                  "audit_seq": seq}
        if changes:
            values["data"] = {**row.data, **changes}
        if approving and row.first_approved_at is None:
            values["first_approved_at"] = now
        if "title" in changes:
            values["title"] = str(changes["title"])[:200]

        self._fault("before_tasks")
        if task is not None:
            store.close_task(conn, task.id, status=DONE, at=now, by=actor.id, decision=action,
                             data=data or None)
        store.cancel_tasks(conn, (t.id for t in progress.cancel), now)
        outbox: list[dict[str, Any]] = []
        due = self._due(step.deadline_days if step else None, now)
        for waiting in progress.open:
            store.open_task(conn, waiting.id, now, due)
            outbox.append(messages.task_opened(row.id, waiting, row.state, now))
        open_now = steps.still_open(tasks, task, progress, now, due)
        to_state = row.state
        if fired is not None:
            to_state = fired.dest
            values.update(
                state=to_state,
                state_entered_at=now,
                state_visit=seq,
                returned_from=returns.returned_from(definition, fired, row.returned_from),
                timer_due_at=self._timer_due(definition, to_state, now),
            )
            self._fault("before_new_tasks")
            announced, open_now = opening.open_step(
                conn, row.id, row.created_by, values.get("data", row.data),
                definition.states[to_state], seq, now, self._due)
            outbox += announced
            if actor.id != row.created_by:
                outbox.append(messages.message(
                    row.id, "instance_moved", now, recipient=row.created_by,
                    params={"action": action, "from": row.state, "to": to_state}))
        event = audit.new_event(row, seq, now, actor, principal, action, spec.outcome, to_state,
                            fired is not None, target, comment, data, changes)
        values["audit_head"] = event["hash"]
        self._fault("before_instance")
        if not store.update_instance(conn, row.id, row.version, values):
            raise VersionConflict("stale_version", current=row.version)
        self._fault("before_audit")
        store.insert_event(conn, event)
        self._fault("before_outbox")
        store.insert_outbox(conn, outbox)
        for spawn in ctx.spawns:
            self._fault("before_spawn")
            child, _ = self._create(conn, self.catalog.newest(spawn.workflow), actor,
                                    dict(spawn.data), now, spawned=True,
                                    created_by=row.created_by if actor.is_system else None)
            store.insert_links(conn, [{"from_id": row.id, "to_id": child.id,
                                       "kind": spawn.link_kind}])
            values["linked"] = True
        if ctx.links:
            store.insert_links(conn, [{"from_id": row.id, "to_id": link.target_id,
                                       "kind": link.kind} for link in ctx.links])
            values["linked"] = True
        self._fault("before_commit")
        return store.as_stored(row, values), open_now

    def _check_revision(self, conn: Connection, definition: Definition, row: Any, actor: Actor,
                        data: Mapping[str, Any], now: datetime) -> None:
        """The revised item must still be a valid application, as if submitted anew."""
        fields = definition.start_schema.get("properties") or {}
        revised = {k: v for k, v in {**row.data, **data}.items() if k in fields}
        errors = definition.validator(definition.start_schema).errors(revised)
        if errors:
            raise ValidationFailed("invalid_data", fields=errors)
        check_org_formats(conn, definition.start_schema, data)
        ctx = ActionContext(workflow=definition.name, instance_id=row.id, state=row.state,
                            action="revise", actor=actor, now=now, data=revised,
                            action_data=data)
        for call in definition.on_start:
            if EFFECTS[call.name].validates:
                EFFECTS[call.name].func(ctx, **call.params)

    def _step_result(self, conn: Connection, step: Step, ctx: ActionContext) -> dict[str, Any]:
        """What a scoring or voting step concludes when it completes."""
        if step.scoring is not None:
            return steps.aggregate_scores(step.scoring, ctx.task_data)
        if step.vote is not None:
            members = assign.members(conn, step.assignees[0], ctx.data)
            return steps.tally_votes(step.vote, [str(s.get("choice")) for s in ctx.task_data],
                                     members)
        return {}

    def _habit(self, conn: Connection, row: Any, entry: Entry, action: str, actor: Actor,
               comment: str | None, data: dict[str, Any], now: datetime) -> Any:
        definition = entry.definition
        step = definition.states[row.state].step
        if step is None or step.mode == "owner" or action not in step.allow:
            raise InvalidAction("action_not_available", action=action, state=row.state)
        errors = _HABIT_VALIDATORS[action].errors(data)
        if action in habits.REQUIRES_COMMENT and not (comment or "").strip():
            errors["comment"] = "required"
        if errors:
            raise ValidationFailed("invalid_data", fields=errors)
        tasks = store.step_tasks(conn, row.id, row.state_visit)
        task, principal = delegation.holding(conn, actor, row, tasks)
        unit = habits.Unit(
            conn=conn, row=row, definition=definition, step=step, actor=actor, task=task,
            tasks=tasks, now=now, data=data,
            message=lambda key, **kw: messages.message(row.id, key, now, **kw),
            working_day=self._working_day,
        )
        recorded = habits.perform(action, unit)
        event = audit.new_event(row, row.audit_seq + 1, now, actor, principal, action, "other",
                                row.state, False, None, comment, recorded, {})
        return store.append_action(conn, row, event, {"updated_at": now}, unit.outbox)

    def _usernames(self, conn: Connection, ids: Sequence[int | None]) -> dict[int, str]:
        """Usernames by id; they never change, so each is read once per process."""
        missing = [i for i in ids if i and i not in self._names]
        if missing:
            self._names.update(store.usernames(conn, missing))
        return self._names

    def _working_day(self, moment: datetime) -> date:
        """The working day a moment counts for: its local date, or the next working day."""
        day = moment.astimezone(self.calendar.zone).date()
        return day if self.calendar.is_workday(day) else self.calendar.add_working_days(day, 1)

    def _create(self, conn: Connection, entry: Entry, actor: Actor, data: dict[str, Any],
                now: datetime, *, spawned: bool = False, created_by: int | None = None
                ) -> tuple[Record, list[TaskRow]]:
        """Insert a new instance in its initial state; the row as stored and its open tasks."""
        definition = entry.definition
        owner = actor.id if created_by is None else created_by  # a timer is no user
        if spawned:
            errors = definition.validator(definition.start_schema).errors(data)
            if errors:
                raise ValidationFailed("invalid_spawn", fields=errors)
        ctx = ActionContext(
            workflow=definition.name, instance_id=None, state=definition.initial,
            action="start", actor=actor, now=now, data=dict(data), action_data=data,
            lookup=lambda other_id: self._lookup(conn, other_id),
            query=lambda name, **params: QUERIES[name](conn, **params),
        )
        for call in definition.on_start:
            EFFECTS[call.name].func(ctx, **call.params)
        full = {**data, **ctx.changes}
        state = definition.states[definition.initial]
        values: dict[str, Any] = {
            "definition_id": entry.id, "workflow": definition.name, "state": state.name,
            "version": 1, "title": str(full.get("title", ""))[:200], "data": full,
            "created_by": owner, "created_at": now, "updated_at": now,
            "state_entered_at": now, "state_visit": 1, "returned_from": None,
            "first_approved_at": None,
            "timer_due_at": self._timer_due(definition, state.name, now),
            "audit_seq": 1, "audit_head": GENESIS,
        }
        self._fault("before_instance")
        instance_id = store.insert_instance(conn, values)
        values["id"] = instance_id
        event = audit.new_event(store.as_stored(None, {"id": instance_id, "state": None,
                                        "audit_head": GENESIS}),
                            1, now, actor, None, "start", "submit", state.name, False, None, None,
                            data, ctx.changes)
        self._fault("before_audit")
        store.insert_event(conn, event)
        values["audit_head"] = event["hash"]
        store.set_audit_head(conn, instance_id, event["hash"])
        self._fault("before_new_tasks")
        outbox, opened = opening.open_step(conn, instance_id, owner, full, state, 1, now,
                                           self._due)
        self._fault("before_outbox")
        store.insert_outbox(conn, outbox)
        values["linked"] = bool(ctx.links)
        if ctx.links:
            store.insert_links(conn, [{"from_id": instance_id, "to_id": link.target_id,
                                       "kind": link.kind} for link in ctx.links])
        return store.as_stored(None, values), opened

    def _due(self, days: int | None, now: datetime) -> datetime | None:
        return self.calendar.deadline(now, days) if days else None

    def _timer_due(self, definition: Definition, state: str, now: datetime) -> datetime | None:
        timer = definition.timer_for(state)
        return self.calendar.deadline(now, timer.after_working_days) if timer else None

    def _lookup(self, conn: Connection, instance_id: int) -> InstanceRef | None:
        row = store.load_instance(conn, instance_id, lock=False)
        if row is None:
            return None
        owner = self._usernames(conn, [row.created_by]).get(row.created_by, "")
        return InstanceRef(row.id, row.workflow, row.state, dict(row.data), owner)

    def _fault(self, point: str) -> None:
        if self.fault_hook is not None:
            self.fault_hook(point)

    # ------------------------------------------------------------------ delegation

    def delegate(self, *, actor: Actor, substitute: str, starts_at: datetime,
                 ends_at: datetime) -> DelegationView:
        """委托: let ``substitute`` act on the actor's tasks arriving in [starts_at, ends_at)."""
        with self.db.write() as conn:
            return delegation.create(conn, principal=actor, substitute=substitute,
                                     starts_at=starts_at, ends_at=ends_at, now=self.clock.now())

    def revoke_delegation(self, delegation_id: int, *, actor: Actor) -> None:
        with self.db.write() as conn:
            delegation.revoke(conn, delegation_id, principal=actor, now=self.clock.now())

    def delegations(self, *, actor: Actor) -> list[DelegationView]:
        with self.db.read() as conn:
            return delegation.of(conn, actor)

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
            row = store.load_instance(conn, instance_id, lock=False, substitute=actor.id)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            entry = self.catalog.by_id(row.definition_id)
            instance_view.check_visible(conn, row, entry, actor)
            return self._view(conn, row, entry, actor)

    def history(self, instance_id: int, *, actor: Actor) -> list[EventView]:
        """The audit events, oldest first; an open scoring or vote stays blind to others."""
        with self.db.read() as conn:
            row = store.load_instance(conn, instance_id, lock=False)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            entry = self.catalog.by_id(row.definition_id)
            instance_view.check_visible(conn, row, entry, actor)
            step = entry.definition.states[row.state].step
            blind = step is not None and (step.scoring is not None or step.vote is not None)
            decisions = set(entry.definition.actions_from(row.state))
            events = []
            for e in store.events_of(conn, instance_id):
                view = _event_view(e)
                if blind and e["seq"] > row.state_visit and e["actor"] != actor.username \
                        and e["action"] in decisions:
                    view = EventView(**{**view.__dict__, "data": {"hidden": True}})
                events.append(view)
            return events

    def inbox(self, *, actor: Actor, limit: int = 50, workflow: str | None = None,
              state: str | None = None) -> list[TaskView]:
        """Open tasks the actor can act on now, most urgent first (also as a substitute)."""
        with self.db.read() as conn:
            return worklists.inbox(conn, actor=actor, now=self.clock.now(),
                                   usernames=self._usernames, limit=limit, workflow=workflow,
                                   state=state)

    def overdue(self, *, limit: int = 100, after: tuple[datetime, int] | None = None
                ) -> TaskPage:
        """Open tasks past their deadline, most overdue first, one page; pass a page's
        ``next`` as ``after`` for the following one."""
        with self.db.read() as conn:
            return worklists.overdue(conn, now=self.clock.now(), usernames=self._usernames,
                                     limit=limit, after=after)

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
            parts = [select(tasks.c.instance_id).where(tasks.c.assignee_id == actor.id)]
            for role, scope in actor.roles:
                parts.append(select(tasks.c.instance_id).where(
                    tasks.c.role == role, tasks.c.scope == scope))
            parts.append(select(habits.OBSERVERS.c.instance_id)
                         .where(habits.OBSERVERS.c.user_id == actor.id))
            involved = union(*parts)
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

        Guards are evaluated again on the data as it was, scores and votes are counted
        again; raises InvalidAction where an event does not follow from the ones before.
        """
        with self.db.read() as conn:
            row = store.load_instance(conn, instance_id, lock=False)
            if row is None:
                raise NotFound("instance_not_found", id=instance_id)
            events = store.events_of(conn, instance_id)
        return replay.replay(self.catalog.by_id(row.definition_id), row.id, events)

    def _view(self, conn: Connection, row: Any, entry: Entry, actor: Actor | None,
              *, detail: bool = True, tasks: Sequence[TaskRow] | None = None) -> InstanceView:
        return instance_view.build(conn, row, entry, actor, now=self.clock.now(),
                                   usernames=self._usernames, detail=detail, tasks=tasks)


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise BadRequest("data_not_object", fields={"data": "must be a JSON object"})
    return dict(data)


def _event_view(event: Mapping[str, Any]) -> EventView:
    return EventView(
        seq=event["seq"], at=event["at"], actor=event["actor"],
        on_behalf_of=event["on_behalf_of"], action=event["action"], outcome=event["outcome"],
        from_state=event["from_state"], to_state=event["to_state"], fired=event["fired"],
        target=event["target"], comment=event["comment"], data=event["data"],
        changes=event["changes"], hash=event["hash"], prev_hash=event["prev_hash"],
    )
