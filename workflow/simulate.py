"""History simulation: years of realistic activity driven through the real engine.

Every suggestion, project, acceptance, award and payout is created and moved with
``Engine.start`` / ``Engine.act`` (and timers with ``fire_due_timers``) on a fake clock that
walks working day by working day, so the audit trail, tasks and reports are exactly what
the same history would have left in production. A parameter file (YAML, see
``workflow/simulations/``) fixes the seed, the period and the mix; the same file gives the
same history.
"""

from __future__ import annotations

import heapq
import logging
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from . import budgets, demo, org, payouts
from .actors import Actor
from .clock import FakeClock
from .engine import Engine
from .errors import ValidationFailed
from .money import format_money
from .rewards import ZONE
from .views import InstanceView

log = logging.getLogger(__name__)

DEPARTMENTS = ("smelting", "alumina", "power", "maintenance")
FIELDS = ("smelting", "equipment", "safety_environment", "it", "management")
MORNING = time(9, 0)
SETTLE_DAYS = 250
"""Working days after the period in which items still running are finished and paid."""

Script = Iterator[int]
"""A running item: yields the number of working days until its next action."""


def builtin(name: str) -> Path:
    """A parameter file shipped with innoflow (``seed_company``, ``small``)."""
    return Path(str(resources.files("workflow") / "simulations" / f"{name}.yaml"))


@dataclass(frozen=True)
class Params:
    seed: int
    start: date
    years: int
    employees_per_department: int
    start_window_days: int
    payment_failure_rate: float
    budgets: Mapping[str, str]
    suggestions_adopted: tuple[Mapping[str, Any], ...]
    suggestions_rejected_by_department: int
    suggestions_rejected_by_committee: int
    awards: tuple[Mapping[str, Any], ...]
    awards_not_awarded: int
    projects: int
    projects_accepted: int
    team_rate: float

    @classmethod
    def load(cls, path: Path | str, *, years: int | None = None) -> Params:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        suggestions = doc.get("suggestions", {})
        awards = doc.get("awards", {})
        projects = doc.get("projects", {})
        return cls(
            seed=int(doc.get("seed", 1)),
            start=date.fromisoformat(str(doc.get("start", "2024-01-02"))),
            years=int(years if years is not None else doc.get("years", 2)),
            employees_per_department=int(doc.get("employees_per_department", 20)),
            start_window_days=int(doc.get("start_window_days", 0)),
            payment_failure_rate=float(doc.get("payment_failure_rate", 0.0)),
            budgets={str(k): str(v) for k, v in (doc.get("budgets") or {}).items()},
            suggestions_adopted=tuple(suggestions.get("adopted") or ()),
            suggestions_rejected_by_department=int(suggestions.get("rejected_by_department", 0)),
            suggestions_rejected_by_committee=int(suggestions.get("rejected_by_committee", 0)),
            awards=tuple(awards.get("awarded") or ()),
            awards_not_awarded=int(awards.get("not_awarded", 0)),
            projects=int(projects.get("count", 0)),
            projects_accepted=int(projects.get("accepted", 0)),
            team_rate=float(doc.get("team_rate", 0.3)),
        )


@dataclass
class Summary:
    """What the simulation did, counted as it went (the reports count it again from SQL)."""

    actions: int = 0
    suggestions: int = 0
    adopted: int = 0
    awards: int = 0
    awarded: int = 0
    projects: int = 0
    payouts: int = 0
    paid: Decimal = Decimal(0)
    first_day: date | None = None
    last_day: date | None = None


class Simulation:
    def __init__(self, engine: Engine, params: Params) -> None:
        if not isinstance(engine.clock, FakeClock):
            raise ValueError("the simulation needs an engine with a FakeClock")
        self.engine = engine
        self.clock: FakeClock = engine.clock
        self.params = params
        self.random = random.Random(params.seed)
        self.summary = Summary()
        self._actors: dict[str, Actor] = {}
        self._holders: dict[tuple[str, str], list[str]] = {}
        self._employees: dict[str, list[str]] = {}
        self._queue: list[tuple[int, int, Script]] = []
        self._seq = 0
        self._awaiting: list[int] = []
        self._batches: set[tuple[int, int]] = set()
        self._day = 0

    # ------------------------------------------------------------------ set-up

    def _organisation(self) -> None:
        now = self.clock.now()
        with self.engine.db.write() as conn:
            demo.load(conn, now=now, password=None)
            known = {u.username for u in org.list_users(conn)}

            def add(username: str, department: str, *roles: str) -> None:
                if username not in known:
                    org.add_user(conn, username=username, name=username, department=department,
                                 roles=roles, password=None, now=now)
                    known.add(username)

            add("sta_admin_2", "sta_office", "sta_admin")
            for department in DEPARTMENTS:
                add(f"head_{department}", department, f"dept_head@{department}")
                for n in range(1, self.params.employees_per_department + 1):
                    add(f"emp_{department}_{n:03d}", department)
            for index, fld in enumerate(FIELDS):
                add(f"chair_{fld}", DEPARTMENTS[index % 4], f"subcommittee_chair@{fld}")
                for n in range(1, 5):
                    add(f"expert_{fld}_{n}", DEPARTMENTS[(index + n) % 4], f"expert@{fld}")
            users = org.list_users(conn)
        for user in users:
            for label in user.roles:
                role, _, scope = label.partition("@")
                self._holders.setdefault((role, scope), []).append(user.username)
            if not user.roles and user.username.startswith("emp_") and user.department:
                self._employees.setdefault(user.department, []).append(user.username)
        for names in self._holders.values():
            names.sort()
        for names in self._employees.values():
            names.sort()

    def _budgets(self, year: int) -> None:
        admin = self.actor("sta_admin")
        for department, amount in self.params.budgets.items():
            budgets.set_budget(self.engine.db, actor=admin, year=year, department=department,
                               amount=amount, now=self.clock.now())

    # ------------------------------------------------------------------ helpers

    def actor(self, username: str) -> Actor:
        if username not in self._actors:
            with self.engine.db.read() as conn:
                self._actors[username] = org.actor_by_username(conn, username)
        return self._actors[username]

    def holder(self, role: str, scope: str = "", *, not_: tuple[str, ...] = ()) -> str:
        for name in self._holders.get((role, scope), []):
            if name not in not_:
                return name
        raise LookupError(f"nobody holds {role}@{scope}")

    def act(self, view: InstanceView, action: str, who: str,
            data: Mapping[str, Any] | None = None, comment: str | None = None
            ) -> InstanceView:
        self.clock.advance(seconds=20)
        self.summary.actions += 1
        return self.engine.act(view.id, action, actor=self.actor(who), data=data,
                               comment=comment, expected_version=view.version)

    def start(self, workflow: str, who: str, data: Mapping[str, Any]) -> InstanceView:
        self.clock.advance(seconds=20)
        self.summary.actions += 2
        view = self.engine.start(workflow, actor=self.actor(who), data=data)
        return self.engine.act(view.id, "submit", actor=self.actor(who),
                               expected_version=view.version)

    def complete_step(self, view: InstanceView, action: str,
                      data: Callable[[], Mapping[str, Any]] | None = None,
                      limit: int | None = None) -> InstanceView:
        """Every open task of the step acts (up to ``limit``) until the state moves on."""
        state, done = view.state, 0
        parties = {view.created_by}
        while view.state == state and (limit is None or done < limit):
            task = next((t for t in view.tasks if t.status == "open"), None)
            if task is None:
                break
            who = task.assignee or self.holder(task.role, task.scope, not_=tuple(parties))
            view = self.act(view, action, who, data() if data else None)
            done += 1
        return view

    def _example(self, workflow: str, state: str, action: str) -> dict[str, Any]:
        schema = self.engine.catalog.newest(workflow).definition.transitions_for(
            state, action)[0].schema
        return dict((schema.get("examples") or [{}])[0])

    def _required(self, workflow: str, state: str, action: str) -> tuple[str, ...]:
        schema = self.engine.catalog.newest(workflow).definition.transitions_for(
            state, action)[0].schema
        return tuple(schema.get("required", ()))

    def _schedule(self, day: int, script: Script) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (day, self._seq, script))

    def _pick_employee(self, department: str | None = None) -> tuple[str, str]:
        department = department or self.random.choice(DEPARTMENTS)
        return department, self.random.choice(self._employees[department])

    def _team(self, department: str, lead: str) -> list[dict[str, Any]] | None:
        if self.random.random() >= self.params.team_rate:
            return None
        others = [e for e in self._employees[department] if e != lead]
        size = self.random.randint(1, 2)
        members = [lead, *self.random.sample(others, size)]
        shares = [50, 30, 20][: len(members)] if len(members) == 3 else [60, 40]
        return [{"username": m, "share": s} for m, s in zip(members, shares, strict=True)]

    def _scores(self, names: tuple[str, ...], low: bool = False) -> Callable[[], dict[str, int]]:
        def sheet() -> dict[str, int]:
            base = self.random.randint(40, 50) if low else self.random.randint(70, 92)
            return {name: min(100, base + self.random.randint(0, 6)) for name in names}

        return sheet

    def _benefit(self, spec: Any) -> str | None:
        if not spec:
            return None
        low, high = Decimal(str(spec[0])), Decimal(str(spec[1]))
        cents = self.random.randint(int(low * 100), int(high * 100))
        return format_money(Decimal(cents) / 100)

    # ------------------------------------------------------------------ scripts

    def suggestion(self, plan: Mapping[str, Any]) -> Script:
        department, proposer = self._pick_employee()
        fld = self.random.choice(FIELDS)
        category = self.random.choice(list(plan.get("categories") or ["rationalization"]))
        data: dict[str, Any] = {
            "title": f"合理化建议 {self.summary.suggestions + 1:04d}", "category": category,
            "department": department, "field": fld,
            "description": "Improve the process step to save energy and material.",
        }
        team = self._team(department, proposer)
        if team:
            data["team"] = team
        benefit = self._benefit(plan.get("benefit"))
        if benefit is not None:
            data["expected_benefit"] = benefit
        self.summary.suggestions += 1
        view = self.start("suggestion", proposer, data)
        yield self.random.randint(1, 3)
        head = self.holder("dept_head", department)
        if plan["outcome"] == "rejected_by_department":
            self.act(view, "reject", head, comment="不符合本部门实际")
            return
        view = self.act(view, "approve", head)
        yield self.random.randint(2, 5)
        low = plan["outcome"] == "rejected_by_committee"
        view = self.complete_step(view, "score", self._scores(
            ("innovation", "feasibility", "benefit"), low))
        yield self.random.randint(2, 5)
        office = self.holder("committee_office")
        if low:
            self.act(view, "reject", office, comment="创新性不足，不予采纳")
            return
        view = self.act(view, "adopt", office, {"grade": plan["grade"]})
        self.summary.adopted += 1
        yield self.random.randint(10, 25)
        view = self.act(view, "report_completion", head, {
            "completed_on": self.clock.now().astimezone(ZONE).date().isoformat(),
            "summary": "实施完成，运行正常。"})
        yield self.random.randint(2, 6)
        view = self.act(view, "verify_benefit", self.holder("finance"),
                        {"verified_benefit": benefit or "0.00"})
        yield self.random.randint(1, 4)
        view = self.act(view, "decide_reward", self.holder("sta_admin"), {})
        for payout_id in view.links.get("payout", []):
            self._schedule_payout(payout_id)

    def award(self, plan: Mapping[str, Any]) -> Script:
        department, proposer = self._pick_employee()
        fld = self.random.choice(FIELDS)
        data: dict[str, Any] = {
            "title": f"科技奖励推荐 {self.summary.awards + 1:04d}", "kind": plan["kind"],
            "department": department, "field": fld,
            "summary": "Results applied in production with measurable benefit.",
        }
        team = self._team(department, proposer)
        if team:
            data["team"] = team
        benefit = self._benefit(plan.get("benefit"))
        if benefit is not None:
            data["economic_benefit"] = benefit
        self.summary.awards += 1
        view = self.start("award", proposer, data)
        yield self.random.randint(2, 5)
        view = self.act(view, "pass_formal_review", self.holder("sta_admin"))
        yield self.random.randint(3, 8)
        view = self.complete_step(view, "score", self._scores(
            ("innovation", "value", "serving_business")))
        yield self.random.randint(1, 4)
        view = self.act(view, "propose_grade", self.holder("subcommittee_chair", fld),
                        {"proposed_grade": plan["grade"]})
        yield self.random.randint(3, 8)
        view = self.complete_step(view, "vote", lambda: {"choice": plan["grade"]})
        if view.state != "under_public_notice":
            return
        while True:  # the public notice ends by its timer
            yield 1
            current = self.engine.get(view.id, actor=self.actor("sta_admin"))
            if current.final:
                break
        if current.state == "approved":
            self.summary.awarded += 1
            for payout_id in current.links.get("payout", []):
                self._schedule_payout(payout_id)

    def project(self, accepted: bool) -> Script:
        department, lead = self._pick_employee()
        fld = self.random.choice(FIELDS)
        today = self.clock.now().astimezone(ZONE).date()
        total = Decimal(self.random.randint(10, 90) * 10000)
        data = {
            "title": f"科研项目 {self.summary.projects + 1:03d}",
            "type": self.random.choice(["research", "pilot", "promotion"]),
            "department": department, "field": fld, "lead": lead,
            "budget_lines": [{"item": "试验", "amount": format_money(total)}],
            "budget_total": format_money(total),
            "milestones": [{"name": f"节点{n}", "due_date": (today + timedelta(
                days=90 * n + self.random.randint(0, 30))).isoformat()} for n in (1, 2, 3)],
        }
        self.summary.projects += 1
        view = self.start("project", lead, data)
        yield self.random.randint(2, 5)
        view = self.act(view, "recommend", self.holder("dept_head", department))
        yield self.random.randint(2, 5)
        view = self.act(view, "pass_formal_review", self.holder("sta_admin"))
        yield self.random.randint(3, 8)
        view = self.complete_step(view, "score", self._scores(
            self._required("project", "under_expert_review", "score")))
        yield self.random.randint(2, 5)
        view = self.act(view, "approve", self.holder("committee_office"))
        if view.state == "under_gm_approval":
            yield 2
            view = self.act(view, "approve", self.holder("general_manager"))
        if not accepted or view.state != "established":
            return
        yield self.random.randint(120, 200)
        acceptance = self.start("acceptance", lead, {
            "project_id": view.id, "summary": "项目按计划完成，指标达到任务书要求。"})
        yield self.random.randint(2, 5)
        acceptance = self.act(acceptance, "pass_formal_review", self.holder("sta_admin"))
        yield self.random.randint(3, 8)
        acceptance = self.complete_step(acceptance, "pass", lambda: self._example(
            "acceptance", "under_expert_acceptance", "pass"))
        yield self.random.randint(2, 5)
        self.act(acceptance, "confirm", self.holder("committee_office"), self._example(
            "acceptance", "under_committee_confirmation", "confirm"))

    def payout(self, payout_id: int) -> Script:
        view = self.engine.get(payout_id, actor=self.actor("sta_admin"))
        yield self.random.randint(1, 3)
        admin = self.holder("sta_admin", not_=(view.created_by,))
        view = self.act(view, "confirm_list", admin)
        if view.state == "under_general_manager_approval":
            yield self.random.randint(1, 3)
            view = self.act(view, "approve_over_budget", self.holder("general_manager"))
        yield self.random.randint(1, 4)
        view = self.act(view, "approve", self.holder("finance"))
        if self.random.random() < self.params.payment_failure_rate:
            view = self.act(view, "report_failure", self.holder("finance"),
                            comment="收款账户信息有误")
            yield self.random.randint(2, 5)
            view = self.act(view, "retry", self.holder("finance"))
        self._awaiting.append(view.id)

    def _schedule_payout(self, payout_id: int) -> None:
        self.summary.payouts += 1
        self._schedule(self._day, self.payout(payout_id))

    # ------------------------------------------------------------------ the loop

    def _plans(self) -> list[tuple[str, Any]]:
        plans: list[tuple[str, Any]] = []
        for mix in self.params.suggestions_adopted:
            plans += [("suggestion", {**mix, "outcome": "adopted"})] * int(mix["count"])
        plans += [("suggestion", {"outcome": "rejected_by_department"})] * \
            self.params.suggestions_rejected_by_department
        plans += [("suggestion", {"outcome": "rejected_by_committee"})] * \
            self.params.suggestions_rejected_by_committee
        for mix in self.params.awards:
            plans += [("award", dict(mix))] * int(mix["count"])
        plans += [("award", {"kind": "technical_innovation", "grade": "none"})] * \
            self.params.awards_not_awarded
        plans += [("project", n < self.params.projects_accepted)
                  for n in range(self.params.projects)]
        return plans

    def _working_days(self) -> list[date]:
        end = date(self.params.start.year + self.params.years, self.params.start.month,
                   self.params.start.day)
        days, day = [], self.params.start
        while day < end:
            if self.engine.calendar.is_workday(day):
                days.append(day)
            day += timedelta(days=1)
        return days

    def _moment(self, day: date) -> datetime:
        return datetime.combine(day, MORNING, tzinfo=ZONE).astimezone(UTC)

    def run(self) -> Summary:
        self.clock.set(self._moment(self.params.start))
        self._organisation()
        period = self._working_days()
        window = len(period) if not self.params.start_window_days else min(
            len(period), self.params.start_window_days)
        plans = self._plans()
        self.random.shuffle(plans)
        starts = sorted(self.random.randrange(window) for _ in plans)
        for day, (kind, plan) in zip(starts, plans, strict=True):
            script = (self.suggestion(plan) if kind == "suggestion" else
                      self.award(plan) if kind == "award" else self.project(plan))
            self._schedule(day, script)
        days = period + self._after(period[-1])
        self._day = 0
        years_seen: set[int] = set()
        for self._day, today in enumerate(days):
            if self._day >= len(period) and not self._queue and not self._awaiting:
                break
            self.clock.set(self._moment(today))
            if today.year not in years_seen:
                years_seen.add(today.year)
                self._budgets(today.year)
            self.engine.fire_due_timers()
            while self._queue and self._queue[0][0] <= self._day:
                _, _, script = heapq.heappop(self._queue)
                try:
                    delay = next(script)
                except StopIteration:
                    continue
                self._schedule(self._day + max(1, delay), script)
            self._monthly_batch(today, days, self._day)
            self.summary.last_day = today
        self.summary.first_day = self.params.start
        return self.summary

    def _after(self, last: date) -> list[date]:
        found: list[date] = []
        day = last + timedelta(days=1)
        while len(found) < SETTLE_DAYS:
            if self.engine.calendar.is_workday(day):
                found.append(day)
            day += timedelta(days=1)
        return found

    def _monthly_batch(self, today: date, days: list[date], index: int) -> None:
        """Finance pays the month's payouts on the first working day from the 25th."""
        last_of_period = index + 1 >= len(days)
        if (today.day < 25 and not last_of_period) or (today.year, today.month) in self._batches:
            return
        self._batches.add((today.year, today.month))
        if not self._awaiting:
            return
        self.clock.advance(hours=6)
        clerk = self.actor(self.holder("finance", not_=("finance",)))
        waiting = payouts.awaiting_payment(self.engine, actor=clerk)
        result = payouts.confirm_batch(self.engine, waiting, actor=clerk,
                                       batch_reference=f"PAY-{today:%Y%m}")
        self.summary.actions += len(result.lines)
        self.summary.paid += result.total
        done = {line.payout_id for line in result.lines if line.ok}
        self._awaiting = [p for p in self._awaiting if p not in done]
        failed = [line for line in result.lines if not line.ok]
        if failed:
            raise ValidationFailed("batch_failed", fields={
                str(line.payout_id): str(line.error) for line in failed})


def run(engine: Engine, params: Params) -> Summary:
    """Drive ``params``' history through ``engine`` (which must run on a FakeClock)."""
    return Simulation(engine, params).run()


def expected_paid(params: Params, rules: Mapping[str, Any], year: int) -> Decimal:
    """The money the parameter file pays when every decision falls in ``year``'s rules.

    Every adopted suggestion's benefit range must lie within one band of the rule, so the
    amount does not depend on the random draw; used to check a file against its targets.
    """
    from .rewards import compute

    total = Decimal(0)
    for mix in params.suggestions_adopted:
        edges: list[str | None] = [str(edge) for edge in mix.get("benefit") or []] or [None]
        amounts = {compute(rules["suggestion"], {
            "grade": mix["grade"], "category": category,
            **({"verified_benefit": edge} if edge is not None else {})}, year).amount
            for category in mix.get("categories") or ["rationalization"] for edge in edges}
        if len(amounts) != 1:
            raise ValueError(f"the mix {dict(mix)} earns different amounts: {sorted(amounts)}")
        total += amounts.pop() * int(mix["count"])
    for mix in params.awards:
        amount = compute(rules["award"], {"grade": mix["grade"], "kind": mix["kind"]},
                         year).amount
        total += amount * int(mix["count"])
    return total
