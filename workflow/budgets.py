"""Yearly reward budgets per department (``*``: the whole company), set by S&T admins.

Money decided against a budget is the total of the year's payouts of that department that
were not cancelled; a payout whose amount would take the total over a budget is routed to
the general manager (the ``check_budget`` effect records the check, the ``within_budget``
guard reads it). On PostgreSQL the budget rows are locked while a new payout is checked, so
two decisions at the same time cannot both take the last of a budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from . import rawsql
from .actors import Actor
from .db import Database
from .errors import Forbidden, ValidationFailed
from .models import Department, RewardBudget, table_of
from .money import CENT, format_money, parse_money
from .store import INSTANCES

BUDGETS = table_of(RewardBudget)
DEPARTMENTS = table_of(Department)
COMPANY = "*"
"""The department code of a company-wide budget."""
ADMIN_ROLES = frozenset({"sta_admin"})


@dataclass(frozen=True)
class BudgetStatus:
    year: int
    department: str
    budget: Decimal
    decided: Decimal
    paid: Decimal
    remaining: Decimal

    def as_json(self) -> dict[str, Any]:
        return {"year": self.year, "department": self.department,
                "budget": format_money(self.budget), "decided": format_money(self.decided),
                "paid": format_money(self.paid), "remaining": format_money(self.remaining)}


def set_budget(db: Database, *, actor: Actor, year: int, department: str,
               amount: str | Decimal, now: datetime) -> BudgetStatus:
    """Set (or change) a yearly budget; only S&T admins may."""
    if not any(role in ADMIN_ROLES for role, _ in actor.roles) or actor.read_only:
        raise Forbidden("not_budget_admin")
    try:
        value = parse_money(amount)
    except ValueError as exc:
        raise ValidationFailed("invalid_amount", fields={"amount": str(exc)}) from exc
    if value < 0:
        raise ValidationFailed("invalid_amount", fields={"amount": "must not be negative"})
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValidationFailed("invalid_year", fields={"year": "a year between 2000 and 2100"})
    with db.write() as conn:
        if department != COMPANY and conn.execute(
                select(DEPARTMENTS.c.code).where(DEPARTMENTS.c.code == department)).first() is None:
            raise ValidationFailed("unknown_department", fields={"department": department})
        found = conn.execute(select(BUDGETS.c.id).where(
            BUDGETS.c.year == year, BUDGETS.c.department == department)).scalar()
        values = {"amount": value, "set_by": actor.id, "set_at": now}
        if found is None:
            conn.execute(BUDGETS.insert().values(year=year, department=department, **values))
        else:
            conn.execute(BUDGETS.update().where(BUDGETS.c.id == found).values(**values))
        return _status(conn, year, department, value)


def budgets(db: Database, *, year: int) -> list[BudgetStatus]:
    """Every budget of the year with the money decided and paid against it and what remains."""
    with db.read() as conn:
        rows = conn.execute(select(BUDGETS.c.department, BUDGETS.c.amount)
                            .where(BUDGETS.c.year == year).order_by(BUDGETS.c.department))
        return [_status(conn, year, dept, Decimal(amount)) for dept, amount in rows]


def remaining(db: Database, *, year: int, department: str) -> BudgetStatus | None:
    """The budget of one department (or ``*``) and what remains of it; None when none is set."""
    with db.read() as conn:
        amount = conn.execute(select(BUDGETS.c.amount).where(
            BUDGETS.c.year == year, BUDGETS.c.department == department)).scalar()
        return None if amount is None else _status(conn, year, department, Decimal(amount))


def _status(conn: Connection, year: int, department: str, budget: Decimal) -> BudgetStatus:
    decided, paid = payout_totals(conn, year=year, department=department)
    return BudgetStatus(year, department, budget, decided, paid, budget - decided)


def payout_totals(conn: Connection, *, year: int, department: str) -> tuple[Decimal, Decimal]:
    """Money decided (payouts not cancelled) and paid in ``year`` for a department or ``*``."""
    stmt = select(INSTANCES.c.state, INSTANCES.c.data["amount"].as_string()).where(
        INSTANCES.c.workflow == "payout", INSTANCES.c.state != "cancelled",
        INSTANCES.c.data["year"].as_integer() == year)
    if department != COMPANY:
        stmt = stmt.where(INSTANCES.c.data["department"].as_string() == department)
    decided = paid = Decimal(0)
    for state, amount in conn.execute(stmt):
        value = parse_money(amount)
        decided += value
        if state == "paid":
            paid += value
    return decided, paid


def check(conn: Connection, *, year: int, department: str | None, amount: str
          ) -> dict[str, Any]:
    """Would ``amount`` more fit the department's and the company's budgets of ``year``?

    Runs inside the transaction that creates the payout; the answer is recorded with it.
    """
    value = parse_money(amount)
    scopes = [COMPANY] if not department else [department, COMPANY]
    marks, params = rawsql.in_list("d", scopes)
    text = (f"SELECT department, amount FROM reward_budgets WHERE year = :year AND department "
            f"IN ({marks}) ORDER BY department")
    if conn.dialect.name == "postgresql":
        text += " FOR UPDATE"
    limits: Mapping[str, Decimal] = {
        d: Decimal(str(a)).quantize(CENT)
        for d, a in rawsql.run(conn, text, {"year": year, **params}).fetchall()}
    checked = []
    within = True
    for scope in scopes:
        if scope not in limits:
            continue
        decided, _paid = payout_totals(conn, year=year, department=scope)
        after = decided + value
        fits = after <= limits[scope]
        within = within and fits
        checked.append({"department": scope, "budget": format_money(limits[scope]),
                        "decided_before": format_money(decided),
                        "remaining_after": format_money(limits[scope] - after),
                        "within": fits})
    return {"year": year, "amount": format_money(value), "within": within, "budgets": checked}
