"""The working-day calendar for S&T admins: the years entered, years missing (deadlines then
count weekends only), company days off, and a year's official schedule entered by hand."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, select

from workflow import calendar as working_days

from .auth import roles_required
from .report_screens import FIRST_YEAR, LAST_YEAR, this_year
from .screens import engine

bp = Blueprint("calendar_admin", __name__, url_prefix="/admin/calendar")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def missing_years() -> tuple[int, ...]:
    with engine().db.read() as conn:
        return working_days.status(conn, now=engine().clock.now()).missing_years


def refresh() -> None:
    """Deadlines of this process follow the table as soon as it holds a year."""
    with engine().db.read() as conn:
        if conn.execute(select(func.count()).select_from(working_days.YEARS)).scalar_one():
            engine().calendar = working_days.load(conn, engine().calendar.zone)


def _page(errors: Mapping[str, str] | None = None, form: Mapping[str, str] | None = None,
          status: int = 200) -> Any:
    with engine().db.read() as conn:
        state = working_days.status(conn, now=engine().clock.now())
        days_off = list(conn.execute(
            select(working_days.DAYS.c.day, working_days.DAYS.c.note)
            .where(working_days.DAYS.c.kind == working_days.COMPANY_OFF)
            .order_by(working_days.DAYS.c.day)))
        years = {row.year: row for row in conn.execute(select(working_days.YEARS)
                                                         .order_by(working_days.YEARS.c.year))}
    return render_template("calendar.html", state=state, days_off=days_off, years=years,
                           errors=errors or {}, form=form or {},
                           next_year=this_year() + 1), status


def parse_dates(text: str) -> list[date]:
    """Dates written as YYYY-MM-DD, separated by spaces, commas or new lines."""
    found = []
    for token in re.split(r"[\s,;，；、]+", text.strip()):
        if not token:
            continue
        if not _DATE.fullmatch(token):
            raise ValueError(token)
        found.append(date.fromisoformat(token))
    return found


@bp.get("")
@roles_required("sta_admin")
def index() -> Any:
    return _page()


@bp.post("/days-off")
@roles_required("sta_admin")
def add_day_off() -> Any:
    form = {k: request.form.get(k, "").strip() for k in ("day", "note")}
    try:
        (day,) = parse_dates(form["day"])
    except ValueError:
        return _page({"day": _("A date written as YYYY-MM-DD.")}, form, 422)
    with engine().db.write() as conn:
        working_days.set_company_day_off(conn, day=day, note=form["note"],
                                         now=engine().clock.now())
    refresh()
    flash(_("Company day off %(day)s saved.", day=day.isoformat()), "ok")
    return redirect(url_for("calendar_admin.index"))


@bp.post("/days-off/remove")
@roles_required("sta_admin")
def remove_day_off() -> Any:
    try:
        (day,) = parse_dates(request.form.get("day", ""))
    except ValueError:
        return _page({"day": _("A date written as YYYY-MM-DD.")}, status=422)
    with engine().db.write() as conn:
        removed = working_days.remove_company_day_off(conn, day=day)
    refresh()
    if removed:
        flash(_("Company day off %(day)s removed.", day=day.isoformat()), "ok")
    else:
        flash(_("%(day)s is not a company day off.", day=day.isoformat()), "error")
    return redirect(url_for("calendar_admin.index"))


@bp.post("/year")
@roles_required("sta_admin")
def enter_year() -> Any:
    form = {k: request.form.get(k, "").strip() for k in ("year", "holidays", "workdays")}
    errors: dict[str, str] = {}
    year = int(form["year"]) if form["year"].isdigit() else 0
    if not FIRST_YEAR <= year <= LAST_YEAR:
        errors["year"] = _("A year between 2000 and 2100.")
    parsed: dict[str, list[date]] = {}
    for field in ("holidays", "workdays"):
        try:
            parsed[field] = parse_dates(form[field])
        except ValueError as exc:
            errors[field] = _("Not a date (YYYY-MM-DD): %(text)s", text=str(exc)[:40])
            continue
        outside = [d for d in parsed[field] if d.year != year]
        if year and outside:
            errors[field] = _("%(day)s is not in %(year)s.", day=outside[0].isoformat(),
                              year=year)
    if not errors and not parsed["holidays"]:
        errors["holidays"] = _("Enter the year's public holidays.")
    if not errors and set(parsed["holidays"]) & set(parsed["workdays"]):
        errors["workdays"] = _("A day cannot be a holiday and a working day.")
    if errors:
        return _page(errors, form, 422)
    with engine().db.write() as conn:
        working_days.enter_year(conn, year=year, holidays=parsed["holidays"],
                                workdays=parsed["workdays"], now=engine().clock.now())
    refresh()
    flash(_("Schedule of %(year)s saved.", year=year), "ok")
    return redirect(url_for("calendar_admin.index"))
