"""The working-day calendar admin: missing years flagged, company days off added and removed,
a year's schedule entered from a list of dates (and the engine's deadlines follow it)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.web_helpers import form_post
from workflow import calendar as working_days

pytest_plugins = ["tests.web_fixtures"]


def test_web__missing_years_are_flagged_until_entered(engine, login):
    admin = login("sta_admin")
    html = admin.get("/admin/calendar").get_data(as_text=True)
    assert 'id="missing-years"' in html and "2026, 2027" in html
    for year, holidays, workdays in (
            (2026, "2026-01-01\n2026-10-01, 2026-10-02", "2026-09-27"),
            (2027, "2027-01-01", "")):
        response = form_post(admin, "/admin/calendar/year", {
            "year": str(year), "holidays": holidays, "workdays": workdays})
        assert response.status_code == 302, response.get_data(as_text=True)
    html = admin.get("/admin/calendar").get_data(as_text=True)
    assert 'id="missing-years"' not in html
    assert engine.calendar.is_workday(date(2026, 9, 27))
    assert not engine.calendar.is_workday(date(2026, 10, 2))


def test_web__schedule_with_a_date_of_another_year_is_refused_on_the_field(engine, login):
    admin = login("sta_admin")
    response = form_post(admin, "/admin/calendar/year", {
        "year": "2026", "holidays": "2026-01-01 2025-12-31", "workdays": "soon"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="error-holidays"' in html and 'id="error-workdays"' in html
    with engine.db.read() as conn:
        assert working_days.status(conn, now=engine.clock.now()).known_years == ()


def test_web__company_day_off_added_and_removed(engine, login):
    admin = login("sta_admin")
    response = form_post(admin, "/admin/calendar/days-off", {"day": "2026-12-24",
                                                             "note": "年终盘点"})
    assert response.status_code == 302
    assert "年终盘点" in admin.get("/admin/calendar").get_data(as_text=True)
    with engine.db.read() as conn:
        days = list(conn.execute(select(working_days.DAYS.c.day).where(
            working_days.DAYS.c.kind == working_days.COMPANY_OFF)).scalars())
    assert days == [date(2026, 12, 24)]
    bad = form_post(admin, "/admin/calendar/days-off", {"day": "24/12/2026"})
    assert bad.status_code == 422 and 'id="error-day"' in bad.get_data(as_text=True)
    response = form_post(admin, "/admin/calendar/days-off/remove", {"day": "2026-12-24"})
    assert response.status_code == 302
    assert "年终盘点" not in admin.get("/admin/calendar").get_data(as_text=True)
