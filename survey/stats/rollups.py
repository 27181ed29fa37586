"""Answer counts per site, local day, channel and level, kept in step with the responses.

The dashboard reads these instead of the responses: its cost grows with sites × days, not
with the number of answers. Every service that adds, changes or deletes a response adjusts
the counts in the same transaction (``count``); ``rebuild`` recomputes them all from the
responses (``flask rebuild-rollups``).
"""

from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey import config
from survey.responses.models import Response
from survey.stats.models import ResponseRollup

#: Days are the bureaus' local days (a month's report ends at local midnight).
ZONE = ZoneInfo(config.TIMEZONE)

_rollups = ResponseRollup.__table__
_KEY = ["site_id", "day", "channel", "proxy", "level"]
#: INSERT … ON CONFLICT DO UPDATE SET count = count + excluded.count, per dialect.
_UPSERT = {}
for _name, _dialect in (("sqlite", sqlite), ("postgresql", postgresql)):
    _statement = _dialect.insert(_rollups)
    _UPSERT[_name] = _statement.on_conflict_do_update(
        index_elements=_KEY, set_={"count": _rollups.c.count + _statement.excluded.count}
    )


_DECREMENT = (
    update(_rollups)
    .where(*(_rollups.c[key] == bindparam(f"k_{key}") for key in _KEY))
    .values(count=_rollups.c.count + bindparam("delta"))
)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


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
    """Add ``delta`` (+1 or -1) to the count of one response's cell."""
    connection = session.connection()
    values = {
        "site_id": site_id,
        "day": local_day(created_at),
        "channel": channel,
        "proxy": proxy,
        "level": level,
        "count": delta,
    }
    if delta > 0:
        connection.execute(_UPSERT[connection.dialect.name], values)
    else:  # the cell exists; an upsert would check count >= 0 on the row it tries first
        keys = {f"k_{key}": values[key] for key in _KEY}
        connection.execute(_DECREMENT, keys | {"delta": delta})


def uncount(session: Session, responses) -> None:
    """Take responses about to be deleted out of the counts."""
    for r in responses:
        count(
            session,
            site_id=r.site_id,
            created_at=r.created_at,
            channel=r.channel,
            proxy=r.proxy,
            level=r.overall,
            delta=-1,
        )


def add_counts(session: Session, cells: Counter) -> None:
    """Add many counts at once: ``cells`` maps (site_id, day, channel, proxy, level) to how
    many answers to add (the bulk path of ``responses.services.import_responses``)."""
    connection = session.connection()
    values = [dict(zip(_KEY, key, strict=True), count=n) for key, n in cells.items()]
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
        ).execution_options(yield_per=batch)
    )
    read = 0
    for site_id, created_at, channel, proxy, level in rows:
        cells[(site_id, local_day(created_at), channel, proxy, level)] += 1
        read += 1
    session.execute(delete(ResponseRollup))
    values = [dict(zip(_KEY, key, strict=True), count=n) for key, n in cells.items()]
    for start in range(0, len(values), batch):
        session.execute(insert(_rollups), values[start : start + batch])
    return read
