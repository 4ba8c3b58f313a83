"""The working-day calendar as a table: seeded from the package, edited by admins; a year
nobody entered falls back to weekends and is reported, never a crash."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from workflow import calendar as working_days
from workflow.calendar import WorkingCalendar

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_calendar__seeded_from_the_package_once(database):
    with database.write() as conn:
        added = working_days.seed_from_package(conn, now=NOW, years=range(2025, 2028))
        again = working_days.seed_from_package(conn, now=NOW, years=range(2025, 2028))
        rows = conn.execute(select(func.count()).select_from(working_days.DAYS)).scalar_one()
        cal = working_days.load(conn)
    assert added == [2025, 2026] and again == []  # the package knows no 2027
    assert rows > 40
    assert not cal.is_workday(date(2026, 10, 1))      # National Day
    assert cal.is_workday(date(2026, 10, 10))         # a Saturday worked in exchange
    assert cal.is_workday(date(2026, 2, 14))          # Saturday before Spring Festival
    assert not cal.is_workday(date(2026, 2, 16))      # Spring Festival
    assert cal.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_calendar__unknown_year_falls_back_to_weekends_and_is_reported(database, caplog):
    with database.write() as conn:
        working_days.seed_from_package(conn, now=NOW, years=range(2026, 2028))
        status = working_days.status(conn, now=NOW)
        cal = working_days.load(conn)
    assert status.known_years == (2026,) and status.missing_years == (2027,)
    with caplog.at_level(logging.WARNING, logger="workflow.calendar"):
        # 1 January 2027 is a Friday; with no schedule it counts as a working day
        assert cal.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 1)
        assert cal.deadline(datetime(2026, 12, 30, 2, tzinfo=UTC), 5) == datetime(
            2027, 1, 6, 23, 59, 59, tzinfo=SHANGHAI)
    assert cal.fallback_years == {2027}
    assert [r.message for r in caplog.records].count(
        "no working-day schedule for 2027: counting weekends only") == 1


def test_calendar__admin_enters_next_year_and_company_days_off(database):
    with database.write() as conn:
        working_days.seed_from_package(conn, now=NOW, years=[2026])
        working_days.set_company_day_off(conn, day=date(2026, 12, 31), note="年终盘点",
                                         now=NOW)
        working_days.set_company_day_off(conn, day=date(2027, 1, 4), note="设备检修", now=NOW)
        assert working_days.status(conn, now=NOW).missing_years == (2027,)
        working_days.enter_year(conn, year=2027,
                                holidays=[date(2027, 1, 1), date(2027, 1, 4)],
                                workdays=[date(2027, 1, 9)], now=NOW)
        cal = working_days.load(conn)
        status = working_days.status(conn, now=NOW)
    assert status.missing_years == ()
    assert not cal.is_workday(date(2026, 12, 31))  # company day off
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 9))  # a Saturday worked
    assert cal.add_working_days(date(2026, 12, 30), 2) == date(2027, 1, 6)
    assert cal.fallback_years == set()
    with database.write() as conn:
        assert working_days.remove_company_day_off(conn, day=date(2026, 12, 31))
        assert not working_days.remove_company_day_off(conn, day=date(2026, 10, 1))
        cal = working_days.load(conn)
    assert cal.is_workday(date(2026, 12, 31))
    assert not cal.is_workday(date(2026, 10, 1))  # an official holiday stays


def test_calendar__deadlines_in_the_readers_zone():
    due = datetime(2026, 10, 8, 15, 59, 59, tzinfo=UTC)
    assert working_days.local_text(due) == "2026-10-08 23:59 CST"
    assert working_days.local_text(due, working_days.zone_of("America/New_York")) == \
        "2026-10-08 11:59 EDT"
    assert working_days.zone_of("Not/AZone") == SHANGHAI
    assert working_days.zone_of(None) == SHANGHAI


def test_calendar__counting_back_from_a_deadline():
    cal = WorkingCalendar.from_package(range(2026, 2027))
    assert cal.subtract_working_days(date(2026, 10, 8), 1) == date(2026, 9, 30)
    assert cal.subtract_working_days(date(2026, 10, 12), 2) == date(2026, 10, 9)
    assert cal.next_workday(date(2026, 10, 3)) == date(2026, 10, 8)
    assert cal.morning(date(2026, 9, 30)) == datetime(2026, 9, 30, 9, tzinfo=SHANGHAI)
