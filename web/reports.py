"""The yearly summary of API.md: counts by workflow and state, adoptions, awards, money.

Adoptions, awards and money come from ``workflow.reports`` (the same numbers as the reports
page and its exports); only the count by workflow and state is asked here.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from workflow import Engine
from workflow import reports as figures
from workflow.money import format_money
from workflow.store import INSTANCES


def summary(engine: Engine, year: int, zone: str = "Asia/Shanghai") -> dict[str, Any]:
    tz = ZoneInfo(zone)
    start = datetime(year, 1, 1, tzinfo=tz)
    end = datetime(year + 1, 1, 1, tzinfo=tz)
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    grades: dict[str, int] = defaultdict(int)
    with engine.db.read() as conn:
        for workflow, state, count in conn.execute(
                select(INSTANCES.c.workflow, INSTANCES.c.state, func.count())
                .where(INSTANCES.c.created_at >= start, INSTANCES.c.created_at < end)
                .group_by(INSTANCES.c.workflow, INSTANCES.c.state)):
            counts[workflow][state] = int(count)
        adopted = sum(row[4] for row in figures.suggestions_by_department(conn, year).rows)
        for _year, _kind, grade, number in figures.awards_by_kind_and_grade(conn, year).rows:
            grades[str(grade or "none")] += int(number)
        decided, paid = figures.money_totals(conn, year)
    return {
        "year": year,
        "by_workflow": {w: dict(sorted(s.items())) for w, s in sorted(counts.items())},
        "adopted_suggestions": int(adopted),
        "awards_by_grade": dict(sorted(grades.items())),
        "reward_money": {"decided": format_money(decided), "paid": format_money(paid)},
    }
