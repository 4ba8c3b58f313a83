"""The numbers management asks for, computed with SQL over instances, tasks and audit events.

Each figure is a :class:`Table` (a key, Chinese and English titles, columns with Chinese and
English headers, rows of plain values: ``int``, ``str``, ``Decimal`` for money and hours),
so a screen, a chart, the JSON API and the XLSX/CSV exports show the same numbers.
:func:`report` gathers all of them for a year. Years are calendar years in China; money
sums are exact (amounts are read as strings and added as ``Decimal``).
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, or_, select

from .db import Database
from .models import UTCDateTime
from .money import format_money, parse_money
from .rewards import FIVE_SMALL, ZONE
from .store import EVENTS, INSTANCES, TASKS, USERS

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    en: str
    kind: str = "text"
    """``text``, ``int``, ``money`` (Decimal, two decimals), ``hours``, ``percent``, ``score``."""


@dataclass(frozen=True)
class Table:
    key: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip((c.key for c in self.columns), row, strict=True)) for row in self.rows]

    def as_json(self) -> dict[str, Any]:
        """Plain JSON: money as strings with two decimals, hours and percents as strings."""
        return {"key": self.key, "title": {"zh": self.zh, "en": self.en},
                "columns": [{"key": c.key, "zh": c.zh, "en": c.en, "kind": c.kind}
                            for c in self.columns],
                "rows": [{c.key: _json(v, c.kind) for c, v in zip(self.columns, row,
                                                                   strict=True)}
                         for row in self.rows]}


@dataclass(frozen=True)
class Report:
    year: int | None
    generated_at: datetime
    tables: tuple[Table, ...]

    def table(self, key: str) -> Table:
        for table in self.tables:
            if table.key == key:
                return table
        raise KeyError(key)

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "generated_at": self.generated_at.isoformat(),
                "tables": [t.as_json() for t in self.tables]}


def _json(value: Any, kind: str) -> Any:
    if isinstance(value, Decimal):
        return format_money(value) if kind == "money" else str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def local_year(moment: datetime) -> int:
    return moment.astimezone(ZONE).year


def _col(key: str, zh: str, en: str, kind: str = "text") -> Column:
    return Column(key, zh, en, kind)


DEPT = _col("department", "部门", "Department")
YEAR = _col("year", "年度", "Year", "int")


# ---------------------------------------------------------------- suggestions


def lifecycle_events(conn: Connection, workflow: str, actions: Iterable[str] | None = None,
                     to_states: Iterable[str] | None = None) -> list[Any]:
    """Events of one lifecycle with the given actions, or fired into the given states, with
    the instance's current data (``data``) and the event's own (``action_data``)."""
    conditions: list[ColumnElement[bool]] = [INSTANCES.c.workflow == workflow]
    picks: list[ColumnElement[bool]] = []
    if actions is not None:
        picks.append(EVENTS.c.action.in_(list(actions)))
    if to_states is not None:
        picks.append(and_(EVENTS.c.fired.is_(True), EVENTS.c.to_state.in_(list(to_states))))
    if picks:
        conditions.append(or_(*picks))
    stmt = (select(EVENTS.c.instance_id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.action,
                   EVENTS.c.to_state, EVENTS.c.data.label("action_data"), INSTANCES.c.data,
                   INSTANCES.c.state, INSTANCES.c.created_by)
            .join(INSTANCES, INSTANCES.c.id == EVENTS.c.instance_id)
            .where(*conditions).order_by(EVENTS.c.instance_id, EVENTS.c.seq))
    return list(conn.execute(stmt))


def suggestions_by_department(conn: Connection, year: int | None = None) -> Table:
    """Suggestions submitted, adopted and rejected, by year, department and category."""
    counts: dict[tuple[int, str, str], Counter[str]] = defaultdict(Counter)
    for e in lifecycle_events(conn, "suggestion", actions=["submit", "adopt"],
                              to_states=["rejected"]):
        kind = "submitted" if e.action == "submit" else (
            "adopted" if e.action == "adopt" else "rejected")
        if e.action == "adopt" and e.to_state == "rejected":
            continue
        counts[(local_year(e.at), e.data.get("department") or "",
                e.data.get("category") or "")][kind] += 1
    rows = tuple((y, d, c, n["submitted"], n["adopted"], n["rejected"])
                 for (y, d, c), n in sorted(counts.items()) if year is None or y == year)
    return Table("suggestions", "合理化建议统计", "Suggestions", (
        YEAR, DEPT, _col("category", "类别", "Category"),
        _col("submitted", "提交数", "Submitted", "int"),
        _col("adopted", "采纳数", "Adopted", "int"),
        _col("rejected", "未采纳数", "Rejected", "int")), rows)


def five_small(conn: Connection, year: int | None = None) -> Table:
    """"Five small" results: adopted by year and category, with the benefit verified."""
    adopted: dict[int, tuple[int, str]] = {}
    for e in lifecycle_events(conn, "suggestion", actions=["adopt"]):
        if e.data.get("category") in FIVE_SMALL:
            adopted[e.instance_id] = (local_year(e.at), e.data["category"])
    counts: Counter[tuple[int, str]] = Counter(adopted.values())
    benefit: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for e in lifecycle_events(conn, "suggestion", actions=["verify_benefit"]):
        if e.instance_id in adopted and "verified_benefit" in e.action_data:
            benefit[adopted[e.instance_id]] += parse_money(e.action_data["verified_benefit"])
    rows = tuple((y, c, n, benefit[(y, c)]) for (y, c), n in sorted(counts.items())
                 if year is None or y == year)
    return Table("five_small", "“五小”成果", "\"Five small\" results", (
        YEAR, _col("category", "类别", "Category"), _col("adopted", "采纳数", "Adopted", "int"),
        _col("verified_benefit", "核定效益（元）", "Verified benefit (CNY)", "money")), rows)


def benefit_verified(conn: Connection, year: int | None = None) -> Table:
    """Economic benefit verified by finance (the last verification of each suggestion)."""
    last: dict[int, tuple[int, str, Decimal]] = {}
    for e in lifecycle_events(conn, "suggestion", actions=["verify_benefit"]):
        last[e.instance_id] = (local_year(e.at), e.data.get("department") or "",
                               parse_money(e.action_data["verified_benefit"]))
    totals: dict[tuple[int, str], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
    for y, d, amount in last.values():
        totals[(y, d)][0] += 1
        totals[(y, d)][1] += amount
    rows = tuple((y, d, n, amount) for (y, d), (n, amount) in sorted(totals.items())
                 if year is None or y == year)
    return Table("benefit", "经济效益核定", "Economic benefit verified", (
        YEAR, DEPT, _col("items", "项数", "Items", "int"),
        _col("verified_benefit", "核定效益（元）", "Verified benefit (CNY)", "money")), rows)


# ---------------------------------------------------------------- projects and awards


def projects_by_type_and_state(conn: Connection) -> Table:
    stmt = select(INSTANCES.c.data["type"].as_string(), INSTANCES.c.state).where(
        INSTANCES.c.workflow == "project")
    counts = Counter((str(t or ""), s) for t, s in conn.execute(stmt))
    rows = tuple((t, s, n) for (t, s), n in sorted(counts.items()))
    return Table("projects", "科研项目（按类型和状态）", "Projects by type and state", (
        _col("type", "类型", "Type"), _col("state", "状态", "State"),
        _col("count", "数量", "Count", "int")), rows)


def milestones_missed(conn: Connection, today: date) -> Table:
    """Milestones of established projects past their due date, the project not yet accepted."""
    accepted = {int(pid) for pid in conn.execute(
        select(INSTANCES.c.data["project_id"].as_integer()).where(
            INSTANCES.c.workflow == "acceptance", INSTANCES.c.state == "accepted")).scalars()
        if pid is not None}
    rows = []
    for pid, title, data in conn.execute(
            select(INSTANCES.c.id, INSTANCES.c.title, INSTANCES.c.data).where(
                INSTANCES.c.workflow == "project", INSTANCES.c.state == "established")
            .order_by(INSTANCES.c.id)):
        if pid in accepted:
            continue
        for milestone in data.get("milestones") or []:
            due = date.fromisoformat(milestone["due_date"])
            if due < today:
                rows.append((pid, title, data.get("department") or "", milestone["name"], due,
                             (today - due).days))
    return Table("milestones_missed", "逾期里程碑", "Milestones missed", (
        _col("project_id", "项目编号", "Project", "int"), _col("title", "项目名称", "Title"),
        DEPT, _col("milestone", "里程碑", "Milestone"), _col("due_date", "计划日期", "Due"),
        _col("days_late", "逾期天数", "Days late", "int")), tuple(rows))


def awards_by_kind_and_grade(conn: Connection, year: int | None = None) -> Table:
    """Awards granted (approved after the public notice), by year, kind and grade."""
    counts: Counter[tuple[int, str, str]] = Counter()
    for e in lifecycle_events(conn, "award", to_states=["approved"]):
        counts[(local_year(e.at), e.data.get("kind") or "", e.data.get("grade") or "")] += 1
    rows = tuple((y, k, g, n) for (y, k, g), n in sorted(counts.items())
                 if year is None or y == year)
    return Table("awards", "科技奖励（按类别和等级）", "Awards by kind and grade", (
        YEAR, _col("kind", "奖项", "Kind"), _col("grade", "等级", "Grade"),
        _col("count", "数量", "Count", "int")), rows)


# ---------------------------------------------------------------- money


def reward_money(conn: Connection, year: int | None = None) -> Table:
    """Reward money decided (payouts not cancelled) and paid, by decision year and department."""
    stmt = select(INSTANCES.c.state, INSTANCES.c.data["year"].as_integer(),
                  INSTANCES.c.data["department"].as_string(),
                  INSTANCES.c.data["amount"].as_string()).where(
        INSTANCES.c.workflow == "payout", INSTANCES.c.state != "cancelled")
    if year is not None:
        stmt = stmt.where(INSTANCES.c.data["year"].as_integer() == year)
    totals: dict[tuple[int, str], list[Any]] = defaultdict(
        lambda: [0, Decimal(0), 0, Decimal(0)])
    for state, y, department, amount in conn.execute(stmt):
        value = parse_money(amount)
        entry = totals[(int(y), department or "")]
        entry[0] += 1
        entry[1] += value
        if state == "paid":
            entry[2] += 1
            entry[3] += value
    rows = tuple((y, d, *v, v[1] - v[3]) for (y, d), v in sorted(totals.items()))
    return Table("reward_money", "奖励金额（核定与发放）", "Reward money decided and paid", (
        YEAR, DEPT, _col("decided_count", "核定笔数", "Payouts decided", "int"),
        _col("decided", "核定金额（元）", "Decided (CNY)", "money"),
        _col("paid_count", "已发放笔数", "Payouts paid", "int"),
        _col("paid", "已发放金额（元）", "Paid (CNY)", "money"),
        _col("unpaid", "未发放金额（元）", "Not yet paid (CNY)", "money")), rows)


def money_totals(conn: Connection, year: int | None = None) -> tuple[Decimal, Decimal]:
    """(decided, paid) over all departments."""
    table = reward_money(conn, year)
    return (sum((r[3] for r in table.rows), Decimal(0)),
            sum((r[5] for r in table.rows), Decimal(0)))


# ---------------------------------------------------------------- time and people


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with ``fraction`` of all at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _hours(seconds: float) -> Decimal:
    return (Decimal(seconds) / 3600).quantize(TENTH)


def step_durations(conn: Connection) -> list[tuple[str, str, datetime, datetime]]:
    """(workflow, state, entered, left) for every visit of a state that has ended."""
    moves = (select(EVENTS.c.instance_id, EVENTS.c.seq, EVENTS.c.at, EVENTS.c.to_state)
             .where(or_(EVENTS.c.fired.is_(True), EVENTS.c.seq == 1)).subquery())
    visits = select(
        moves.c.instance_id, moves.c.to_state, moves.c.at.label("entered"),
        func.lead(moves.c.at, type_=UTCDateTime()).over(
            partition_by=moves.c.instance_id, order_by=moves.c.seq).label("left"),
    ).subquery()
    stmt = (select(INSTANCES.c.workflow, visits.c.to_state, visits.c.entered, visits.c.left)
            .join(INSTANCES, INSTANCES.c.id == visits.c.instance_id)
            .where(visits.c.left.is_not(None)))
    return [(w, s, entered, left) for w, s, entered, left in conn.execute(stmt)]


def time_in_steps(conn: Connection, year: int | None = None) -> Table:
    """Hours spent in each step (median and p90, nearest rank), by the year it was left."""
    spans: dict[tuple[str, str], list[float]] = defaultdict(list)
    for workflow, state, entered, left in step_durations(conn):
        if year is None or local_year(left) == year:
            spans[(workflow, state)].append((left - entered).total_seconds())
    rows = tuple((w, s, len(v), _hours(statistics.median(v)), _hours(nearest_rank(v, 0.9)))
                 for (w, s), v in sorted(spans.items()))
    return Table("step_times", "各环节用时", "Time spent in each step", (
        _col("workflow", "流程", "Workflow"), _col("state", "环节", "Step"),
        _col("visits", "次数", "Visits", "int"),
        _col("median_hours", "中位数（小时）", "Median (hours)", "hours"),
        _col("p90_hours", "90分位（小时）", "p90 (hours)", "hours")), rows)


def overdue_by_approver(conn: Connection, now: datetime) -> Table:
    """Open tasks past their due date, by the person (or role for a pooled task) holding them."""
    stmt = (select(TASKS.c.role, TASKS.c.scope, USERS.c.username, TASKS.c.due_at)
            .select_from(TASKS.outerjoin(USERS, USERS.c.id == TASKS.c.assignee_id))
            .where(TASKS.c.status == "open", TASKS.c.due_at.is_not(None), TASKS.c.due_at < now))
    found: dict[str, list[Any]] = {}
    for role, scope, username, due in conn.execute(stmt):
        who = username or (f"{role}@{scope}" if scope else role)
        entry = found.setdefault(who, [0, due])
        entry[0] += 1
        entry[1] = min(entry[1], due)
    rows = tuple((who, n, (now - oldest).days) for who, (n, oldest) in
                 sorted(found.items(), key=lambda item: (-item[1][0], item[0])))
    return Table("overdue", "超期待办（按审批人）", "Overdue items per approver", (
        _col("approver", "审批人", "Approver"), _col("overdue", "超期件数", "Overdue", "int"),
        _col("oldest_days", "最长超期天数", "Oldest (days)", "int")), rows)


def participation(conn: Connection, year: int) -> Table:
    """Share of employees (active users) who submitted at least one suggestion in ``year``."""
    submitters = {e.created_by for e in lifecycle_events(conn, "suggestion",
                                                         actions=["submit"])
                  if local_year(e.at) == year}
    users = dict(conn.execute(select(USERS.c.id, USERS.c.department)
                              .where(USERS.c.active.is_(True))).all())
    per_dept: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for uid, department in users.items():
        per_dept[department or ""][0] += 1
        per_dept[department or ""][1] += uid in submitters
    rows = [(year, d, n, s, _percent(s, n)) for d, (n, s) in sorted(per_dept.items())]
    total = len(users)
    count = sum(1 for uid in users if uid in submitters)
    rows.append((year, "*", total, count, _percent(count, total)))
    return Table("participation", "参与率", "Participation", (
        YEAR, DEPT, _col("employees", "员工数", "Employees", "int"),
        _col("submitters", "提交建议人数", "Submitted", "int"),
        _col("share", "参与率（%）", "Share (%)", "percent")), tuple(rows))


def _percent(part: int, whole: int) -> Decimal:
    return (Decimal(100 * part) / whole).quantize(TENTH) if whole else Decimal(0)


# ---------------------------------------------------------------- everything


def report(db: Database, *, year: int, now: datetime) -> Report:
    """Every figure of the reports page for ``year`` (overdue items and milestones as of now)."""
    today = now.astimezone(ZONE).date()
    with db.read() as conn:
        tables = (
            suggestions_by_department(conn, year),
            five_small(conn, year),
            projects_by_type_and_state(conn),
            milestones_missed(conn, today),
            awards_by_kind_and_grade(conn, year),
            reward_money(conn, year),
            benefit_verified(conn, year),
            time_in_steps(conn, year),
            overdue_by_approver(conn, now),
            participation(conn, year),
        )
    return Report(year, now, tables)


def totals(db: Database, *, year: int | None = None) -> Mapping[str, Any]:
    """Headline numbers: adopted suggestions, awards by kind, money decided and paid."""
    with db.read() as conn:
        suggestions = suggestions_by_department(conn, year)
        awards = awards_by_kind_and_grade(conn, year)
        decided, paid = money_totals(conn, year)
    by_kind: Counter[str] = Counter()
    for _y, kind, _g, n in awards.rows:
        by_kind[kind] += n
    return {"submitted_suggestions": sum(r[3] for r in suggestions.rows),
            "adopted_suggestions": sum(r[4] for r in suggestions.rows),
            "rejected_suggestions": sum(r[5] for r in suggestions.rows),
            "awards": dict(sorted(by_kind.items())),
            "reward_decided": decided, "reward_paid": paid}
