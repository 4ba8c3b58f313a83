"""A simulated year, driven through the real engine, then every report figure checked
against an independent count made here from the audit trail (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import math
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.factories import all_overdue, make_instance
from tests.replay import assert_all_replay
from workflow import audit, exports, reports, simulate, store
from workflow.definition import default_folder, parse

ZONE = ZoneInfo("Asia/Shanghai")
YEAR = 2025
FIVE = {"small_invention", "small_creation", "small_renovation", "small_design",
        "small_suggestion"}


@pytest.fixture
def history(engine):
    params = simulate.Params.load(simulate.builtin("small"))
    summary = simulate.run(engine, params)
    return engine, params, summary


def _trail(engine):
    """Each instance's workflow and events, in order, straight from the audit table."""
    with engine.db.read() as conn:
        kinds = dict(conn.execute(select(store.INSTANCES.c.id, store.INSTANCES.c.workflow)).all())
        events = list(conn.execute(select(store.EVENTS).order_by(store.EVENTS.c.instance_id,
                                                                 store.EVENTS.c.seq)))
    trail = defaultdict(list)
    for event in events:
        trail[event.instance_id].append(event)
    return kinds, trail


def _data_after(events):
    data = {}
    for event in events:
        data.update(event.data)
        data.update(event.changes)
    return data


def _year(moment):
    return moment.astimezone(ZONE).year


def test_simulate__small_year_runs_through_the_engine(history):
    engine, params, summary = history
    rules = {name: parse((default_folder() / f"{name}.yaml").read_text(encoding="utf-8"))
             .extra["rewards"]["rules"] for name in ("suggestion", "award")}
    assert summary.adopted == sum(int(m["count"]) for m in params.suggestions_adopted)
    assert summary.awarded == sum(int(m["count"]) for m in params.awards)
    assert summary.paid == simulate.expected_paid(params, rules, YEAR) == Decimal("27720.00")
    assert assert_all_replay(engine) == 12 + 4 + 3 + 1 + summary.payouts == 31
    with engine.db.read() as conn:
        checked, broken = audit.verify(conn)
    assert broken is None and checked > summary.actions


def test_reports__figures_equal_an_independent_count_of_the_audit_trail(history):
    engine, _params, _summary = history
    kinds, trail = _trail(engine)
    submitted, adopted, rejected = Counter(), Counter(), Counter()
    awards, five_small, benefit = Counter(), Counter(), defaultdict(Decimal)
    decided, paid = defaultdict(Decimal), defaultdict(Decimal)
    spans = defaultdict(list)
    submitters = set()
    for instance_id, events in trail.items():
        start = events[0].data
        data = _data_after(events)
        kind = kinds[instance_id]
        moves = [e for e in events if e.fired or e.seq == 1]
        for before, after in pairwise(moves):
            if _year(after.at) == YEAR:
                spans[(kind, before.to_state)].append((after.at - before.at).total_seconds())
        for e in events:
            if _year(e.at) != YEAR:
                continue
            key = (YEAR, start.get("department", ""), start.get("category", ""))
            if kind == "suggestion" and e.action == "submit":
                submitted[key] += 1
                submitters.add(e.actor)
            if kind == "suggestion" and e.action == "adopt":
                adopted[key] += 1
                if start["category"] in FIVE:
                    five_small[start["category"]] += 1
            if kind == "suggestion" and e.fired and e.to_state == "rejected":
                rejected[key] += 1
            if kind == "suggestion" and e.action == "verify_benefit":
                benefit[start["department"]] += Decimal(e.data["verified_benefit"])
            if kind == "award" and e.fired and e.to_state == "approved":
                awards[(data["kind"], data["grade"])] += 1
        if kind == "payout" and start["year"] == YEAR and not any(
                e.to_state == "cancelled" for e in events):
            decided[start["department"]] += Decimal(start["amount"])
            if any(e.action == "confirm_payment" for e in events):
                paid[start["department"]] += Decimal(start["amount"])

    now = engine.clock.now()
    report = reports.report(engine.db, year=YEAR, now=now)
    rows = report.table("suggestions").rows
    assert {(y, d, c): s for y, d, c, s, _a, _r in rows if s} == dict(submitted)
    assert {(y, d, c): a for y, d, c, _s, a, _r in rows if a} == dict(adopted)
    assert {(y, d, c): r for y, d, c, _s, _a, r in rows if r} == dict(rejected)
    assert sum(submitted.values()) == 12 and sum(adopted.values()) == 8
    assert {c: n for _y, c, n, _b in report.table("five_small").rows} == dict(five_small)
    assert {(k, g): n for _y, k, g, n in report.table("awards").rows} == dict(awards)
    money = report.table("reward_money").rows
    assert {d: dec for _y, d, _n, dec, _pn, _p, _u in money} == dict(decided)
    assert {d: p for _y, d, _n, _dec, _pn, p, _u in money if p} == dict(paid)
    assert sum(decided.values()) == Decimal("27720.00")
    assert {d: b for _y, d, _n, b in report.table("benefit").rows} == dict(benefit)
    for workflow, state, visits, median, p90 in report.table("step_times").rows:
        values = sorted(spans[(workflow, state)])
        assert visits == len(values)
        assert median == (Decimal(statistics.median(values)) / 3600).quantize(Decimal("0.1"))
        nearest = values[math.ceil(0.9 * len(values)) - 1]
        assert p90 == (Decimal(nearest) / 3600).quantize(Decimal("0.1"))
    assert {k for k, v in spans.items() if v} == {
        (w, s) for w, s, *_ in report.table("step_times").rows}
    [everyone] = [r for r in report.table("participation").rows if r[1] == "*"]
    with engine.db.read() as conn:
        employees = len(list(conn.execute(select(store.USERS.c.id))))
    assert everyone[2:4] == (employees, len(submitters))
    totals = reports.totals(engine.db, year=YEAR)
    assert totals["reward_paid"] == totals["reward_decided"] == Decimal("27720.00")


def test_reports__overdue_per_approver_matches_the_engine(history, actor):
    engine, _params, _summary = history
    waiting = make_instance(engine, actor("demo_proposer"), "suggestion")
    make_instance(engine, actor("power_engineer"), "suggestion", department="power")
    assert waiting.tasks
    later = datetime(2026, 6, 1, 1, tzinfo=UTC)
    engine.clock.set(later)
    expected = Counter(t.assignee or (f"{t.role}@{t.scope}" if t.scope else t.role)
                       for t in all_overdue(engine, limit=1))
    table = reports.report(engine.db, year=YEAR, now=later).table("overdue")
    assert {who: n for who, n, _days in table.rows} == dict(expected)
    assert sum(expected.values()) == 2
    missed = reports.report(engine.db, year=YEAR, now=later).table("milestones_missed")
    assert all(row[4] < later.date() for row in missed.rows)
    with engine.db.read() as conn:
        rows = list(conn.execute(select(store.INSTANCES.c.id, store.INSTANCES.c.workflow,
                                        store.INSTANCES.c.state, store.INSTANCES.c.data)))
    accepted = {r.data["project_id"] for r in rows
                if (r.workflow, r.state) == ("acceptance", "accepted")}
    late = {(r.id, m["name"]) for r in rows if (r.workflow, r.state) == ("project", "established")
            and r.id not in accepted for m in r.data["milestones"]
            if m["due_date"] < later.date().isoformat()}
    assert {(row[0], row[3]) for row in missed.rows} == late
    assert accepted and late


def test_exports__xlsx_holds_the_same_numbers_as_the_report(history):
    engine, _params, _summary = history
    report = reports.report(engine.db, year=YEAR, now=engine.clock.now())
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert book.sheetnames == [exports.sheet_title(t) for t in report.tables]
    assert "奖励金额（核定与发放）" in book.sheetnames
    for table in report.tables:
        sheet = book[exports.sheet_title(table)]
        values = list(sheet.iter_rows(values_only=True))
        assert list(values[0]) == [c.zh for c in table.columns]
        assert len(values) - 1 == len(table.rows)
        for got, row in zip(values[1:], table.rows, strict=True):
            for cell, value, column in zip(got, row, table.columns, strict=True):
                if isinstance(value, Decimal):
                    places = Decimal("0.01") if column.kind == "money" else Decimal("0.1")
                    assert Decimal(str(cell)).quantize(places) == value, (table.key, column)
                elif hasattr(value, "isoformat"):
                    assert cell.date() == value
                else:
                    assert cell == value
    money = report.table("reward_money")
    text = exports.to_csv(money)
    lines = text.splitlines()
    assert lines[0].split(",") == ["年度", "部门", "核定笔数", "核定金额（元）", "已发放笔数",
                                   "已发放金额（元）", "未发放金额（元）"]
    assert len(lines) == len(money.rows) + 1
    assert exports.to_csv_bytes(money).startswith("\ufeff".encode())
    first = money.rows[0]
    assert lines[1].split(",")[3] == f"{first[3]:.2f}"
