"""The reports page: the year's figures as tables and SVG bar charts, XLSX and CSV downloads,
and the 双百分 assessment with the admins' form for the scores."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from babel.numbers import format_decimal
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from workflow import assessment, exports, org, reports
from workflow.errors import ValidationFailed
from workflow.money import parse_money

from .auth import roles_required
from .charts import Series, bar_chart
from .forms import state_label, value_label, workflow_title
from .i18n import day, language, money
from .screens import actor, engine

bp = Blueprint("reports", __name__, url_prefix="/reports")

READERS = ("sta_admin", "committee_office", "committee_member", "general_manager", "auditor")
FIRST_YEAR, LAST_YEAR = 2000, 2100
GRADES = {"special": ("特等奖", "Special"), "first": ("一等奖", "First"),
          "second": ("二等奖", "Second"), "third": ("三等奖", "Third"),
          "encouragement": ("鼓励奖", "Encouragement"), "none": ("无等级", "No grade"),
          "": ("无等级", "No grade")}


def this_year() -> int:
    return reports.local_year(engine().clock.now())


def chosen_year() -> int:
    raw = request.values.get("year", "")
    if raw.isdigit() and FIRST_YEAR <= int(raw) <= LAST_YEAR:
        return int(raw)
    return this_year()


def department_names() -> dict[str, str]:
    with engine().db.read() as conn:
        found = org.departments(conn)
    key = "name_zh" if language() == "zh" else "name_en"
    names = {d["code"]: d[key] for d in found}
    names["*"] = _("Whole company")
    return names


def number(value: Any, pattern: str = "#,##0") -> str:
    return format_decimal(value, format=pattern, locale=str(get_locale() or "en"))


def cell(value: Any, kind: str, names: Mapping[str, str] | None = None,
         column: str = "", workflow: str = "project") -> str:
    """A report value as the reader's locale writes it; codes shown by their labels."""
    if value is None:
        return "—"
    if kind == "money":
        return money(value)
    if kind == "int":
        return str(value) if column == "year" else number(value)
    if kind in ("hours", "percent"):
        return number(value, "#,##0.0")
    if kind == "score":
        return number(value, "#,##0.00")
    if isinstance(value, date | datetime):
        return day(value)
    if names is not None and column in ("department", "organisation"):
        return names.get(str(value), str(value))
    if column == "grade":
        return grade_name(str(value))
    if column == "workflow":
        return workflow_title(str(value))
    if column == "state":
        return state_label(workflow, str(value))
    if column in ("category", "kind", "type"):
        return value_label(value)
    return str(value)


def grade_name(grade: str) -> str:
    zh, en = GRADES.get(grade, (grade, grade))
    return zh if language() == "zh" else en


def _summed(rows: Iterable[tuple[Any, ...]], key: int, values: Iterable[int]
            ) -> dict[str, list[Any]]:
    picks = list(values)
    totals: dict[str, list[Any]] = defaultdict(lambda: [0] * len(picks))
    for row in rows:
        entry = totals[str(row[key] or "")]
        for n, index in enumerate(picks):
            entry[n] += row[index]
    return dict(sorted(totals.items()))


def charts(report: reports.Report, names: Mapping[str, str]) -> list[tuple[str, Any]]:
    """Reward money decided vs paid, suggestions by department and state, awards by grade."""
    money_rows = _summed(report.table("reward_money").rows, 1, (3, 5))
    suggestion_rows = _summed(report.table("suggestions").rows, 1, (3, 4, 5))
    order = list(GRADES)
    grade_rows = dict(sorted(_summed(report.table("awards").rows, 2, (3,)).items(),
                             key=lambda item: (order.index(item[0]) if item[0] in order
                                               else len(order), item[0])))
    titles = (_("Reward money decided and paid by department"),
              _("Suggestions by department and state"), _("Awards by grade"))
    return list(zip(titles, [
        bar_chart(titles[0],
                  [names.get(d, d) for d in money_rows],
                  [Series(_("Decided"), [v[0] for v in money_rows.values()]),
                   Series(_("Paid"), [v[1] for v in money_rows.values()])],
                  fmt=money, key="reward_money"),
        bar_chart(titles[1],
                  [names.get(d, d) for d in suggestion_rows],
                  [Series(_("Submitted"), [v[0] for v in suggestion_rows.values()]),
                   Series(_("Adopted"), [v[1] for v in suggestion_rows.values()]),
                   Series(_("Rejected"), [v[2] for v in suggestion_rows.values()])],
                  fmt=number, key="suggestions"),
        bar_chart(titles[2], [grade_name(g) for g in grade_rows],
                  [Series(_("Awards"), [v[0] for v in grade_rows.values()])],
                  fmt=number, key="awards"),
    ], strict=True))


def _tables(year: int) -> tuple[reports.Report, reports.Table]:
    report = reports.report(engine().db, year=year, now=engine().clock.now())
    return report, assessment.table(engine().db, year=year)


def _page(year: int, errors: Mapping[str, str] | None = None,
          form: Mapping[str, str] | None = None, status: int = 200) -> Any:
    report, scores = _tables(year)
    names = department_names()
    current = this_year()
    years = list(range(min(year, current - 5), max(year, current + 1) + 1))
    return render_template(
        "reports.html", year=year, years=years, report=report, scores=scores,
        charts=charts(report, names), names=names, cell=cell,
        organisations=[(code, name) for code, name in names.items() if code != "*"],
        errors=errors or {}, form=form or {}), status


@bp.get("")
@roles_required(*READERS)
def index() -> Any:
    return _page(chosen_year())


@bp.get("/export.xlsx")
@roles_required(*READERS)
def export_xlsx() -> Any:
    year = chosen_year()
    report, scores = _tables(year)
    body = exports.to_xlsx([*report.tables, scores])
    return Response(body, mimetype="application/vnd.openxmlformats-officedocument."
                    "spreadsheetml.sheet", headers={
                        "Content-Disposition": f"attachment; filename=innoflow-{year}.xlsx"})


@bp.get("/<key>.csv")
@roles_required(*READERS)
def export_csv(key: str) -> Any:
    year = chosen_year()
    report, scores = _tables(year)
    found = {t.key: t for t in (*report.tables, scores)}
    if key not in found:
        abort(404)
    return Response(exports.to_csv_bytes(found[key]), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f"attachment; filename={key}-{year}.csv"})


FIELD_MESSAGES = {
    "party_score": lambda: _("A score from 0 to 100 with at most two decimals."),
    "operations_score": lambda: _("A score from 0 to 100 with at most two decimals."),
    "organisation": lambda: _("Choose an organisation."),
    "year": lambda: _("A year between 2000 and 2100."),
}


def valid_score(text: str) -> bool:
    try:
        return 0 <= parse_money(text) <= 100
    except ValueError:
        return False


@bp.post("/assessment")
@roles_required("sta_admin")
def enter_assessment() -> Any:
    form = {k: request.form.get(k, "").strip()
            for k in ("year", "organisation", "party_score", "operations_score")}
    year_text = form["year"]
    if not (year_text.isdigit() and FIRST_YEAR <= int(year_text) <= LAST_YEAR):
        return _page(this_year(), {"year": FIELD_MESSAGES["year"]()}, form, 422)
    year = int(year_text)
    errors = {field: FIELD_MESSAGES[field]() for field in ("party_score", "operations_score")
              if not valid_score(form[field])}
    if errors:
        return _page(year, errors, form, 422)
    try:
        assessment.enter(engine().db, actor=actor(), year=year, organisation=form["organisation"],
                         party_score=form["party_score"],
                         operations_score=form["operations_score"], now=engine().clock.now())
    except ValidationFailed as exc:
        errors = {field: FIELD_MESSAGES.get(field, lambda: _("Invalid value."))()
                  for field in (exc.fields or {"organisation": ""})}
        return _page(year, errors, form, 422)
    flash(_("Assessment scores saved."), "ok")
    return redirect(url_for("reports.index", year=year) + "#assessment")
