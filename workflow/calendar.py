"""Working days on the Chinese calendar.

The calendar knows, per date, whether it is a working day. Known years come from a
table the admins maintain (seeded from the ``chinese_calendar`` package for the years it
covers); a year nobody has entered falls back to plain weekends and is reported by
:meth:`WorkingCalendar.unknown_years`, never a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, select

from .models import CalendarDay, CalendarYear, table_of
from .recent import Recent

log = logging.getLogger(__name__)

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
DAYS = table_of(CalendarDay)
YEARS = table_of(CalendarYear)
PACKAGE, ADMIN = "package", "admin"
HOLIDAY, WORKDAY, COMPANY_OFF = "holiday", "workday", "company_off"


def package_days(years: Iterable[int]) -> dict[date, bool]:
    """Holidays and swapped working days for the years the package knows."""
    import chinese_calendar

    days: dict[date, bool] = {}
    for year in years:
        day = date(year, 1, 1)
        try:
            chinese_calendar.is_workday(day)
        except NotImplementedError:
            continue
        while day.year == year:
            workday = chinese_calendar.is_workday(day)
            if workday != (day.weekday() < 5):
                days[day] = workday
            day += timedelta(days=1)
    return days


class WorkingCalendar:
    """Decides working days from explicit exceptions to the Monday–Friday rule.

    ``exceptions`` maps a date to True (a weekend day worked in exchange) or False (a
    public holiday or company day off). ``known_years`` are the years whose schedule was
    entered; for other years only weekends count as days off.
    """

    def __init__(
        self,
        exceptions: Mapping[date, bool] | None = None,
        known_years: Iterable[int] = (),
        zone: ZoneInfo = DEFAULT_ZONE,
        *,
        infer_known: bool = True,
    ) -> None:
        self._exceptions = dict(exceptions or {})
        self._known = set(known_years) if infer_known is False else \
            set(known_years) | {d.year for d in self._exceptions}
        self.zone = zone
        self.fallback_years: set[int] = set()
        """Years asked about with no schedule entered: weekends only; reported to admins."""
        self._due_days: Recent[tuple[date, int], date] = Recent(10_000)
        self._deadlines: Recent[tuple[datetime, int], datetime] = Recent(1_000)
        """Deadlines lately asked for: every task an action opens asks with the same time."""

    @classmethod
    def from_package(cls, years: Iterable[int] = range(2004, 2031)) -> WorkingCalendar:
        days = package_days(years)
        return cls(days, known_years={d.year for d in days})

    def is_known_year(self, year: int) -> bool:
        return year in self._known

    def unknown_years(self, years: Iterable[int]) -> list[int]:
        return sorted(y for y in set(years) if y not in self._known)

    def is_workday(self, day: date) -> bool:
        if day in self._exceptions:
            return self._exceptions[day]
        if day.year not in self._known and day.year not in self.fallback_years:
            self.fallback_years.add(day.year)
            log.warning("no working-day schedule for %s: counting weekends only", day.year)
        return day.weekday() < 5

    def subtract_working_days(self, end: date, count: int) -> date:
        """The working day ``count`` working days before ``end`` (``end`` itself not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = end
        remaining = count
        while remaining:
            day -= timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def next_workday(self, day: date) -> date:
        """``day`` itself when it is a working day, else the first working day after it."""
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def morning(self, day: date, hour: int = 9) -> datetime:
        """``hour`` o'clock local time on ``day``, as an aware datetime."""
        return datetime.combine(day, time(hour), tzinfo=self.zone)

    def local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def add_working_days(self, start: date, count: int) -> date:
        """The date ``count`` working days after ``start`` (``start`` itself not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        day = start
        remaining = count
        while remaining:
            day += timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative if reversed)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(
            1 for n in range(1, (end - start).days + 1)
            if self.is_workday(start + timedelta(days=n))
        )

    def deadline(self, opened_at: datetime, working_days: int) -> datetime:
        """End of the ``working_days``-th working day after the local day of ``opened_at``."""
        found = self._deadlines.get((opened_at, working_days))
        if found is None:
            found = self._deadlines.remember((opened_at, working_days),
                                             self._deadline(opened_at, working_days))
        return found

    def _deadline(self, opened_at: datetime, working_days: int) -> datetime:
        local = opened_at.astimezone(self.zone).date()
        due_day = self._due_days.get((local, working_days))
        if due_day is None:
            due_day = self._due_days.remember((local, working_days),
                                              self.add_working_days(local, working_days))
        return datetime.combine(due_day, time(23, 59, 59), tzinfo=self.zone)


# ------------------------------------------------------------------ the calendar table


@dataclass(frozen=True)
class CalendarStatus:
    """What admins see: years entered, and years needed soon that nobody entered."""

    known_years: tuple[int, ...]
    missing_years: tuple[int, ...]


def seed_from_package(conn: Connection, *, now: datetime,
                      years: Iterable[int] = range(2004, 2031)) -> list[int]:
    """Copy the package's schedule for years not yet in the table; the years added.

    Years an admin entered (or already seeded) are left alone, so seeding is repeatable.
    """
    present = set(conn.execute(select(YEARS.c.year)).scalars())
    wanted = [y for y in years if y not in present]
    days = package_days(wanted)
    added = sorted({d.year for d in days})
    if not added:
        return []
    conn.execute(YEARS.insert(), [{"year": y, "source": PACKAGE, "entered_at": now}
                                  for y in added])
    taken = set(conn.execute(select(DAYS.c.day).where(DAYS.c.day >= date(min(added), 1, 1),
                                                      DAYS.c.day <= date(max(added), 12, 31)))
                .scalars())
    rows = [{"day": d, "workday": w, "kind": WORKDAY if w else HOLIDAY, "note": "",
             "source": PACKAGE, "updated_at": now}
            for d, w in sorted(days.items()) if d not in taken]
    if rows:
        conn.execute(DAYS.insert(), rows)
    return added


def enter_year(conn: Connection, *, year: int, holidays: Iterable[date],
               workdays: Iterable[date], now: datetime) -> None:
    """An admin enters the State Council's schedule for ``year`` (replacing what was there)."""
    holidays, workdays = set(holidays), set(workdays)
    for day in holidays | workdays:
        if day.year != year:
            raise ValueError(f"{day} is not in {year}")
    conn.execute(delete(DAYS).where(DAYS.c.day >= date(year, 1, 1),
                                    DAYS.c.day <= date(year, 12, 31),
                                    DAYS.c.kind != COMPANY_OFF))
    company = set(conn.execute(select(DAYS.c.day).where(
        DAYS.c.day >= date(year, 1, 1), DAYS.c.day <= date(year, 12, 31))).scalars())
    rows = [{"day": d, "workday": False, "kind": HOLIDAY, "note": "", "source": ADMIN,
             "updated_at": now} for d in sorted(holidays - company)]
    rows += [{"day": d, "workday": True, "kind": WORKDAY, "note": "", "source": ADMIN,
              "updated_at": now} for d in sorted(workdays - company)]
    if rows:
        conn.execute(DAYS.insert(), rows)
    conn.execute(delete(YEARS).where(YEARS.c.year == year))
    conn.execute(YEARS.insert().values(year=year, source=ADMIN, entered_at=now))


def set_company_day_off(conn: Connection, *, day: date, note: str, now: datetime) -> None:
    """A company-specific day off (it does not make the year's official schedule known)."""
    conn.execute(delete(DAYS).where(DAYS.c.day == day))
    conn.execute(DAYS.insert().values(day=day, workday=False, kind=COMPANY_OFF, note=note[:200],
                                      source=ADMIN, updated_at=now))


def remove_company_day_off(conn: Connection, *, day: date) -> bool:
    return conn.execute(delete(DAYS).where(DAYS.c.day == day, DAYS.c.kind == COMPANY_OFF)
                        ).rowcount > 0


def load(conn: Connection, zone: ZoneInfo = DEFAULT_ZONE) -> WorkingCalendar:
    """The working calendar as the table says; years not in it count weekends only."""
    exceptions = {r.day: bool(r.workday) for r in conn.execute(select(DAYS.c.day,
                                                                        DAYS.c.workday))}
    known = set(conn.execute(select(YEARS.c.year)).scalars())
    return WorkingCalendar(exceptions, known_years=known, zone=zone, infer_known=False)


def status(conn: Connection, *, now: datetime, ahead_years: int = 1) -> CalendarStatus:
    """Known years, and this year and the next ``ahead_years`` that nobody has entered."""
    known = sorted(conn.execute(select(YEARS.c.year)).scalars())
    this_year = now.astimezone(DEFAULT_ZONE).year
    missing = [y for y in range(this_year, this_year + ahead_years + 1) if y not in known]
    return CalendarStatus(tuple(known), tuple(missing))


def zone_of(name: str | None) -> ZoneInfo:
    """A user's zone by name; the default (Asia/Shanghai) when unset or unknown."""
    if not name:
        return DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return DEFAULT_ZONE


def local_text(moment: datetime, zone: ZoneInfo = DEFAULT_ZONE) -> str:
    """A deadline as a user reads it: local date and time with the zone's abbreviation."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
