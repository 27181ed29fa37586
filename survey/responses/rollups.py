"""Answer counts per site, period, channel and level, kept in step with the responses.

The dashboard reads these instead of the responses. Each answer is counted three times: in
its local day, its calendar month and all time (``models.GRAINS``); a read picks the
coarsest cells that tile its date range (``period``), so without a date filter it scans at
most sites × channels × 2 cells (proxy answers apart), however many answers there are.
Every service that adds, changes or deletes a response adjusts the counts in the same
transaction (``count``); ``rebuild`` recomputes them all from the responses
(``flask rebuild-rollups``).
"""

from collections import Counter
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey import config
from survey.responses.models import Response
from survey.responses.rollup_models import ALL_TIME, LEVELS, ResponseRollup

#: Days are the bureaus' local days (a month's report ends at local midnight).
ZONE = ZoneInfo(config.TIMEZONE)
#: The open ends of a date range.
EARLIEST, LATEST = ALL_TIME, date(2099, 12, 31)

_rollups = ResponseRollup.__table__
_KEY = ["grain", "site_id", "day", "channel", "proxy"]
_COUNTS = [f"count_{level}" for level in LEVELS]
#: INSERT … ON CONFLICT DO UPDATE SET count_n = count_n + excluded.count_n, per dialect.
_UPSERT = {}
for _name, _dialect in (("sqlite", sqlite), ("postgresql", postgresql)):
    _statement = _dialect.insert(_rollups)
    _UPSERT[_name] = _statement.on_conflict_do_update(
        index_elements=_KEY,
        set_={c: _rollups.c[c] + _statement.excluded[c] for c in _COUNTS},
    )
#: Per level: subtract from that level's count in one cell.
_DECREMENT = {
    level: update(_rollups)
    .where(*(_rollups.c[key] == bindparam(f"k_{key}") for key in _KEY))
    .values({f"count_{level}": _rollups.c[f"count_{level}"] + bindparam("delta")})
    for level in LEVELS
}


#: Per level and dialect, one statement adding an answer to its three cells: the
#: submission's hot path, written as SQL because SQLAlchemy's executemany of the upsert
#: took 45 µs of the write lock per answer and this takes 8 (measured; bench/submit.py).
_ADD_THREE_SQL = (
    "INSERT INTO response_rollups (grain, site_id, day, channel, proxy, {count}) "
    "VALUES ({p}, {p}, {p}, {p}, {p}, {p}), ({p}, {p}, {p}, {p}, {p}, {p}), "
    "({p}, {p}, {p}, {p}, {p}, {p}) "
    "ON CONFLICT (grain, site_id, day, channel, proxy) "
    "DO UPDATE SET {count} = response_rollups.{count} + excluded.{count}"
)
_ADD_THREE = {
    (level, dialect): _ADD_THREE_SQL.format(count=f"count_{level}", p=p)
    for level in LEVELS
    for dialect, p in (("sqlite", "?"), ("postgresql", "%s"))
}


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


def _periods(day: date) -> list[tuple[str, date]]:
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


def count(
    session: Session,
    *,
    site_id: int,
    created_at: datetime,
    channel: str,
    proxy: bool,
    level: int,
    delta: int,
) -> None:
    """Add ``delta`` (+1 or -1) to the counts of one response's cells."""
    connection = session.connection()
    periods = _periods(local_day(created_at))
    if delta > 0:
        dialect = connection.dialect.name
        params = []
        for grain, day in periods:
            if dialect == "sqlite":  # the text SQLAlchemy's Date stores there
                params += [grain, site_id, day.isoformat(), channel, int(proxy), delta]
            else:
                params += [grain, site_id, day, channel, proxy, delta]
        connection.exec_driver_sql(_ADD_THREE[(level, dialect)], tuple(params))
        return
    # The cells exist; an upsert would check the counts on the row it tries first.
    keys = {"site_id": site_id, "channel": channel, "proxy": proxy}
    rows = [
        {f"k_{key}": value for key, value in (keys | {"grain": grain, "day": day}).items()}
        | {"delta": delta}
        for grain, day in periods
    ]
    connection.execute(_DECREMENT[level], rows)


def count_response(session: Session, response: Response, delta: int) -> None:
    """Add (+1) or take out (-1) a stored response's answer; nothing for one left out of
    the rates (``Response.counted``: suspected stuffing not restored)."""
    if not response.counted:
        return
    count(
        session,
        site_id=response.site_id,
        created_at=response.created_at,
        channel=response.channel,
        proxy=response.proxy,
        level=response.overall,
        delta=delta,
    )


def uncount(session: Session, responses) -> None:
    """Take responses about to be deleted out of the counts."""
    for response in responses:
        count_response(session, response, -1)


def cells_of(site_id: int, day: date, channel: str, proxy: bool, level: int, counter: Counter):
    """Count one answer of ``day`` into ``counter`` at every grain, keyed (grain, site,
    period start, channel, proxy, level)."""
    for grain, start in _periods(day):
        counter[(grain, site_id, start, channel, proxy, level)] += 1


def _rows(cells: Counter) -> list[dict]:
    """Table rows of counts keyed like ``cells_of``'s: one per cell, a column per level."""
    rows = {}
    for (*key, level), n in cells.items():
        row = rows.get(tuple(key))
        if row is None:
            row = rows[tuple(key)] = dict(zip(_KEY, key, strict=True)) | dict.fromkeys(_COUNTS, 0)
        row[f"count_{level}"] += n
    return list(rows.values())


def add_counts(session: Session, cells: Counter) -> None:
    """Add many counts at once (``cells`` as filled by ``cells_of``): the bulk path of
    ``responses.services.import_responses``."""
    connection = session.connection()
    values = _rows(cells)
    for start in range(0, len(values), 10_000):
        connection.execute(_UPSERT[connection.dialect.name], values[start : start + 10_000])


def rebuild(session: Session, batch: int = 10_000) -> int:
    """Recompute every count from the responses; returns how many responses were read.
    Call inside a write transaction."""
    cells: Counter = Counter()
    rows = session.execute(
        select(
            Response.site_id,
            Response.created_at,
            Response.channel,
            Response.proxy,
            Response.overall,
        )
        .where(Response.counted)
        .execution_options(yield_per=batch)
    )
    read = 0
    for site_id, created_at, channel, proxy, level in rows:
        cells_of(site_id, local_day(created_at), channel, proxy, level, cells)
        read += 1
    session.execute(delete(ResponseRollup))
    values = _rows(cells)
    for start in range(0, len(values), batch):
        session.execute(insert(_rollups), values[start : start + batch])
    return read
