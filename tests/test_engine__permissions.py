"""The permission matrix: every definition × state × action × kind of actor, as one test.

The expectation is worked out here from the definition files and the demo organisation
(declared transitions, ``by``, the step's roles and scopes, parties, auditors, the system
actor, ``not_by_actors_of``, guards), never from the engine's own authorization code.
Each state is reached by a recipe found by a breadth-first walk over the declared
transitions, starting from the examples the definitions declare.

A rejected action must write nothing, so every rejection for one state is tried on the
same instance and compared with a dump taken when it was built (an instance that changed
is dropped and built again). Every action expected to succeed gets an instance of its own.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import or_, select

from tests.conftest import BACKENDS, MONDAY_MORNING, POSTGRES_URL
from workflow import Actor, Database, Engine, FakeClock, WorkflowError, budgets, demo, org
from workflow.calendar import WorkingCalendar
from workflow.definition import Definition, Step, Transition, default_folder, load_folder
from workflow.models import Base
from workflow.store import EVENTS, INSTANCES, LINKS, OUTBOX, TASKS
from workflow.views import EventView, InstanceView

DEFINITIONS: dict[str, Definition] = {d.name: d for d in load_folder(default_folder())[0]}

OWNER, TEAM_MEMBER, UNRELATED, SYSTEM = "demo_proposer", "demo_colleague", "power_engineer", \
    "system"
ROLE_USERS = ("head_smelting", "expert_smelting_1", "chair_smelting", "committee_office",
              "committee_member", "sta_admin", "finance", "general_manager", "auditor",
              "expert_it_1", "chair_it")
"""The demo role users; the last two hold the award example's field (it), the others not."""
KINDS = ("owner", "team_member", "unrelated", *ROLE_USERS, "system")

TEAM = [{"username": OWNER, "share": 60}, {"username": TEAM_MEMBER, "share": 40}]
COMMENT = "Reason given for the permission matrix."

ROLES_OF: dict[str, frozenset[tuple[str, str]]] = {
    username: frozenset((r.partition("@")[0], r.partition("@")[2]) for r in roles)
    for username, _name, _department, roles in demo.USERS
}
DEPARTMENT_OF = {username: department for username, _name, department, _roles in demo.USERS}
POOL = [*ROLES_OF, SYSTEM]
"""Who the walk may pick to move an instance on: every demo user, then the system."""

OK, FORBIDDEN, INVALID = "ok", "forbidden", "invalid_action"


# ------------------------------------------------------------------ the expectation


@dataclass(frozen=True)
class Facts:
    """What an instance is, as read back: owner, data and its audit history."""

    owner: str
    data: Mapping[str, Any]
    history: tuple[EventView, ...]
    assigned: frozenset[str] = frozenset()
    """Who holds an open task of the current step personally."""

    @property
    def parties(self) -> set[str]:
        names = {self.owner}
        for key in ("team", "lines"):
            names |= {m["username"] for m in self.data.get(key) or [] if m.get("username")}
        names |= {str(self.data[k]) for k in ("lead", "proposer") if self.data.get(k)}
        return names

    @property
    def approved(self) -> bool:
        return any(e.outcome == "approve" for e in self.history)

    def returned_from(self, definition: Definition) -> str | None:
        found = None
        revision = {t.source for t in definition.transitions if _calls(t, "came_from")}
        for e in self.history:
            if not e.fired:
                continue
            if e.outcome == "return" and e.to_state in revision:
                found = e.from_state
            elif any(_calls(t, "came_from") for t in
                     definition.transitions_for(e.from_state or "", e.action)):
                found = None
        return found

    def actors_of(self, actions: tuple[str, ...]) -> set[str]:
        return {e.actor for e in self.history if e.action in actions}


def _calls(transition: Transition, name: str) -> bool:
    return any(c.name == name for c in transition.conditions)


def step_people(step: Step | None, facts: Facts) -> set[str]:
    """Who may act on the step when the instance arrives in the state: holders of the
    (first) role in its scope, never a party; a step that gives each person a task of
    their own also recuses the creator's department when it says so, and assigns only
    ``experts`` of them when there are more (which ones is the instance's draw)."""
    if step is None or step.mode == "owner":
        return set()
    assignee = step.assignees[0]
    scope = str(facts.data.get(assignee.scope_from) or "") if assignee.scope_from \
        else assignee.scope
    people = {user for user, roles in ROLES_OF.items()
              if (assignee.role, scope) in roles} - facts.parties
    if step.mode in ("any", "all", "quorum"):
        if step.recuse_department:
            people = {u for u in people if DEPARTMENT_OF[u] != DEPARTMENT_OF[facts.owner]}
        if step.experts is not None and len(people) > step.experts:
            assert len(facts.assigned) == step.experts and facts.assigned <= people, \
                f"{sorted(facts.assigned)} are not {step.experts} of {sorted(people)}"
            people = set(facts.assigned)
    return people


def may_act(definition: Definition, state: str, spec: Transition, who: str,
            facts: Facts) -> bool:
    if who == SYSTEM or spec.by == "system":
        return who == SYSTEM and spec.by == "system"
    if any(role == "auditor" for role, _ in ROLES_OF[who]):
        return False
    if spec.by == "owner":
        allowed = who == facts.owner
    elif who in facts.parties:
        return False
    elif spec.by == "step":
        allowed = who in step_people(definition.states[state].step, facts)
    else:
        allowed = True
    return allowed and who not in facts.actors_of(spec.not_by_actors_of)


def _guard_holds(name: str, params: Mapping[str, Any], facts: Facts, state_of: dict[str, Any]
                 ) -> bool:
    data = facts.data
    if name == "amount_above":
        return params["field"] in data and Decimal(data[params["field"]]) > Decimal(
            params["limit"])
    if name == "amount_at_most":
        return params["field"] in data and Decimal(data[params["field"]]) <= Decimal(
            params["limit"])
    if name == "field_equals":
        return bool(data.get(params["field"]) == params["value"])
    if name == "field_in":
        return data.get(params["field"]) in params["values"]
    if name == "number_at_least":
        value = data.get(params["field"])
        return isinstance(value, int | float) and value >= params["min"]
    if name == "within_budget":
        found = data.get("budget_check")
        return not isinstance(found, Mapping) or bool(found.get("within", True))
    if name == "not_yet_approved":
        return not facts.approved
    if name == "came_from":
        return state_of["returned_from"] == params["state"]
    if name == "chosen_target":
        return state_of["target"] == params["state"]
    raise AssertionError(f"the matrix does not know the guard {name!r}")


def first_passing(candidates: tuple[Transition, ...], facts: Facts, definition: Definition,
                  target: str | None) -> Transition | None:
    state_of = {"returned_from": facts.returned_from(definition), "target": target}
    for t in candidates:
        if all(_guard_holds(c.name, c.params, facts, state_of) for c in t.conditions) and \
                not any(_guard_holds(c.name, c.params, facts, state_of) for c in t.unless):
            return t
    return None


def targets(candidates: tuple[Transition, ...]) -> list[str]:
    return [c.params["state"] for t in candidates for c in t.conditions
            if c.name == "chosen_target"]


def expect(definition: Definition, state: str, action: str, who: str, facts: Facts
           ) -> tuple[str, str | None]:
    """(ok, the state it ends in) or (the error code, None)."""
    candidates = definition.transitions_for(state, action)
    if not candidates:
        return INVALID, None
    spec = candidates[0]
    if not may_act(definition, state, spec, who, facts):
        return FORBIDDEN, None
    step = definition.states[state].step
    if spec.by == "step" and step is not None and not completes(step, spec, facts):
        return OK, state
    if spec.by == "step" and step is not None and spec.outcome == "approve" and (
            step.scoring or step.vote):
        return OK, None  # the scores or votes of the step decide where it goes
    chosen = targets(candidates)
    fired = first_passing(candidates, facts, definition, chosen[0] if chosen else None)
    if fired is None:
        return INVALID, None
    return OK, fired.dest


def completes(step: Step, spec: Transition, facts: Facts) -> bool:
    """Whether one decision on a step that was just entered decides it: one approval does
    in single and 或签 steps; 会签 and 依次 need everyone; M of N needs M approvals, and a
    refusal decides there only once M can no longer be reached."""
    if step.mode == "sequential":
        return len(step.assignees) == 1 or spec.outcome != "approve"
    if step.mode not in ("all", "quorum"):
        return True
    count = max(len(step_people(step, facts)), 1)
    quorum = step.quorum or 1
    if spec.outcome == "approve":
        return count == 1 if step.mode == "all" else quorum <= 1 or count == 1
    return step.mode == "all" or count - 1 < quorum


def payload(definition: Definition, state: str, action: str) -> dict[str, Any]:
    """The action's example data, and the first return target when the actor picks one."""
    candidates = definition.transitions_for(state, action)
    if not candidates:
        return {}
    data = copy.deepcopy(dict((candidates[0].schema.get("examples") or [{}])[0]))
    chosen = targets(candidates)
    if chosen:
        data["to_state"] = chosen[0]
    return data


# ------------------------------------------------------------------ reaching every state


@dataclass(frozen=True)
class Recipe:
    """How to reach a state: which start example, then (action, actors) moves."""

    workflow: str
    example: int
    moves: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass
class Cached:
    """An instance in one state, tried by every rejected case of that state."""

    id: int
    rows: dict[str, Any]
    facts: Facts
    offered: dict[str, set[str]] = field(default_factory=dict)


@dataclass
class World:
    """One database with the demo organisation, and what was learned about it."""

    engine: Engine
    actors: dict[str, Actor] = field(default_factory=dict)
    recipes: dict[str, dict[str, Recipe]] = field(default_factory=dict)
    cached: dict[tuple[str, str], Cached] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    project_id: int | None = None

    def actor(self, username: str) -> Actor:
        if username == SYSTEM:
            return Actor.system()
        if username not in self.actors:
            with self.engine.db.read() as conn:
                self.actors[username] = org.actor_by_username(conn, username)
        return self.actors[username]

    def facts(self, instance_id: int) -> Facts:
        view = self.engine.get(instance_id, actor=Actor.system())
        history = tuple(self.engine.history(instance_id, actor=Actor.system())[1:])
        assigned = frozenset(t.assignee for t in view.tasks
                             if t.assignee and t.status == "open")
        return Facts(view.created_by, view.data, history, assigned)

    def act(self, instance_id: int, action: str, who: str, data: Mapping[str, Any]
            ) -> InstanceView:
        return self.engine.act(instance_id, action, actor=self.actor(who), comment=COMMENT,
                               data=dict(data))

    # -- starting an instance, with what it needs first

    def start(self, workflow: str, example: int) -> int:
        if workflow == "payout":
            return self._payout(over_budget=example == 1)
        definition = DEFINITIONS[workflow]
        data = copy.deepcopy(dict(definition.start_schema["examples"][example]))
        if "team" in definition.start_schema["properties"]:
            data["team"] = copy.deepcopy(TEAM)
        if workflow == "acceptance":
            data["project_id"] = self._established_project()
        return self.engine.start(workflow, actor=self.actor(OWNER), data=data).id

    def _established_project(self) -> int:
        """One established project of the owner, for every acceptance to point to."""
        if self.project_id is None:
            self.project_id, state = self.build(self.explore("project")["established"])
            assert state == "established"
        return self.project_id

    def _payout(self, *, over_budget: bool) -> int:
        """A payout spawned by an award whose objection was dismissed; over the company's
        reward budget of the year if asked (the budget is set just for that moment)."""
        award, _state = self.build(self.explore("award")["under_objection_review"])
        facts = self.facts(award)
        definition = DEFINITIONS["award"]
        who = next(p for p in POOL if expect(definition, "under_objection_review",
                                             "dismiss_objection", p, facts)[0] == OK)
        year = self.engine.clock.now().year
        if over_budget:
            self._budget(year, "1.00")
        try:
            view = self.act(award, "dismiss_objection", who,
                            payload(definition, "under_objection_review", "dismiss_objection"))
        finally:
            if over_budget:
                self._budget(year, "999999999999.00")
        assert view.state == "approved", view.state
        return view.links["payout"][0]

    def _budget(self, year: int, amount: str) -> None:
        budgets.set_budget(self.engine.db, actor=self.actor("sta_admin"), year=year,
                           department=budgets.COMPANY, amount=amount,
                           now=self.engine.clock.now())

    # -- recipes

    def build(self, recipe: Recipe) -> tuple[int, str]:
        instance_id = self.start(recipe.workflow, recipe.example)
        state = ""
        for action, people in recipe.moves:
            for who in people:
                state = self._act_as_expected(instance_id, action, who)
        if not recipe.moves:
            state = self.engine.get(instance_id, actor=Actor.system()).state
        return instance_id, state

    def _act_as_expected(self, instance_id: int, action: str, who: str) -> str:
        view = self.engine.get(instance_id, actor=Actor.system())
        definition = DEFINITIONS[view.workflow]
        verdict, _dest = expect(definition, view.state, action, who, self.facts(instance_id))
        assert verdict == OK, f"{who} may not {action} in {view.state}"
        return self.act(instance_id, action, who, payload(definition, view.state, action)).state

    def advance(self, recipe: Recipe, action: str) -> Recipe | None:
        """The recipe extended by ``action``, done by each permitted actor in turn until the
        state changes (all of a 会签 step score); None when nobody may."""
        instance_id, state = self.build(recipe)
        definition = DEFINITIONS[recipe.workflow]
        people: list[str] = []
        while True:
            facts = self.facts(instance_id)
            who = next((p for p in POOL if p not in people and
                        expect(definition, state, action, p, facts)[0] == OK), None)
            if who is None:
                return None
            people.append(who)
            new_state = self.act(instance_id, action, who,
                                 payload(definition, state, action)).state
            if new_state != state:
                return Recipe(recipe.workflow, recipe.example,
                              (*recipe.moves, (action, tuple(people))))

    def explore(self, workflow: str) -> dict[str, Recipe]:
        """The first recipe found for each reachable state (breadth first, every example)."""
        if workflow in self.failed:
            raise AssertionError(f"exploring {workflow} failed before: {self.failed[workflow]}")
        if workflow not in self.recipes:
            try:
                self.recipes[workflow] = self._explore(workflow)
            except Exception as exc:
                self.failed[workflow] = f"{type(exc).__name__}: {exc}"
                raise
        return self.recipes[workflow]

    def _explore(self, workflow: str) -> dict[str, Recipe]:
        definition = DEFINITIONS[workflow]
        examples = len(definition.start_schema.get("examples") or []) if workflow != "payout" \
            else 2  # within and over the year's reward budget
        found: dict[str, Recipe] = {}
        seen: set[tuple[Any, ...]] = set()
        guarded = sorted({c.params["field"] for t in definition.transitions
                          for c in (*t.conditions, *t.unless) if "field" in c.params})
        queue = deque(Recipe(workflow, n) for n in range(examples))
        while queue:
            recipe = queue.popleft()
            instance_id, state = self.build(recipe)
            facts = self.facts(instance_id)
            key = (state, recipe.example, facts.approved, facts.returned_from(definition),
                   *(repr(facts.data.get(name)) for name in guarded))
            if key in seen:
                continue
            seen.add(key)
            if state not in found:
                found[state] = recipe
                self.cached[(workflow, state)] = self.cache(instance_id)
            for action in definition.actions_from(state):
                nxt = self.advance(recipe, action)
                if nxt is not None:
                    queue.append(nxt)
        return found

    # -- what a rejected action must not change

    def dump(self, instance_id: int) -> dict[str, Any]:
        def rows(table: Any, *where: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(
                select(table).where(*where).order_by(table.c.id))]

        with self.engine.db.read() as conn:
            return {
                "instance": rows(INSTANCES, INSTANCES.c.id == instance_id),
                "tasks": rows(TASKS, TASKS.c.instance_id == instance_id),
                "events": rows(EVENTS, EVENTS.c.instance_id == instance_id),
                "outbox": rows(OUTBOX, OUTBOX.c.instance_id == instance_id),
                "links": rows(LINKS, or_(LINKS.c.from_id == instance_id,
                                         LINKS.c.to_id == instance_id)),
            }

    def cache(self, instance_id: int) -> Cached:
        return Cached(instance_id, self.dump(instance_id), self.facts(instance_id))

    def offered(self, cached: Cached, who: str) -> set[str]:
        """The actions the instance's view offers ``who`` (none when it is hidden)."""
        if who not in cached.offered:
            try:
                view = self.engine.get(cached.id, actor=self.actor(who))
            except WorkflowError as exc:
                assert exc.code == "not_found"
                cached.offered[who] = set()
            else:
                cached.offered[who] = {a.name for a in view.actions}
        return cached.offered[who]


@pytest.fixture(scope="module", params=BACKENDS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[World]:
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path_factory.mktemp('matrix')}/matrix.db")
        db.create_all()
    else:
        db = Database(POSTGRES_URL)
        Base.metadata.drop_all(db.writer)
        Base.metadata.create_all(db.writer)
    clock = FakeClock(MONDAY_MORNING)
    engine = Engine(db, clock=clock, calendar=WorkingCalendar.from_package(range(2026, 2028)))
    engine.load_definitions()
    with db.write() as conn:
        demo.load(conn, now=clock.now(), password=None)
    yield World(engine)
    db.dispose()


def _cases() -> Iterator[Any]:
    for name, definition in DEFINITIONS.items():
        for state in definition.states:
            for action in definition.action_names():
                for kind in KINDS:
                    yield pytest.param(name, state, action, kind,
                                       id=f"{name}-{state}-{action}-{kind}")


@pytest.mark.parametrize(("workflow", "state", "action", "kind"), list(_cases()))
def test_engine__permission_matrix(world: World, workflow: str, state: str, action: str,
                                   kind: str) -> None:
    definition = DEFINITIONS[workflow]
    recipe = world.explore(workflow).get(state)
    assert recipe is not None, f"no recipe from the declared examples reaches {state!r}"
    if (workflow, state) not in world.cached:
        instance_id, reached = world.build(recipe)
        assert reached == state
        world.cached[(workflow, state)] = world.cache(instance_id)
    cached = world.cached[(workflow, state)]
    who = {"owner": cached.facts.owner, "team_member": TEAM_MEMBER, "unrelated": UNRELATED,
           "system": SYSTEM}.get(kind, kind)
    verdict, dest = expect(definition, state, action, who, cached.facts)
    data = payload(definition, state, action)
    if who != SYSTEM:
        offered = world.offered(cached, who)
        if verdict == OK:
            assert action in offered, f"{who} is not offered {action!r} in {state!r}"
        elif verdict == FORBIDDEN or action not in definition.actions_from(state):
            assert action not in offered, f"{who} is offered {action!r} in {state!r}"

    if verdict == OK:
        fresh, reached = world.build(recipe)
        assert reached == state
        version = world.engine.get(fresh, actor=Actor.system()).version
        view = world.act(fresh, action, who, data)
        assert view.version == version + 1
        if dest is None:
            assert view.state in {t.dest for t in definition.transitions_for(state, action)}
        else:
            assert view.state == dest
        return

    try:
        with pytest.raises(WorkflowError) as caught:
            world.act(cached.id, action, who, data)
        assert caught.value.code == verdict, f"{caught.value.code}: {caught.value}"
        assert world.dump(cached.id) == cached.rows, "a rejected action changed stored rows"
    except BaseException:
        del world.cached[(workflow, state)]
        raise
