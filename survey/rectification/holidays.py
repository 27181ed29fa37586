"""The years the working-day calendar knows, as the admins' holidays page lists them, and the
holiday notices admins enter for the years ``chinese-calendar`` does not cover (or to
correct one it does). Every notice saved is a line in the audit log."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.db import now_utc
from survey.rectification.models import HolidayNotice
from survey.rectification.workdays import (
    PACKAGE,
    WorkCalendar,
    Year,
    assumption_note,
    notice_year,
    package_years,
)


@dataclass(frozen=True)
class CalendarYear:
    """One year as the holidays page lists it: its days, and its notice (None: the
    package's, read only)."""

    year: int
    days: Year
    notice: HolidayNotice | None

    @property
    def from_package(self) -> bool:
        return self.notice is None

    @property
    def overrides_package(self) -> bool:
        """An entered notice for a year the package covers too."""
        return self.notice is not None and self.year in package_years()

    @property
    def days_off(self) -> str:
        """The days off (weekends among them) as runs: 「10月1日至10月7日、…」."""
        return spans(self.days.days_off)

    @property
    def workdays(self) -> str:
        return spans(self.days.workdays)


@dataclass(frozen=True)
class CalendarPage:
    """Every year the calendar knows, newest first, and what it says of this year and the
    next when either is missing (「2027年的放假安排尚未录入，按周一至周五计算」, or "")."""

    years: list[CalendarYear]
    missing: str


def spans(days) -> str:
    """Days as runs of consecutive days: 「2月15日至2月23日、4月4日」; 「无」 for none."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    named = (_month_day(run[0]) + (f"至{_month_day(run[-1])}" if run[1:] else "") for run in runs)
    return "、".join(named) or "无"


def _month_day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _notice_of(session: Session, year: int) -> HolidayNotice | None:
    return session.scalars(select(HolidayNotice).where(HolidayNotice.year == year)).first()


def calendar_page(session: Session, this_year: int) -> CalendarPage:
    """The years for the holidays page (``this_year``: the bureaus' current year)."""
    years = {year: CalendarYear(year, days, None) for year, days in package_years().items()}
    for notice in session.scalars(select(HolidayNotice)):
        years[notice.year] = CalendarYear(notice.year, notice_year(notice), notice)
    calendar = WorkCalendar({year: row.days for year, row in years.items()})
    missing = calendar.assumed_years(date(this_year, 1, 1), date(this_year + 1, 12, 31))
    rows = [years[year] for year in sorted(years, reverse=True)]
    return CalendarPage(rows, assumption_note(missing))


def notice_form(session: Session, year: int | None) -> dict[str, str]:
    """The notice form of ``year`` as first shown: its notice's days and source, or the
    package's days (to correct them), one a line; empty for a year neither covers or none."""
    if year is None:
        return {}
    notice = _notice_of(session, year)
    days = notice_year(notice) if notice else package_years().get(year)
    if days is None:
        return {"year": str(year)}
    return {
        "year": str(year),
        "days_off": "\n".join(day.isoformat() for day in sorted(days.days_off)),
        "workdays": "\n".join(day.isoformat() for day in sorted(days.workdays)),
        "source": "" if days.source == PACKAGE else days.source,
    }


def save_notice(session: Session, actor: Actor, values: dict) -> HolidayNotice:
    """Enter ``values`` (``year``, ``days_off`` and ``workdays`` as sorted dates,
    ``source``) as the year's notice, replacing the one entered before, by ``actor``;
    audited (``holiday_notice_saved``). From then on the year's deadlines count its days,
    not the package's. Never commits."""
    year = values["year"]
    notice = _notice_of(session, year)
    replaced = notice is not None
    if notice is None:
        notice = HolidayNotice(year=year)
        session.add(notice)
    notice.days_off = [day.isoformat() for day in values["days_off"]]
    notice.workdays = [day.isoformat() for day in values["workdays"]]
    notice.source = values["source"]
    notice.entered_by = actor.user
    notice.entered_at = now_utc()
    session.flush()
    what = "替换" if replaced else ("覆盖 chinese-calendar" if year in package_years() else "录入")
    counts = f"放假 {len(notice.days_off)} 天，调休上班 {len(notice.workdays)} 天"
    record(session, "holiday_notice_saved", actor, f"{year}年（{what}）：{counts}；{notice.source}")
    return notice
