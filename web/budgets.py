"""Reward budgets: S&T admins set each department's (and the company's) yearly budget;
finance and the general manager see what was decided, paid and what remains."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from workflow import budgets
from workflow.errors import ValidationFailed

from .auth import roles_required
from .report_screens import FIRST_YEAR, LAST_YEAR, chosen_year, department_names, this_year
from .screens import actor, engine

bp = Blueprint("budgets", __name__, url_prefix="/admin/budgets")

VIEWERS = ("sta_admin", "finance", "general_manager")


def _page(year: int, errors: Mapping[str, str] | None = None,
          form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    names = department_names()
    found = {b.department: b for b in budgets.budgets(engine().db, year=year)}
    rows = [(code, name, found.get(code)) for code, name in
            sorted(names.items(), key=lambda item: (item[0] != budgets.COMPANY, item[0]))]
    current = this_year()
    return render_template("budgets.html", year=year, rows=rows,
                           years=list(range(min(year, current - 3), max(year, current + 1) + 1)),
                           errors=errors or {}, form=form or {}), status


@bp.get("")
@roles_required(*VIEWERS)
def index() -> Any:
    return _page(chosen_year())


@bp.post("")
@roles_required("sta_admin")
def set_budget() -> Any:
    form = {k: request.form.get(k, "").strip() for k in ("year", "department", "amount")}
    if not (form["year"].isdigit() and FIRST_YEAR <= int(form["year"]) <= LAST_YEAR):
        return _page(this_year(), {"year": _("A year between 2000 and 2100.")}, form, 422)
    year = int(form["year"])
    try:
        budgets.set_budget(engine().db, actor=actor(), year=year,
                           department=form["department"], amount=form["amount"],
                           now=engine().clock.now())
    except ValidationFailed as exc:
        messages = {"amount": _("An amount of at least 0 with at most two decimals, "
                                "e.g. 150000.00."),
                    "department": _("Choose a department."),
                    "year": _("A year between 2000 and 2100.")}
        errors = {f: messages.get(f, _("Invalid value.")) for f in exc.fields or {"amount": ""}}
        return _page(year, errors, form, 422)
    flash(_("Budget saved."), "ok")
    return redirect(url_for("budgets.index", year=year))
