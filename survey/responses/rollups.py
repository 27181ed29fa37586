"""Answer counts per site, period, channel and level: how they are keyed and read.

The dashboard reads these instead of the responses. Each answer is counted three times: in
its local day, its calendar month and all time (``models.GRAINS``); a read picks the
coarsest cells that tile its date range (``period``), so without a date filter it scans at
most sites × channels × 2 cells (proxy answers apart), however many answers there are.
Only ``answers_store`` writes them: in the transaction that adds, changes or deletes the
answer, except a new answer on SQLite, counted by the next reader (``answers_store.rolled_up``).
"""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, or_

from survey.responses.rollup_models import ALL_TIME, ResponseRollup

#: The open ends of a date range.
EARLIEST, LATEST = ALL_TIME, date(2099, 12, 31)


def zone() -> ZoneInfo:
    """The bureaus' time zone (``TIMEZONE`` in the app's config, as for calling hours): days
    are local days, and a month's report ends at local midnight."""
    return ZoneInfo(current_app.config["TIMEZONE"])  # ZoneInfo keeps one instance per key


def local_day(moment: datetime) -> date:
    return moment.astimezone(zone()).date()


def periods(day: date) -> list[tuple[str, date]]:
    """The three cells an answer of ``day`` counts in."""
    return [("day", day), ("month", day.replace(day=1)), ("all", ALL_TIME)]


def month_after(first: date) -> date:
    return (first.replace(day=1) + timedelta(days=32)).replace(day=1)


def period(date_from: date | None, date_to: date | None):
    """A WHERE condition selecting cells that together count each answer of the local
    days from ``date_from`` to ``date_to`` (both inclusive, either open) exactly once:
    all time when unbounded, whole months from the month cells, the days at either end
    from the day cells."""
    if date_from is None and date_to is None:
        return ResponseRollup.grain == "all"
    low, high = date_from or EARLIEST, date_to or LATEST
    first_full = low if low.day == 1 else month_after(low)  # first whole month
    after_last = month_after(high) if month_after(high) - timedelta(days=1) == high else None
    after_last = after_last or high.replace(day=1)  # the day after the last whole month
    if first_full >= after_last:  # no whole month inside: days only
        return and_(ResponseRollup.grain == "day", ResponseRollup.day.between(low, high))
    parts = [
        and_(
            ResponseRollup.grain == "month",
            ResponseRollup.day >= first_full,
            ResponseRollup.day < after_last,
        )
    ]
    if low < first_full:
        parts.append(
            and_(
                ResponseRollup.grain == "day",
                ResponseRollup.day.between(low, first_full - timedelta(days=1)),
            )
        )
    if after_last <= high:
        parts.append(
            and_(ResponseRollup.grain == "day", ResponseRollup.day.between(after_last, high))
        )
    return or_(*parts)


def cells_of(site_id: int, day: date, channel: str, proxy: bool, level: int, counter: Counter):
    """Count one answer of ``day`` into ``counter`` at every grain, keyed (grain, site,
    period start, channel, proxy, level)."""
    for grain, start in periods(day):
        counter[(grain, site_id, start, channel, proxy, level)] += 1
