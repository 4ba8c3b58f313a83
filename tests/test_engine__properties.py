"""Random sequences of actions by people with overlapping roles keep the engine's promises.

A Hypothesis state machine starts suggestions, projects and awards, acts as users who hold
several roles at once (a department head who is also an expert and a committee member, a
finance clerk who is also an S&T admin, proposers on each other's teams), uses the habits
(transfer, claim, add signer, copy, urge, delegation, batches), tries actions nobody
offered, and moves the clock so timers fire. After every step it checks:

- nobody acted on their own item, except through the owner's actions of the definitions;
- every open task has an eligible holder (or is the engine's one unassigned pooled task
  when nobody eligible holds the role);
- everyone's inbox lists exactly the items where acting's own authorization lets them act
  on a task of the step, as themselves or for the principal it names (nobody named on an
  item sees its tasks), and a page of one is the start of the whole list;
- quorum steps completed with M approvals, scores and votes add up when counted here;
- the audit trail verifies and replays to the stored state.

How the test was checked to catch a missing segregation-of-duties check: in a copy of the
tree, ``authorize`` in ``workflow/authz.py`` had its two lines ``if is_party(actor,
created_by, data): raise Forbidden("own_item", ...)`` commented out. The test then failed on
SQLite and PostgreSQL with "nobody acts on their own item": the S&T admin who decided a
suggestion's reward (and so created its payout) confirmed the payout's list himself.
Hypothesis shrank it to a start and ten actions: submit, department approval, three scores,
adoption, completion, benefit verification, reward decision, list confirmation. Likewise,
dropping the department filter from ``assign.candidates`` (``department is None or
r.department != department``) made "every open task has an eligible holder" fail: an
expert working in the proposer's department got a scoring task. The checked-in engine was
never edited for this.

Run longer, with a random seed: ``INNOFLOW_PROPERTY_EXAMPLES=200 INNOFLOW_PROPERTY_RANDOM=1
pytest tests/test_engine__properties.py``; ``INNOFLOW_PROPERTY_NO_SHRINK=1`` reports a
failure at once instead of shrinking it (which can take minutes).
"""

from __future__ import annotations

import copy
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select, text

from tests.factories import act, make_instance
from workflow import (
    Actor,
    Database,
    Engine,
    FakeClock,
    WorkflowError,
    audit,
    authz,
    catalog,
    delegation,
    org,
    store,
)
from workflow.calendar import WorkingCalendar
from workflow.definition import HABITS, Definition, Step
from workflow.delegation import DELEGATIONS
from workflow.errors import Forbidden, ValidationFailed
from workflow.habits import OBSERVERS
from workflow.habits import SCHEMAS as HABIT_SCHEMAS
from workflow.models import Base
from workflow.store import EVENTS, INSTANCES, LINKS, OUTBOX, TASKS, USERS

EXAMPLES = int(os.environ.get("INNOFLOW_PROPERTY_EXAMPLES", "12"))
STEPS = int(os.environ.get("INNOFLOW_PROPERTY_STEPS", "45"))
RANDOM_SEED = bool(os.environ.get("INNOFLOW_PROPERTY_RANDOM"))

SETTINGS = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    derandomize=not RANDOM_SEED,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate]
    if os.environ.get("INNOFLOW_PROPERTY_NO_SHRINK") else list(Phase),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)

OPEN, WAITING, DONE = "open", "waiting", "done"
MAX_STARTED = 3
UNKNOWN_USER = "nobody_here"
UNKNOWN_ACTION = "launch_rocket"
KINDS = ["act"] * 8 + ["habit"] * 2 + ["unoffered"] * 2 + ["time_passes"] * 2 + [
    "start", "invalid", "batch", "delegate", "revoke"]
"""What a step does, with weights: mostly acting as offered, so items get far."""
HABIT_BY = {name: "owner" if name == "urge" else "step" for name in HABITS}
"""Who may use a habit: the submitter urges; the holders of the step do the rest."""

# ------------------------------------------------------------------ the organisation

DEPARTMENTS = ["smelting", "power", "alumina", "sta_office", "finance_dept"]
FIELDS = ["smelting", "it"]


@dataclass(frozen=True)
class Person:
    username: str
    department: str
    roles: tuple[str, ...]

    @property
    def role_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset((r.partition("@")[0], r.partition("@")[2]) for r in self.roles)

    @property
    def read_only(self) -> bool:
        return "auditor" in self.roles


PEOPLE = [
    # A department head who is also an IT expert and a committee member.
    Person("head_smelting", "smelting", ("dept_head@smelting", "expert@it", "committee_member")),
    Person("head_power", "power", ("dept_head@power", "expert@smelting")),
    # An expert of the smelting field working in the smelting department (recused there).
    Person("expert_smelting_home", "smelting", ("expert@smelting",)),
    Person("expert_smelting_alumina", "alumina", ("expert@smelting", "committee_member")),
    Person("expert_smelting_power", "power", ("expert@smelting",)),
    Person("expert_it_power", "power", ("expert@it", "subcommittee_chair@smelting")),
    Person("expert_it_alumina", "alumina", ("expert@it",)),
    Person("chair_it", "alumina", ("subcommittee_chair@it", "committee_member")),
    Person("office", "sta_office", ("committee_office", "committee_member")),
    Person("office_smelting", "smelting", ("committee_office",)),
    Person("admin", "sta_office", ("sta_admin",)),
    # A finance clerk who is also an S&T admin.
    Person("finance_admin", "finance_dept", ("finance", "sta_admin")),
    Person("finance", "finance_dept", ("finance",)),
    Person("manager", "sta_office", ("general_manager", "committee_member")),
    Person("member_power", "power", ("committee_member",)),
    # Two proposers in different departments who put each other on their teams.
    Person("proposer_smelting", "smelting", ()),
    Person("proposer_power", "power", ()),
    Person("auditor", "finance_dept", ("auditor",)),
]
BY_NAME = {p.username: p for p in PEOPLE}
USERNAMES = [p.username for p in PEOPLE]
PROPOSERS = ["proposer_smelting", "proposer_power"] * 2 + [
             "head_smelting", "expert_smelting_home",
             "office_smelting", "finance_admin", "chair_it", "expert_it_power", "auditor"]
PARTNERS = ["proposer_smelting", "proposer_power", "expert_smelting_alumina", "office",
            "finance", "expert_it_alumina", "member_power", "head_power"]


def build_organisation(conn: Any, now: datetime) -> None:
    for code in DEPARTMENTS:
        org.add_department(conn, code=code, name_zh=code, name_en=code)
    for code in FIELDS:
        org.add_field(conn, code=code, name_zh=code, name_en=code)
    for person in PEOPLE:
        org.add_user(conn, username=person.username, department=person.department,
                     roles=person.roles, password=None, now=now)


# ------------------------------------------------------------------ data from a JSON Schema

TEXT = st.text(alphabet="abcdefgxyz 评审改进0123", min_size=0, max_size=12)


def from_schema(schema: Mapping[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Valid data for the schema subset the definitions use; usernames for user fields."""
    if "enum" in schema:
        return st.sampled_from(list(schema["enum"]))
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "object":
        properties = schema.get("properties") or {}
        required = list(schema.get("required") or [])
        return st.fixed_dictionaries(
            {key: from_schema(properties[key], key) for key in required},
            optional={key: from_schema(sub, key) for key, sub in properties.items()
                      if key not in required},
        )
    if kind == "integer":
        return st.integers(schema.get("minimum", 0), schema.get("maximum", 1000))
    if kind == "array":
        items = schema.get("items") or {}
        low = schema.get("minItems", 0)
        return st.lists(from_schema(items, name), min_size=low,
                        max_size=max(low, min(schema.get("maxItems", 3), 3)))
    if kind == "string":
        return _string(schema, name)
    raise AssertionError(f"no generator for schema {schema!r}")


def _string(schema: Mapping[str, Any], name: str) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "money":
        return st.integers(0, 99_999_999).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")
    if fmt == "date":
        return st.dates(date(2026, 1, 1), date(2028, 12, 31)).map(date.isoformat)
    if fmt == "username" or name in ("to", "username"):
        return st.sampled_from([*USERNAMES, UNKNOWN_USER])
    low, high = schema.get("minLength", 0), min(schema.get("maxLength", 40), 40)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda s: low <= len(s) <= high)
    return st.text(alphabet="abcdefgxyz 评审改进0123", min_size=low, max_size=max(low, high))


# ------------------------------------------------------------------ independent counting


def weighted(step: Step, sheet: Mapping[str, Any]) -> Decimal:
    assert step.scoring is not None
    criteria = step.scoring.criteria
    total = sum((Decimal(c.weight) * Decimal(sheet[c.name]) for c in criteria), Decimal(0))
    return total / sum((Decimal(c.weight) for c in criteria), Decimal(0))


def expected_scores(step: Step, sheets: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Mean (or mean without the highest and lowest) of the experts' weighted scores."""
    assert step.scoring is not None
    scores = sorted(weighted(step, s) for s in sheets)
    counted = scores[1:-1] if step.scoring.aggregate == "trimmed_mean" and len(scores) > 2 \
        else scores
    into = step.scoring.into
    result = {into: sum(counted, Decimal(0)) / len(counted),
              f"{into}_spread": scores[-1] - scores[0], f"{into}_count": len(scores)}
    if step.scoring.spread_limit is not None:
        result[f"{into}_flagged"] = scores[-1] - scores[0] > Decimal(str(
            step.scoring.spread_limit))
    return result


def expected_grade(step: Step, choices: list[str], members: int) -> tuple[str, bool]:
    """The definition's rule: with a quorum of the members voting, the highest option whose
    votes (for it or a higher option) reach its threshold of the votes cast wins."""
    vote = step.vote
    assert vote is not None
    cast = len(choices)
    quorate = members > 0 and Fraction(cast, members) >= Fraction(vote.quorum)
    if not quorate:
        return vote.options[-1], False
    support = 0
    for option in vote.options[:-1]:
        support += choices.count(option)
        if Fraction(support, cast) >= Fraction(vote.thresholds[option]):
            return option, True
    return vote.options[-1], True


# ------------------------------------------------------------------ fresh databases


class FreshDatabases:
    """A new SQLite file per example; on PostgreSQL the fixture's database, emptied."""

    def __init__(self, database: Database, folder: Path) -> None:
        self.database = database
        self.folder = folder
        self.count = 0

    def new(self) -> tuple[Database, bool]:
        if self.database.is_sqlite:
            self.count += 1
            db = Database(f"sqlite:///{self.folder}/example-{self.count}.db")
            db.create_all()
            return db, True
        names = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with self.database.write() as conn:
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return self.database, False


# ------------------------------------------------------------------ the state machine


class ApprovalHabits(RuleBasedStateMachine):
    def __init__(self, databases: FreshDatabases, calendar: WorkingCalendar,
                 start: datetime) -> None:
        super().__init__()
        self.db, self.owned = databases.new()
        self.clock = FakeClock(start)
        self.calendar = calendar
        self.engine = Engine(self.db, clock=self.clock, calendar=calendar)
        self.engine.load_definitions()
        with self.db.write() as conn:
            build_organisation(conn, self.clock.now())
        with self.db.read() as conn:
            self.actors = {name: org.actor_by_username(conn, name) for name in USERNAMES}
        self.names = {a.id: name for name, a in self.actors.items()}
        self.started = 0
        self.live: list[int] = []
        self.all_ids: list[int] = []
        self.delegation_ids: list[tuple[int, str]] = []

    def teardown(self) -> None:
        if self.owned:
            self.db.dispose()

    # -------------------------------------------------------------- helpers

    def actor(self, username: str) -> Actor:
        return self.actors[username]

    def view(self, instance_id: int, username: str) -> Any:
        try:
            return self.engine.get(instance_id, actor=self.actor(username))
        except WorkflowError:
            return None

    def definition(self, instance_id: int) -> Definition:
        with self.db.read() as conn:
            definition_id = conn.execute(select(INSTANCES.c.definition_id)
                                         .where(INSTANCES.c.id == instance_id)).scalar_one()
        return self.engine.catalog.by_id(definition_id).definition

    def snapshot(self, instance_id: int) -> tuple[Any, ...]:
        """Everything an action could change, for "a refused action changes nothing": the
        instance, its tasks and observers, and how many rows every table of the trail has."""
        with self.db.read() as conn:
            row = conn.execute(select(INSTANCES).where(INSTANCES.c.id == instance_id)).one()
            tasks = conn.execute(select(TASKS).where(TASKS.c.instance_id == instance_id)
                                 .order_by(TASKS.c.id)).all()
            observers = conn.execute(select(OBSERVERS.c.user_id)
                                     .where(OBSERVERS.c.instance_id == instance_id)
                                     .order_by(OBSERVERS.c.user_id)).scalars().all()
            counts = tuple(conn.execute(select(*(
                select(func.count()).select_from(table).scalar_subquery()
                for table in (INSTANCES, EVENTS, OUTBOX, LINKS, OBSERVERS, TASKS)))).one())
        return tuple(row), tuple(tuple(t) for t in tasks), tuple(observers), counts

    def version(self, instance_id: int) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(INSTANCES.c.version)
                                    .where(INSTANCES.c.id == instance_id)).scalar_one())

    def likely_users(self, instance_id: int) -> list[str]:
        """People with a reason to act here: the creator, the holders of open tasks, anyone
        holding a pooled task's role (parties too: they must be refused), substitutes."""
        with self.db.read() as conn:
            creator = conn.execute(select(INSTANCES.c.created_by)
                                   .where(INSTANCES.c.id == instance_id)).scalar_one()
            tasks = conn.execute(select(TASKS.c.role, TASKS.c.scope, TASKS.c.assignee_id)
                                 .where(TASKS.c.instance_id == instance_id,
                                        TASKS.c.status == OPEN)).all()
            substitutes = conn.execute(select(DELEGATIONS.c.principal_id,
                                              DELEGATIONS.c.substitute_id)).all()
        found = {self.names[creator]} if creator in self.names else set()
        for role, scope, assignee in tasks:
            if assignee is not None:
                found.add(self.names[assignee])
            else:
                found.update(p.username for p in PEOPLE if (role, scope) in p.role_pairs)
        found.update(self.names[s] for p, s in substitutes if self.names.get(p) in found)
        return sorted(found)

    def pick_user(self, data: st.DataObject, instance_id: int) -> str:
        likely = self.likely_users(instance_id)
        pool = st.sampled_from(likely) if likely else st.sampled_from(USERNAMES)
        return data.draw(st.one_of(pool, pool, pool, st.sampled_from(USERNAMES)), label="user")

    def payload(self, data: st.DataObject, schema: Mapping[str, Any]) -> dict[str, Any]:
        return dict(data.draw(from_schema(schema), label="data"))

    def comment(self, data: st.DataObject, required: bool) -> str | None:
        if required:
            return data.draw(st.text(alphabet="okay 同意退回", min_size=1, max_size=8)
                             .filter(str.strip), label="comment")
        return data.draw(st.none() | TEXT, label="comment")

    def expect_refused(self, instance_id: int, before: tuple[Any, ...], error: Any, *,
                       alone: bool = True) -> None:
        """``alone``: nothing else ran since ``before``, so no table may have grown either."""
        assert isinstance(error, WorkflowError), f"not a WorkflowError: {error!r}"
        after = self.snapshot(instance_id)
        assert after[:3] == before[:3], (
            f"refused with {error.code} {error}, but instance {instance_id} changed")
        assert not alone or after == before, (
            f"refused with {error.code} {error}, but rows were added: {before[3]} -> {after[3]}")

    # -------------------------------------------------------------- the one rule

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        """One step of a kind drawn with weights (one rule, so that Hypothesis's swarm
        testing cannot switch acting off for a whole example)."""
        if not self.live and self.started < MAX_STARTED:
            kind = "start"
        else:
            kind = data.draw(st.sampled_from(KINDS), label="kind")
            if kind == "start" and self.started >= MAX_STARTED:
                kind = "act"
            if kind in ("act", "invalid", "habit", "batch") and not self.live:
                kind = "unoffered"  # everything is final: only refusals are left to check
        getattr(self, kind)(data)

    def start(self, data: st.DataObject) -> None:
        """Start an instance with the definition's example data, proposer and team varied."""
        workflow = data.draw(st.sampled_from(["suggestion", "project", "award"]), label="start")
        proposer = data.draw(st.sampled_from(PROPOSERS), label="proposer")
        partner = data.draw(st.none() | st.sampled_from(PARTNERS), label="team partner")
        field = data.draw(st.sampled_from(FIELDS), label="field")
        definition = self.engine.catalog.newest(workflow).definition
        examples = definition.start_schema["examples"]
        index = data.draw(st.integers(0, len(examples) - 1), label="example")
        values = copy.deepcopy(examples[index])
        values.update(department=BY_NAME[proposer].department, field=field)
        if partner is not None and partner != proposer:
            values["team"] = [{"username": proposer, "share": 60},
                              {"username": partner, "share": 40}]
        if workflow == "project" and partner is not None:
            values["lead"] = data.draw(st.sampled_from([proposer, partner]), label="lead")
        elif workflow == "project":
            values["lead"] = proposer
        who = self.actor(proposer)
        count = self.instance_count()
        try:
            view = self.engine.start(workflow, actor=who, data=values)
        except WorkflowError as exc:
            assert BY_NAME[proposer].read_only, f"start refused for {proposer}: {exc}"
            assert self.instance_count() == count
            return
        assert not BY_NAME[proposer].read_only, "an auditor started an instance"
        self.started += 1
        self.live.append(view.id)
        self.all_ids.append(view.id)
        if data.draw(st.booleans(), label="submit at once"):
            self.engine.act(view.id, "submit", actor=who, expected_version=view.version)

    def instance_count(self) -> int:
        with self.db.read() as conn:
            return int(conn.execute(select(func.count()).select_from(INSTANCES)).scalar_one())

    def act(self, data: st.DataObject) -> None:
        """A few actions the engine offers, with data valid for their schemas; the
        invariants are checked after each one."""
        for n in range(data.draw(st.integers(1, 4), label="actions")):
            if n:
                self.promises_hold()
            if not self.live:
                return
            self.act_once(data)

    def act_once(self, data: st.DataObject) -> None:
        instance_id = data.draw(st.sampled_from(self.live), label="instance")
        offers = {}
        for username in self.likely_users(instance_id):
            view = self.view(instance_id, username)
            if view is not None and view.actions:
                offers[username] = view
        if not offers:
            return
        username = data.draw(st.sampled_from(sorted(offers)), label="user")
        view = offers[username]
        forward = [a.name for a in view.actions for _ in range(
            6 if a.outcome in ("approve", "submit") else 1)]
        offered = data.draw(st.sampled_from(forward), label="action")
        action = next(a for a in view.actions if a.name == offered)
        payload = self.payload(data, action.schema)
        comment = self.comment(data, action.requires_comment)
        before = self.snapshot(instance_id)
        try:
            after = self.engine.act(instance_id, offered, actor=self.actor(username),
                                    comment=comment, data=payload,
                                    expected_version=view.version)
        except WorkflowError as exc:
            # Offered, with valid data: only guards and habit targets may still say no.
            assert exc.code in ("invalid_action", "validation_failed"), (
                f"{username} was offered {offered} on {instance_id} ({view.state}) "
                f"but got {exc.code}: {exc}")
            self.expect_refused(instance_id, before, exc)
            return
        assert after.version == view.version + 1

    def unoffered(self, data: st.DataObject) -> None:
        """Anything the engine did not offer the user is refused cleanly and changes nothing."""
        instance_id = data.draw(st.sampled_from(self.all_ids), label="instance")
        username = data.draw(st.sampled_from(USERNAMES), label="user")
        view = self.view(instance_id, username)
        offered = {a.name for a in view.actions} if view is not None else set()
        definition = self.definition(instance_id)
        names = sorted({*definition.action_names(), *HABITS, UNKNOWN_ACTION} - offered)
        action = data.draw(st.sampled_from(names), label="action")
        state = self.engine.get(instance_id, actor=Actor.system()).state
        specs = definition.transitions_for(state, action)
        schema = HABIT_SCHEMAS.get(action) or (specs[0].schema if specs else {})
        payload = self.payload(data, schema) if schema else {}
        before = self.snapshot(instance_id)
        try:
            self.engine.act(instance_id, action, actor=self.actor(username),
                            comment="unoffered", data=payload,
                            expected_version=self.version(instance_id))
        except WorkflowError as exc:
            self.expect_refused(instance_id, before, exc)
            return
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{action} by {username} raised {exc!r}") from exc
        # Only an idempotent repeat may answer without an error, and then it changes nothing.
        assert any(t.idempotency_key for t in definition.transitions if t.action == action), (
            f"{username} did {action} on {instance_id} ({state}) without being offered it")
        assert self.snapshot(instance_id) == before

    def invalid(self, data: st.DataObject) -> None:
        """An offered action without a required field (or comment) is refused cleanly."""
        instance_id = data.draw(st.sampled_from(self.live), label="instance")
        username = self.pick_user(data, instance_id)
        view = self.view(instance_id, username)
        broken = [a for a in view.actions if a.schema.get("required") or a.requires_comment] \
            if view is not None else []
        if not broken:
            return
        action = data.draw(st.sampled_from(broken), label="action")
        payload = self.payload(data, action.schema)
        required = list(action.schema.get("required") or [])
        drop = data.draw(st.sampled_from([*required, None]) if action.requires_comment
                         else st.sampled_from(required), label="dropped")
        payload.pop(drop, None)
        before = self.snapshot(instance_id)
        try:
            self.engine.act(instance_id, action.name, actor=self.actor(username),
                            comment=None if drop is None else "see attachment", data=payload,
                            expected_version=view.version)
        except WorkflowError as exc:
            assert exc.code == "validation_failed", f"{action.name}: {exc.code} {exc}"
            self.expect_refused(instance_id, before, exc)
            return
        raise AssertionError(f"{action.name} without {drop or 'comment'} was accepted")

    def habit(self, data: st.DataObject) -> None:
        """A habit with a random target by a likely user: done if offered, else refused."""
        habit = data.draw(st.sampled_from(["transfer", "add_signer", "copy", "claim",
                                           "release", "remove_signer", "urge"]), label="habit")
        instance_id = data.draw(st.sampled_from(self.live), label="instance")
        username = self.pick_user(data, instance_id)
        view = self.view(instance_id, username)
        offered = view is not None and habit in {a.name for a in view.actions}
        payload = self.payload(data, HABIT_SCHEMAS[habit])
        before = self.snapshot(instance_id)
        try:
            self.engine.act(instance_id, habit, actor=self.actor(username),
                            comment=self.comment(data, habit == "transfer"), data=payload)
        except WorkflowError as exc:
            if offered:
                assert exc.code in ("invalid_action", "validation_failed"), (
                    f"{habit} offered to {username} but {exc.code}: {exc}")
            self.expect_refused(instance_id, before, exc)
            return
        assert offered, f"{username} used {habit} on {instance_id} without being offered it"

    def batch(self, data: st.DataObject) -> None:
        """Batch approval from the inbox: each item its own transaction and audit event."""
        username = data.draw(st.sampled_from([p.username for p in PEOPLE if p.roles]),
                             label="user")
        views = [v for v in (self.view(i, username) for i in self.live) if v is not None]
        choices = sorted({(v.workflow, v.state, a.name) for v in views for a in v.actions
                          if a.outcome == "approve"})
        if not choices:
            return
        workflow, state, name = data.draw(st.sampled_from(choices), label="batch")
        chosen = [v for v in views if (v.workflow, v.state) == (workflow, state)
                  and name in {a.name for a in v.actions}]
        others = sorted(v.id for v in views if v not in chosen)
        extra = data.draw(st.lists(st.sampled_from(others), max_size=1) if others
                          else st.just([]), label="not offered")
        chosen += [v for v in views if v.id in extra]
        schema = next(a.schema for a in chosen[0].actions if a.name == name)
        payload = self.payload(data, schema)
        before = {v.id: self.snapshot(v.id) for v in chosen}
        results = self.engine.act_many([(v.id, v.version) for v in chosen], name,
                                       actor=self.actor(username), comment="batch",
                                       data=payload)
        versions = {v.id: v.version for v in chosen}
        for result in results:
            if result.ok:
                assert self.version(result.instance_id) == versions[result.instance_id] + 1
            else:
                self.expect_refused(result.instance_id, before[result.instance_id],
                                    result.error, alone=False)

    def delegate(self, data: st.DataObject) -> None:
        principal = data.draw(st.sampled_from(USERNAMES), label="principal")
        substitute = data.draw(st.sampled_from([*USERNAMES, UNKNOWN_USER]), label="substitute")
        starts = self.clock.now() + timedelta(hours=data.draw(st.integers(-24, 72),
                                                              label="starts in hours"))
        ends = starts + timedelta(hours=data.draw(st.integers(1, 240), label="hours"))
        try:
            made = self.engine.delegate(actor=self.actor(principal), substitute=substitute,
                                        starts_at=starts, ends_at=ends)
        except WorkflowError as exc:
            assert substitute in (principal, UNKNOWN_USER, "auditor") or principal == "auditor" \
                or ends <= self.clock.now(), f"delegation refused: {exc}"
            return
        assert substitute != principal
        self.delegation_ids.append((made.id, principal))

    def revoke(self, data: st.DataObject) -> None:
        if not self.delegation_ids:
            return
        delegation_id, principal = data.draw(st.sampled_from(self.delegation_ids), label="which")
        who = data.draw(st.sampled_from([principal, principal, *USERNAMES]), label="by")
        try:
            self.engine.revoke_delegation(delegation_id, actor=self.actor(who))
        except WorkflowError:
            assert who != principal
            return
        assert who == principal

    def time_passes(self, data: st.DataObject) -> None:
        self.clock.advance(hours=data.draw(st.integers(1, 24 * 8), label="hours pass"))
        assert self.engine.fire_due_timers() >= 0

    # -------------------------------------------------------------- invariants

    @invariant()
    def promises_hold(self) -> None:
        with self.db.read() as conn:
            instances = conn.execute(select(INSTANCES).order_by(INSTANCES.c.id)).all()
            events: dict[int, list[Any]] = defaultdict(list)
            for event in conn.execute(select(EVENTS).order_by(EVENTS.c.instance_id,
                                                              EVENTS.c.seq)).mappings():
                events[event["instance_id"]].append(event)
            tasks: dict[int, list[Any]] = defaultdict(list)
            for task in conn.execute(select(TASKS).order_by(TASKS.c.id)):
                tasks[task.instance_id].append(task)
            delegations = conn.execute(select(DELEGATIONS)).all()
            active = {r.id for r in conn.execute(select(USERS.c.id).where(USERS.c.active))}
            checked, broken = audit.verify(conn)
        assert broken is None, f"audit chain broken: {broken}"
        assert checked == sum(len(e) for e in events.values())
        for row in instances:
            definition = self.engine.catalog.by_id(row.definition_id).definition
            history = events[row.id]
            creator = self.names[row.created_by]
            parties = authz.parties(row.data) | authz.parties(
                {**history[0]["data"], **history[0]["changes"]}) | {creator}
            no_one_acted_on_their_own_item(row, definition, history, creator, parties)
            substitutes_were_delegated(row, history, delegations, self.names)
            # Tasks are given and acted on by whom the item names now: a revision may have
            # taken someone off the team that was first submitted.
            named_now = authz.parties(row.data) | {creator}
            every_open_task_has_an_eligible_holder(row, definition, tasks[row.id], named_now,
                                                   self.names, active)
            steps_completed_by_their_rules(row, definition, history, tasks[row.id])
            urged_at_most_once_a_day(row, history, self.calendar)
            replayed = self.engine.replay(row.id)
            assert replayed == (row.state, row.data), (
                f"instance {row.id}: replay gives {replayed!r}, stored {row.state!r} "
                f"{row.data!r}")
        self.all_ids = [row.id for row in instances]
        self.live = [row.id for row in instances
                     if not self.engine.catalog.by_id(row.definition_id)
                     .definition.states[row.state].final]
        inbox_lists_what_acting_allows(self.engine, self.actors, self.live)


# ------------------------------------------------------------------ the invariants


def _by(definition: Definition, event: Mapping[str, Any]) -> str:
    """Who the definition lets do this event's action: owner, step, anyone or system."""
    if event["action"] in HABITS:
        return HABIT_BY[event["action"]]
    specs = definition.transitions_for(event["from_state"], event["action"])
    assert specs, f"event {event['seq']}: {event['action']} is not declared from " \
                  f"{event['from_state']}"
    return specs[0].by


def _people(event: Mapping[str, Any]) -> set[str]:
    return {p for p in (event["actor"], event["on_behalf_of"]) if p}


def no_one_acted_on_their_own_item(row: Any, definition: Definition, history: list[Any],
                                   creator: str, parties: frozenset[str]) -> None:
    where = f"instance {row.id} ({row.workflow})"
    assert history[0]["actor"] in (creator, "system"), f"{where}: started by someone else"
    for event in history[1:]:
        by = _by(definition, event)
        what = (f"{where} event {event['seq']}: {event['actor']} (for "
                f"{event['on_behalf_of']}) did {event['action']} in {event['from_state']}")
        if by == "owner":
            assert event["actor"] == creator and not event["on_behalf_of"], \
                f"{what}, which only the owner {creator} may do"
        elif by == "system":
            assert event["actor"] == "system", f"{what}, which only a timer does"
        else:
            own = _people(event) & parties
            assert not own, (f"nobody acts on their own item: {what}, but {sorted(own)} "
                             f"created it or is named on it ({sorted(parties)})")
        specs = definition.transitions_for(event["from_state"], event["action"])
        earlier_actions = specs[0].not_by_actors_of if specs else ()
        if earlier_actions:
            earlier = {p for e in history if e["seq"] < event["seq"]
                       and e["action"] in earlier_actions for p in _people(e)}
            assert not _people(event) & earlier, \
                f"{what}, but they already did one of {earlier_actions}"


def substitutes_were_delegated(row: Any, history: list[Any], delegations: Iterable[Any],
                               names: Mapping[int, str]) -> None:
    for event in history:
        if not event["on_behalf_of"]:
            continue
        assert any(names[d.principal_id] == event["on_behalf_of"]
                   and names[d.substitute_id] == event["actor"]
                   and d.created_at <= event["at"]
                   and (d.revoked_at is None or d.revoked_at > event["at"])
                   for d in delegations), (
            f"instance {row.id} event {event['seq']}: {event['actor']} acted for "
            f"{event['on_behalf_of']} without a delegation in force")


def every_open_task_has_an_eligible_holder(row: Any, definition: Definition, tasks: list[Any],
                                           parties: frozenset[str], names: Mapping[int, str],
                                           active: set[int]) -> None:
    state = definition.states[row.state]
    step = state.step
    where = f"instance {row.id} ({row.workflow}, {row.state})"
    creator_department = BY_NAME[names[row.created_by]].department
    recused_department = creator_department if step is not None and step.recuse_department \
        else None

    active_names = {names[i] for i in active}

    def eligible(person: Person) -> bool:
        return (person.username in active_names and not person.read_only
                and person.username not in parties and person.department != recused_department)

    pending = [t for t in tasks if t.status in (OPEN, WAITING)]
    for task in pending:
        assert (task.state, task.visit) == (row.state, row.state_visit), \
            f"{where}: task {task.id} of {task.state} (visit {task.visit}) is still {task.status}"
        assert step is not None, f"{where}: a task is open in a state without a step"
        if task.role == "owner":
            assert step.mode == "owner" and task.assignee_id == row.created_by, \
                f"{where}: the owner's task {task.id} is held by someone else"
            continue
        if task.assignee_id is not None:
            assert task.assignee_id in active, f"{where}: task {task.id} held by an inactive user"
            holder = BY_NAME[names[task.assignee_id]]
            assert eligible(holder), (
                f"every open task has an eligible holder: {where}: task {task.id} "
                f"({task.kind}) is held by {holder.username} of {holder.department}; parties "
                f"{sorted(parties)}, recused department {recused_department}")
            if task.kind == "step":
                assert (task.role, task.scope) in holder.role_pairs, \
                    f"{where}: {holder.username} holds task {task.id} without {task.role}"
            continue
        if task.status != OPEN:
            continue
        holders = [p.username for p in PEOPLE if (task.role, task.scope) in p.role_pairs
                   and eligible(p)]
        if holders:
            continue
        # Nobody eligible holds the role: the engine opens one unassigned pooled task and
        # leaves it there (the owner may still withdraw or wait for the role to be given).
        visit = [t for t in tasks if t.visit == row.state_visit and t.kind == "step"]
        assert task.pooled and task.kind == "step" and len(visit) == 1, (
            f"{where}: task {task.id} for {task.role}@{task.scope} has no eligible holder "
            f"and is not the engine's single pooled task")
    if step is None or step.mode not in ("any", "all", "quorum"):
        return
    visit = [t for t in tasks if t.visit == row.state_visit and t.kind == "step"]
    assignee = step.assignees[0]
    scope = str(row.data.get(assignee.scope_from) or "") if assignee.scope_from \
        else assignee.scope
    holders = [p for p in PEOPLE if (assignee.role, scope) in p.role_pairs and eligible(p)]
    wanted = min(step.experts or len(holders), len(holders)) or 1
    assert len(visit) == wanted, (
        f"{where}: {len(visit)} tasks for {assignee.role}@{scope}, expected {wanted} of the "
        f"eligible {[p.username for p in holders]}")


def acting_allows(engine: Engine, actors: Mapping[str, Actor], live: Iterable[int]
                  ) -> dict[str, dict[int, str | None]]:
    """Per person, the items where the authorization ``Engine.act`` runs
    (``delegation.authorize``) lets them act on a task of the current step, and for whom
    (None: themselves). A step's actions share who may take them (its tasks' holders, or
    the owner for an owner's step), so the first one not refused decides."""
    allowed: dict[str, dict[int, str | None]] = {name: {} for name in actors}
    with engine.db.read() as conn:
        for instance_id in live:
            row = store.load_instance(conn, instance_id, lock=False)
            definition = engine.catalog.by_id(row.definition_id).definition
            step = definition.states[row.state].step
            if step is None:
                continue
            by = "owner" if step.mode == "owner" else "step"
            specs = [spec for spec in (definition.transitions_for(row.state, name)[0]
                                       for name in definition.actions_from(row.state))
                     if spec.by == by]
            tasks = store.step_tasks(conn, row.id, row.state_visit)
            for name, who in actors.items():
                for spec in specs:
                    try:
                        task, principal = delegation.authorize(conn, spec, who, row, tasks)
                    except Forbidden:
                        continue
                    if task is not None:
                        allowed[name][row.id] = principal.username if principal else None
                    break
    return allowed


def inbox_lists_what_acting_allows(engine: Engine, actors: Mapping[str, Actor],
                                   live: Iterable[int]) -> None:
    allowed = acting_allows(engine, actors, live)
    for name, who in actors.items():
        tasks = engine.inbox(actor=who, limit=1000)
        listed: dict[int, str | None] = {}
        for task in tasks:
            first = listed.setdefault(task.instance_id, task.on_behalf_of)
            assert first == task.on_behalf_of, \
                f"{name}'s inbox lists instance {task.instance_id} for two people"
        assert listed == allowed[name], (
            f"{name}'s inbox lists {listed} (instance: for whom), but acting allows "
            f"{allowed[name]}")
        if tasks:
            assert [t.id for t in engine.inbox(actor=who, limit=1)] == [tasks[0].id], \
                f"{name}'s page of one is not the start of the whole list"


def _visits(history: list[Any]) -> list[tuple[int, Any]]:
    """(the seq that entered the state, the event that completed its step) per completion."""
    entered: dict[str, int] = {}
    done = []
    for event in history:
        if event["seq"] == 1 or event["fired"]:
            if event["fired"]:
                done.append((entered.get(event["from_state"], 1), event))
            entered[event["to_state"]] = event["seq"]
    return done


def steps_completed_by_their_rules(row: Any, definition: Definition, history: list[Any],
                                   tasks: list[Any]) -> None:
    for start, finish in _visits(history):
        step = definition.states[finish["from_state"]].step
        if step is None or finish["outcome"] != "approve" or step.mode == "owner":
            continue
        where = f"instance {row.id} ({row.workflow}) step {finish['from_state']} (visit {start})"
        approvals = [e for e in history if start < e["seq"] <= finish["seq"]
                     and e["from_state"] == finish["from_state"] and e["outcome"] == "approve"]
        voters = [e["on_behalf_of"] or e["actor"] for e in approvals]
        assigned = [t for t in tasks if t.visit == start and t.kind == "step"]
        if step.mode in ("any", "all", "quorum"):
            assert len(set(voters)) == len(voters), f"{where}: someone counted twice: {voters}"
        if step.mode == "quorum":
            assert len(approvals) >= min(step.quorum or 1, len(assigned)), (
                f"{where}: completed with {len(approvals)} approvals; quorum {step.quorum} of "
                f"{len(assigned)} assigned")
        if step.mode == "all":
            assert len(approvals) >= len(assigned), \
                f"{where}: completed with {len(approvals)} of {len(assigned)} approvals"
        if step.scoring is not None:
            expected = expected_scores(step, [e["data"] for e in approvals])
            for key, value in expected.items():
                recorded = finish["changes"].get(key)
                close = recorded == value if isinstance(value, bool | int) else \
                    abs(Decimal(str(recorded)) - value) <= Decimal("0.01")
                assert close, f"{where}: {key} recorded {recorded}, counted {value}"
        if step.vote is not None:
            members = sum(1 for p in PEOPLE if (step.assignees[0].role, "") in p.role_pairs)
            choices = [e["data"]["choice"] for e in approvals]
            grade, quorate = expected_grade(step, choices, members)
            into = step.vote.into
            assert (finish["changes"].get(into), finish["changes"].get(f"{into}_quorate")) == \
                (grade, quorate), (f"{where}: votes {choices} of {members} members give "
                                   f"{grade} (quorate {quorate}), recorded "
                                   f"{finish['changes'].get(into)}")


def urged_at_most_once_a_day(row: Any, history: list[Any], calendar: WorkingCalendar) -> None:
    seen: set[tuple[int, date]] = set()
    visit = 1
    for event in history:
        if event["fired"]:
            visit = event["seq"]
        if event["action"] != "urge":
            continue
        day = calendar.local_day(event["at"])
        while not calendar.is_workday(day):
            day += timedelta(days=1)
        assert (visit, day) not in seen, f"instance {row.id}: urged twice on {day}"
        seen.add((visit, day))


# ------------------------------------------------------------------ the test


def test_engine__random_habits_keep_every_promise(database: Database, tmp_path: Path,
                                                  calendar: WorkingCalendar, clock: FakeClock,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = catalog.load_folder(catalog.default_folder())  # once, not once per example
    monkeypatch.setattr(catalog, "load_folder", lambda _folder: parsed)
    databases = FreshDatabases(database, tmp_path)
    start = clock.now()
    run_state_machine_as_test(lambda: ApprovalHabits(databases, calendar, start),
                              settings=SETTINGS)


def test_engine__a_member_who_voted_is_never_handed_a_second_vote(engine: Engine,
                                                                  actor: Any) -> None:
    """Found by the state machine: a committee member transferred his vote to a member who
    had already voted, who then voted twice."""
    view = make_instance(engine, actor("demo_proposer"), "award")
    view = act(engine, view, "pass_formal_review", actor("sta_admin"))
    for name in ("expert_it_1", "expert_it_2"):
        view = act(engine, view, "score", actor(name))
    view = act(engine, view, "propose_grade", actor("chair_it"))
    assert view.state == "under_committee_vote"
    view = act(engine, view, "vote", actor("committee_member"))
    with pytest.raises(ValidationFailed) as caught:
        engine.act(view.id, "transfer", actor=actor("committee_member_2"), comment="away",
                   data={"to": "committee_member"})
    assert "to" in caught.value.fields
    assert engine.get(view.id, actor=actor("committee_member")).version == view.version
