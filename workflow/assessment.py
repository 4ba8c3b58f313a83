"""双百分 (double hundred): each organisation's yearly party-building and operations scores.

Admins enter both scores (each 0–100, at most two decimals); the annual result is their
product (out of 10,000; also shown as a percentage, product / 100). The organisation's
innovation results of the year stand beside it: suggestions adopted, awards granted,
reward money decided and benefit verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from . import reports
from .actors import Actor
from .db import Database
from .errors import Forbidden, ValidationFailed
from .models import Department, OrgAssessment, table_of
from .money import parse_money

ASSESSMENTS = table_of(OrgAssessment)
DEPARTMENTS = table_of(Department)
ADMIN_ROLES = frozenset({"sta_admin"})
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Assessment:
    year: int
    organisation: str
    party_score: Decimal | None
    operations_score: Decimal | None
    adopted_suggestions: int
    awards: int
    reward_decided: Decimal
    benefit_verified: Decimal

    @property
    def product(self) -> Decimal | None:
        """The annual result: party-building score × operations score (at most 10,000)."""
        if self.party_score is None or self.operations_score is None:
            return None
        return (self.party_score * self.operations_score).quantize(Decimal("0.01"))

    @property
    def percent(self) -> Decimal | None:
        product = self.product
        return None if product is None else (product / HUNDRED).quantize(Decimal("0.01"))

    def as_json(self) -> dict[str, Any]:
        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {"year": self.year, "organisation": self.organisation,
                "party_score": text(self.party_score),
                "operations_score": text(self.operations_score),
                "product": text(self.product), "percent": text(self.percent),
                "adopted_suggestions": self.adopted_suggestions, "awards": self.awards,
                "reward_decided": f"{self.reward_decided:.2f}",
                "benefit_verified": f"{self.benefit_verified:.2f}"}


def _score(value: object, field: str) -> Decimal:
    try:
        score = parse_money(value)
    except ValueError as exc:
        raise ValidationFailed("invalid_score", fields={field: str(exc)}) from exc
    if not 0 <= score <= HUNDRED:
        raise ValidationFailed("invalid_score", fields={field: "between 0 and 100"})
    return score


def enter(db: Database, *, actor: Actor, year: int, organisation: str, party_score: str,
          operations_score: str, now: datetime) -> None:
    """Enter (or correct) an organisation's scores of a year; S&T admins only."""
    if actor.read_only or not any(role in ADMIN_ROLES for role, _ in actor.roles):
        raise Forbidden("not_assessment_admin")
    party = _score(party_score, "party_score")
    operations = _score(operations_score, "operations_score")
    with db.write() as conn:
        if conn.execute(select(DEPARTMENTS.c.code).where(
                DEPARTMENTS.c.code == organisation)).first() is None:
            raise ValidationFailed("unknown_organisation", fields={"organisation": organisation})
        found = conn.execute(select(ASSESSMENTS.c.id).where(
            ASSESSMENTS.c.year == year, ASSESSMENTS.c.organisation == organisation)).scalar()
        values = {"party_score": party, "operations_score": operations,
                  "entered_by": actor.id, "entered_at": now}
        if found is None:
            conn.execute(ASSESSMENTS.insert().values(year=year, organisation=organisation,
                                                     **values))
        else:
            conn.execute(ASSESSMENTS.update().where(ASSESSMENTS.c.id == found).values(**values))


def assessments(db: Database, *, year: int) -> list[Assessment]:
    """Every organisation with its scores of ``year`` (None when not entered) and results."""
    with db.read() as conn:
        scores: dict[str, Any] = {row.organisation: row for row in conn.execute(
            select(ASSESSMENTS).where(ASSESSMENTS.c.year == year))}
        organisations = list(conn.execute(select(DEPARTMENTS.c.code)
                                          .order_by(DEPARTMENTS.c.code)).scalars())
        adopted: dict[str, int] = {}
        for row in reports.suggestions_by_department(conn, year).rows:
            adopted[row[1]] = adopted.get(row[1], 0) + row[4]
        awards: dict[str, int] = {}
        for e in reports.lifecycle_events(conn, "award", to_states=["approved"]):
            if reports.local_year(e.at) == year:
                department = e.data.get("department") or ""
                awards[department] = awards.get(department, 0) + 1
        money = {row[1]: row[3] for row in reports.reward_money(conn, year).rows}
        benefit = {row[1]: row[3] for row in reports.benefit_verified(conn, year).rows}
    result = []
    for code in organisations:
        entered = scores.get(code)
        result.append(Assessment(
            year, code, None if entered is None else Decimal(entered.party_score),
            None if entered is None else Decimal(entered.operations_score), adopted.get(code, 0),
            awards.get(code, 0), money.get(code, Decimal(0)), benefit.get(code, Decimal(0))))
    return result


def table(db: Database, *, year: int) -> reports.Table:
    """The assessment as a report table (for the screen and the XLSX/CSV exports)."""
    rows = tuple((a.year, a.organisation, a.party_score, a.operations_score, a.product,
                  a.adopted_suggestions, a.awards, a.reward_decided, a.benefit_verified)
                 for a in assessments(db, year=year))
    col = reports.Column
    return reports.Table("assessment", "双百分考核", "Double-hundred assessment", (
        reports.YEAR, col("organisation", "单位", "Organisation"),
        col("party_score", "党建得分", "Party-building score", "score"),
        col("operations_score", "经营得分", "Operations score", "score"),
        col("product", "综合得分（乘积）", "Result (product)", "money"),
        col("adopted_suggestions", "采纳建议数", "Suggestions adopted", "int"),
        col("awards", "获奖数", "Awards", "int"),
        col("reward_decided", "核定奖励（元）", "Reward decided (CNY)", "money"),
        col("benefit_verified", "核定效益（元）", "Benefit verified (CNY)", "money")), rows)
