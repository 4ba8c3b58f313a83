"""Working days on the Chinese calendar.

The calendar knows, per date, whether it is a working day. Known years come from a
table the admins maintain (seeded from the ``chinese_calendar`` package for the years it
covers); a year nobody has entered falls back to plain weekends and is reported by
:meth:`WorkingCalendar.unknown_years`, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


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
    ) -> None:
        self._exceptions = dict(exceptions or {})
        self._known = set(known_years) | {d.year for d in self._exceptions}
        self.zone = zone

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
        return day.weekday() < 5

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
        local = opened_at.astimezone(self.zone).date()
        due_day = self.add_working_days(local, working_days)
        return datetime.combine(due_day, time(23, 59, 59), tzinfo=self.zone)
