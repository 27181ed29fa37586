"""The one way to add, change or delete an answer: the rollup counts follow.

On PostgreSQL they follow in the same transaction. On SQLite, where every resident's answer
queues for the one write lock, a new answer's cells are counted behind it: the answers
stored after the watermark (``RollupWatermark``) are counted by the next reader of the
rollups, which calls ``rolled_up`` first (survey.stats.summaries), so what it reads is
exact. SQLite writes one transaction at a time, so ids are given in commit order and no
answer can slip in under the watermark; a change to an answer still behind it changes no
cell (the roll counts it as it then is). Written by hand: this is the counting rule itself.

Every route that stores answers (the resident form and the API, a device's replacement, phone
calls, visit interviews, bulk imports, the demo) and every change of what counts (a visit
deleted, a flagged answer reviewed) goes through these functions; the rollup writers are
private to this module. So that a new route cannot forget, a statement that inserts, updates
or deletes ``responses`` on a session's connection outside them raises UncountedAnswer (the
ORM's flushes are statements too). ``recount`` recomputes every count from the responses
(``flask rebuild-rollups``).
"""

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, delete, event, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, make_transient

from survey.db import MAX_ID, in_write_transaction, now_utc, write_transaction
from survey.driver_statements import DriverStatement
from survey.questionnaires.models import OVERALL_KEY, Question
from survey.responses.models import Answer, FormNonce, Response
from survey.responses.rollup_models import LEVELS, ResponseRollup, RollupWatermark
from survey.responses.rollups import cells_of, local_day, periods, zone


class UncountedAnswer(RuntimeError):
    """A response was inserted, changed or deleted without this module: a programming error
    (its counts would be wrong)."""


#: Set in a connection's ``info`` while this module writes responses.
_STORING = "answers_store"
#: How statements writing ``responses`` begin (upper case; SQLAlchemy writes them so).
_RESPONSE_WRITES = ("INSERT INTO RESPONSES ", "UPDATE RESPONSES ", "DELETE FROM RESPONSES ")


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_uncounted(connection, _cursor, statement, *_args) -> None:
    # Migrations and tools on a bare engine connection are left alone: only a session's
    # write transaction is checked (services write through one).
    if (
        (statement[:22] + " ").upper().startswith(_RESPONSE_WRITES)  # " ": DELETE FROM responses
        and not connection.info.get(_STORING)
        and in_write_transaction(connection)
    ):
        raise UncountedAnswer(
            "responses written outside survey.responses.answers_store: " + statement[:60]
        )


@contextmanager
def _storing(session: Session) -> Iterator:
    """Let the block write responses on the session's connection (yielded). Pending ORM
    changes are flushed first, outside: a response changed before it must not slip in."""
    session.flush()
    connection = session.connection()
    connection.info[_STORING] = True
    try:
        yield connection
    finally:
        connection.info.pop(_STORING, None)


# -- the rollup writers ---------------------------------------------------------------------

_rollups = ResponseRollup.__table__
_KEY = ["grain", "site_id", "day", "channel", "proxy"]
_COUNTS = [f"count_{level}" for level in LEVELS]
#: INSERT … ON CONFLICT DO UPDATE SET count_n = count_n + excluded.count_n, per dialect.
_UPSERT = {}
for _name, _dialect in (("sqlite", sqlite), ("postgresql", postgresql)):
    _statement = _dialect.insert(_rollups)
    _UPSERT[_name] = _statement.on_conflict_do_update(
        index_elements=_KEY, set_={c: _rollups.c[c] + _statement.excluded[c] for c in _COUNTS}
    )
#: Per level: subtract from that level's count in one cell.
_DECREMENT = {
    level: update(_rollups)
    .where(*(_rollups.c[key] == bindparam(f"k_{key}") for key in _KEY))
    .values({f"count_{level}": _rollups.c[f"count_{level}"] + bindparam("delta")})
    for level in LEVELS
}
#: Per level, one statement adding an answer to its three cells (PostgreSQL's submission hot
#: path; on SQLite a changed answer's), written as SQL (SQLAlchemy's executemany of the
#: upsert took 45 µs per answer and this takes 8; measured, bench/submit.py) and run on the
#: driver's cursor.
_ADD_THREE = {
    level: DriverStatement(
        text(
            f"INSERT INTO response_rollups (grain, site_id, day, channel, proxy, count_{level}) "
            "VALUES (:grain0, :site, :day0, :channel, :proxy, :delta), "
            "(:grain1, :site, :day1, :channel, :proxy, :delta), "
            "(:grain2, :site, :day2, :channel, :proxy, :delta) "
            "ON CONFLICT (grain, site_id, day, channel, proxy) "
            f"DO UPDATE SET count_{level} = response_rollups.count_{level} + excluded.count_{level}"
        ),
        writes=True,
    )
    for level in LEVELS
}


def _count(connection, *, site_id, created_at, channel, proxy, level, delta) -> None:
    """Add ``delta`` (+1 or -1) to the counts of one answer's cells."""
    cells = periods(local_day(created_at))
    if delta > 0:
        on_sqlite = connection.dialect.name == "sqlite"
        params = {"site": site_id, "channel": channel, "delta": delta}
        # SQLite gets the text SQLAlchemy's Date and Boolean store there.
        params["proxy"] = int(proxy) if on_sqlite else proxy
        for i, (grain, day) in enumerate(cells):
            params[f"grain{i}"], params[f"day{i}"] = grain, day.isoformat() if on_sqlite else day
        _ADD_THREE[level].one(connection, params)
        return
    # The cells exist; an upsert would check the counts on the row it tries first.
    keys = {"site_id": site_id, "channel": channel, "proxy": proxy}
    rows = [
        {f"k_{key}": value for key, value in (keys | {"grain": grain, "day": day}).items()}
        | {"delta": delta}
        for grain, day in cells
    ]
    connection.execute(_DECREMENT[level], rows)


def _count_response(connection, response: Response, delta: int) -> None:
    """Add (+1) or take out (-1) a stored response's answer; nothing for one left out of
    the rates (``Response.counted``: suspected stuffing not restored)."""
    if response.counted:
        _count(
            connection,
            site_id=response.site_id,
            created_at=response.created_at,
            channel=response.channel,
            proxy=response.proxy,
            level=response.overall,
            delta=delta,
        )


def _rows(cells: Counter) -> list[dict]:
    """Table rows of counts keyed like ``cells_of``'s: one per cell, a column per level."""
    rows = {}
    for (*key, level), n in cells.items():
        row = rows.get(tuple(key))
        if row is None:
            row = rows[tuple(key)] = dict(zip(_KEY, key, strict=True)) | dict.fromkeys(_COUNTS, 0)
        row[f"count_{level}"] += n
    return list(rows.values())


def _add_counts(connection, cells: Counter) -> None:
    """Add many counts at once (``cells`` as filled by ``cells_of``)."""
    values = _rows(cells)
    for start in range(0, len(values), 10_000):
        connection.execute(_UPSERT[connection.dialect.name], values[start : start + 10_000])


# -- one answer at a time: the resident hot path ----------------------------------------------

# Statements built once. They run on the driver's cursor (survey.driver_statements): the
# ORM's unit of work, and even SQLAlchemy's execution of Core statements, cost several times
# more while SQLite's write lock is held (docs/PERFORMANCE.md).
_responses, _answers, _nonces = Response.__table__, Answer.__table__, FormNonce.__table__
#: The columns of a response stored by ``add``, every one given (``submit_response``).
RESPONSE_COLUMNS = (
    "site_id", "version_id", "channel", "overall", "comment", "device_id", "proxy", "visit_id",
    "created_at", "client_hash", "agent_hash", "flag", "flag_reasons",
)  # fmt: skip
_INSERT_RESPONSE = DriverStatement(insert(_responses).returning(_responses.c.id), RESPONSE_COLUMNS)
#: Many at once, ids back in the order of the rows.
_INSERT_RESPONSES = insert(_responses).returning(_responses.c.id, sort_by_parameter_order=True)
_INSERT_ANSWERS = insert(_answers)
_ADD_ANSWERS = DriverStatement(
    _INSERT_ANSWERS, ("response_id", "question_id", "choice", "choices", "text")
)
#: INSERT … ON CONFLICT DO NOTHING RETURNING for the nonce, in each supported dialect.
_CLAIM_NONCE = {
    name: DriverStatement(
        dialect.insert(_nonces)
        .on_conflict_do_nothing(index_elements=[_nonces.c.nonce])
        .returning(_nonces.c.nonce),
        ("nonce", "response_id", "used_at"),
    )
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


def claim_nonce(connection, nonce: str, response_id: int) -> bool:
    """Record ``nonce`` for ``response_id``; False when it was used already. A concurrent
    claim waits for the other transaction, then finds it taken (PostgreSQL)."""
    params = {"nonce": nonce, "response_id": response_id, "used_at": now_utc()}
    return _CLAIM_NONCE[connection.dialect.name].one(connection, params) is not None


def add(session: Session, values: dict, answers: list[dict], nonce: str | None) -> int | None:
    """Store one response (``values`` of RESPONSE_COLUMNS, ``flag`` among them) with its
    ``answers`` rows and count it unless flagged (on SQLite the next reader does); returns
    its id. A ``nonce`` used before
    stores nothing and returns None: it is claimed with INSERT … ON CONFLICT DO NOTHING after
    the rows, which are removed again when it is taken (nothing extra on the common path:
    repeats are rare)."""
    with _storing(session) as connection:
        (response_id,) = _INSERT_RESPONSE.one(connection, values)
        _ADD_ANSWERS.many(connection, (row | {"response_id": response_id} for row in answers))
        if nonce is not None and not claim_nonce(connection, nonce, response_id):
            # Its answers go with it (ON DELETE CASCADE).
            connection.execute(delete(_responses).where(_responses.c.id == response_id))
            return None
        if values["flag"] is None and not _behind(connection):
            _count(
                connection,
                site_id=values["site_id"],
                created_at=values["created_at"],
                channel=values["channel"],
                proxy=values["proxy"],
                level=values["overall"],
                delta=1,
            )
    return response_id


@contextmanager
def changing(session: Session, responses: list[Response]) -> Iterator[None]:
    """Change stored ``responses`` in the block (their score, their flag, their answers):
    they are taken out of the counts before it and counted as they are after it (nothing
    for those left out of the rates)."""
    with _storing(session) as connection:
        in_cells = list(filter(_in_cells(connection), responses))
        for response in in_cells:
            _count_response(connection, response, -1)
        yield
        session.flush()
        for response in in_cells:
            _count_response(connection, response, +1)


def remove(session: Session, responses: list[Response]) -> None:
    """Delete stored ``responses`` (their answers go with them) and take them out of the
    counts. They leave the session: deleting what still lists them (a visit its interviews)
    passes them by instead of deleting them again."""
    removed = list(responses)
    with _storing(session) as connection:
        in_cells = _in_cells(connection)
        for response in removed:
            if in_cells(response):
                _count_response(connection, response, -1)
            session.delete(response)
        session.flush()
        _after_deleting(connection)
    for response in removed:
        for answer in response.answers:
            make_transient(answer)
        make_transient(response)


# -- many at once --------------------------------------------------------------------------


def add_all(session: Session, responses: list[Response]) -> None:
    """Store ``responses`` built as models with their answers (the demo's weeks of answers)
    and count them, all at once."""
    cells: Counter = Counter()
    with _storing(session) as connection, _counting_along(connection):
        session.add_all(responses)
        session.flush()
        tz = zone()
        for r in responses:
            if r.counted:
                day = r.created_at.astimezone(tz).date()
                cells_of(r.site_id, day, r.channel, r.proxy, r.overall, cells)
        _add_counts(connection, cells)


def import_responses(session: Session, rows: list[dict], chunk: int = 10_000) -> int:
    """Store many already validated responses at once (historical or paper answers, or a
    benchmark's load): dicts with site_id, version_id, channel, overall, created_at and
    optionally proxy and comment. Each response gets its overall answer row; the rollup
    counts grow by the same amounts in the same transaction. Returns how many were stored.
    Call inside the write transaction."""
    overall_question = dict(
        session.execute(
            select(Question.version_id, Question.id).where(
                Question.key == OVERALL_KEY,
                Question.version_id.in_({row["version_id"] for row in rows}),
            )
        ).all()
    )
    cells: Counter = Counter()
    tz = zone()
    with _storing(session) as connection, _counting_along(connection):
        for start in range(0, len(rows), chunk):
            part = [
                {"proxy": False, "comment": "", "device_id": None, "visit_id": None} | row
                for row in rows[start : start + chunk]
            ]
            ids = _insert_many(connection, part)
            connection.execute(
                _INSERT_ANSWERS,
                [
                    {
                        "response_id": response_id,
                        "question_id": overall_question[row["version_id"]],
                        "choice": row["overall"],
                        "text": None,
                    }
                    for response_id, row in zip(ids, part, strict=True)
                ],
            )
            for row in part:
                day = row["created_at"].astimezone(tz).date()
                cells_of(row["site_id"], day, row["channel"], row["proxy"], row["overall"], cells)
        _add_counts(connection, cells)
    return len(rows)


def _insert_many(connection, rows: list[dict]) -> list[int]:
    """Insert response rows; returns their ids in order. SQLAlchemy can return ids in row
    order from PostgreSQL in batches, but on SQLite only one row per statement (measured:
    half the load time); there, under the write lock, ids are handed out from max(id)."""
    if connection.dialect.name != "sqlite":
        return connection.execute(_INSERT_RESPONSES, rows).scalars().all()
    first = (connection.execute(select(func.max(_responses.c.id))).scalar() or 0) + 1
    ids = list(range(first, first + len(rows)))
    connection.execute(
        insert(_responses), [row | {"id": i} for i, row in zip(ids, rows, strict=True)]
    )
    return ids


def recount(session: Session) -> int:
    """Recompute every count from the responses (after a restore, a repair or a move between
    SQLite and PostgreSQL), the answers behind the watermark too; returns how many responses
    were read. Call inside a write transaction."""
    connection = session.connection()
    # On SQLite the watermark moves to the last answer counted here (PostgreSQL, counting
    # each answer in its transaction, reads every committed one: one committing meanwhile
    # would otherwise be left out).
    last = _last_response(connection) if _behind(connection) else MAX_ID
    cells, read = _counted_cells(connection, 0, last)
    connection.execute(delete(_rollups))
    _add_counts(connection, cells)
    if _behind(connection):
        _set_watermark(connection, last)
    return read


#: The counted answers with ids from ``after`` (excluded) to ``last``, as the cells count them.
_COUNTED = (
    select(
        Response.site_id, Response.created_at, Response.channel, Response.proxy, Response.overall
    )
    .where(Response.id > bindparam("after"), Response.id <= bindparam("last"), Response.counted)
    .execution_options(yield_per=10_000)
)


def _counted_cells(connection, after: int, last: int) -> tuple[Counter, int]:
    """The cells of the counted answers with ids from ``after`` (excluded) to ``last`` (as
    ``cells_of`` keys them), and how many answers were read."""
    cells: Counter = Counter()
    read = 0
    tz = zone()
    rows = connection.execute(_COUNTED, {"after": after, "last": last})
    for site_id, created_at, channel, proxy, level in rows:
        cells_of(site_id, created_at.astimezone(tz).date(), channel, proxy, level, cells)
        read += 1
    return cells, read


# -- counted behind: SQLite ------------------------------------------------------------------

_marks = RollupWatermark.__table__
_LAST_RESPONSE = select(func.coalesce(func.max(_responses.c.id), 0))
_WATERMARK = select(func.coalesce(func.max(_marks.c.response_id), 0))
#: Whether any answer is behind the watermark: one read before every read of the rollups.
_ANY_BEHIND = select(_LAST_RESPONSE.scalar_subquery() > _WATERMARK.scalar_subquery())


def _behind(connection) -> bool:
    """Whether new answers are counted behind their transaction (SQLite) or in it."""
    return connection.dialect.name == "sqlite"


def _last_response(connection) -> int:
    return connection.execute(_LAST_RESPONSE).scalar_one()


def _watermark(connection) -> int:
    return connection.execute(_WATERMARK).scalar_one()


def _set_watermark(connection, response_id: int) -> None:
    """Say that the rollups count every answer up to ``response_id``."""
    if connection.execute(update(_marks).values(response_id=response_id)).rowcount == 0:
        connection.execute(insert(_marks).values(id=1, response_id=response_id))


def _in_cells(connection) -> Callable[[Response], bool]:
    """Whether a stored response is in the rollup cells already (else the roll counts it as
    it will then be: a change to it changes no cell)."""
    if not _behind(connection):
        return lambda _response: True
    mark = _watermark(connection)
    return lambda response: response.id <= mark


def _after_deleting(connection) -> None:
    """SQLite gives the next answer the id after the largest left, so the ids of the newest
    answers just deleted come again: the watermark goes back below them, where the answers
    that will carry them are not counted yet."""
    if _behind(connection):
        last = _last_response(connection)
        if last < _watermark(connection):
            _set_watermark(connection, last)


#: How many ids a reader counts per write transaction: a long backlog (a quiet dashboard on
#: a busy day) is counted in turns with the residents' answers, never in one long hold of
#: the write lock.
ROLL_BATCH = 5_000


def _roll(connection, batch: int | None = None) -> None:
    """Count the answers behind the watermark (the next ``batch`` ids of them, or all) into
    their cells and move it past them."""
    after, last = _watermark(connection), _last_response(connection)
    if batch is not None:
        last = min(last, after + batch)
    if last <= after:
        return
    _add_counts(connection, _counted_cells(connection, after, last)[0])
    _set_watermark(connection, last)


@contextmanager
def _counting_along(connection) -> Iterator[None]:
    """For a block that counts what it stores itself (the bulk paths, faster from the rows
    in hand): on SQLite, what is behind is counted first and the watermark passes the
    block's answers after it."""
    if not _behind(connection):
        yield
        return
    _roll(connection)
    yield
    _set_watermark(connection, _last_response(connection))


def rolled_up(session: Session) -> None:
    """Make the rollups count every answer stored so far: on SQLite, those behind the
    watermark are counted now, inside the open write transaction or else in write
    transactions of their own, ROLL_BATCH ids each. Every reader of the rollups calls it
    first. (May raise DatabaseBusy, as any write.)"""
    connection = session.connection()
    if not _behind(connection):
        return
    if in_write_transaction(connection):
        _roll(connection)
        return
    while session.connection().execute(_ANY_BEHIND).scalar_one():
        with write_transaction(session):
            _roll(session.connection(), ROLL_BATCH)
