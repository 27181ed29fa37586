"""Working days as Chinese offices count them, for the 核实, 整改 and 回访 deadlines.

A day is worked when it is a weekday that is not a public holiday, or a Saturday or Sunday
worked instead of one (调休). The days come from the ``chinese-calendar`` package (each
year's State Council notice, 2004–2026 in 1.11.0) and from the notices admins enter for the
years after it (``HolidayNotice``). **A notice replaces its year whole, a year the package
covers too**: the package's days of that year are not read, so an admin can correct the
package as well as extend it. A year neither covers is counted Monday–Friday, and every
deadline or count that crosses it names it (``assumed_years``), for the pages to say so.

A deadline of *n* working days is the *n*-th working day after the day the answer arrived:
that day itself is not counted, worked or not.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.rectification.models import HolidayNotice

#: Where a year's days come from when the package has them.
PACKAGE = "chinese-calendar"
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Year:
    """One year's days off and weekend days worked, and where they come from (``PACKAGE`` or
    a notice's source)."""

    days_off: frozenset[date]
    workdays: frozenset[date]
    source: str


@dataclass(frozen=True)
class Deadline:
    """The day a step is due, and the years on the way counted Monday–Friday for want of
    their holidays."""

    due: date
    assumed_years: tuple[int, ...]


@dataclass(frozen=True)
class WorkingDays:
    """A number of working days (an overdue case's), and the years counted Monday–Friday."""

    count: int
    assumed_years: tuple[int, ...]


def assumption_note(assumed_years: Iterable[int]) -> str:
    """What a page says beside a deadline counted with assumed years:
    「2027年的放假安排尚未录入，按周一至周五计算」; "" when there are none."""
    years = "、".join(f"{year}年" for year in assumed_years)
    return f"{years}的放假安排尚未录入，按周一至周五计算" if years else ""


@cache
def package_years() -> dict[int, Year]:
    """Every year the package covers (as it decides: from its first holiday's year to its
    last's), with its days."""
    first, last = min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year
    days = {year: (set(), set()) for year in range(first, last + 1)}
    for kind, found in enumerate((chinese_calendar.holidays, chinese_calendar.workdays)):
        for day in found:
            days[day.year][kind].add(day)
    return {
        year: Year(frozenset(off), frozenset(worked), PACKAGE)
        for year, (off, worked) in days.items()
    }


def notice_year(notice: HolidayNotice) -> Year:
    """A notice's days as the calendar reads them."""
    return Year(frozenset(notice.off_days), frozenset(notice.worked_days), notice.source)


class WorkCalendar:
    """Working days over ``years`` (year → its Year); any other year is Monday–Friday."""

    def __init__(self, years: Mapping[int, Year]):
        self.years = dict(years)

    def is_workday(self, day: date) -> bool:
        """Whether ``day`` is worked: a weekday not off, or a weekend day worked (调休)."""
        year = self.years.get(day.year)
        if year is None:
            return day.weekday() < 5
        return day in year.workdays or (day.weekday() < 5 and day not in year.days_off)

    def assumed_years(self, first: date, last: date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` (both counted) that the calendar lacks."""
        return tuple(y for y in range(first.year, last.year + 1) if y not in self.years)

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The ``n``-th working day after ``start`` (``start`` itself never counts): a step
        due within ``n`` working days of ``start``. Raises ValueError for ``n`` < 1."""
        if n < 1:
            raise ValueError(f"a deadline is at least one working day away, not {n}")
        day, counted = start, 0
        while counted < n:
            day += ONE_DAY
            counted += self.is_workday(day)
        return Deadline(day, self.assumed_years(start + ONE_DAY, day))

    def working_days_between(self, start: date, end: date) -> WorkingDays:
        """The working days after ``start`` up to and including ``end`` (0 when ``end`` is
        not after ``start``): how many working days a case due on ``start`` is overdue on
        ``end``, counted as ``add_working_days`` counts, so that
        ``working_days_between(s, add_working_days(s, n).due).count == n``."""
        if end <= start:
            return WorkingDays(0, ())
        days = (start + ONE_DAY * i for i in range(1, (end - start).days + 1))
        count = sum(self.is_workday(day) for day in days)
        return WorkingDays(count, self.assumed_years(start + ONE_DAY, end))


def work_calendar(session: Session) -> WorkCalendar:
    """The package's years with the admins' notices over them (a notice replaces its year
    whole)."""
    notices = session.scalars(select(HolidayNotice))
    return WorkCalendar(package_years() | {n.year: notice_year(n) for n in notices})
