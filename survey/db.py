"""The database handle, the declarative base and the engine settings every model relies on."""

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import has_request_context
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    bindparam,
    event,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, registry
from sqlalchemy.pool import Pool
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator
from werkzeug.routing import IntegerConverter

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The largest id a row can have (PostgreSQL's ``integer``). A larger number names no row, but
#: the database raises on it rather than find nothing.
MAX_ID = 2**31 - 1


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in a URL is a row's id: a number past MAX_ID matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def one_of(column: str, values: Iterable[str]) -> CheckConstraint:
    """A check constraint, named after ``column``, that keeps it to ``values`` (the keys of
    a model's dict of states, say: the allowed values are spelt once)."""
    return CheckConstraint(f"{column} in ({', '.join(repr(v) for v in values)})", name=column)


def label_of(column: str, labels: dict[str, str]) -> property:
    """A read-only property: the value stored in ``column`` as people read it,
    ``labels[value]`` (the dict ``one_of`` keeps the column to)."""
    return property(lambda row: labels[getattr(row, column)])


def unique_within(parent: str, column: str, top_index: str) -> tuple[UniqueConstraint, Index]:
    """``column`` unique among the rows of one ``parent``, and among the rows without a parent
    too: SQL's UNIQUE lets NULL parents share a value (no NULL equals another), so those
    rows get a partial unique index named ``top_index``."""
    top = text(f"{parent} IS NULL")
    return (
        UniqueConstraint(parent, column),
        Index(top_index, column, unique=True, sqlite_where=top, postgresql_where=top),
    )


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def app_now(app) -> datetime:
    """The current time by ``app``'s clock: ``app.extensions["clock"]`` where a test set
    one, else now_utc()."""
    return app.extensions.get("clock", now_utc)()


def fixed_clock(moment: str):
    """A clock standing at ``moment`` (ISO 8601 with its zone; APP_CLOCK), for app_now.
    Raises ValueError, naming the setting, for a moment without a zone or not a time."""
    try:
        at = datetime.fromisoformat(moment)
    except ValueError:
        raise ValueError(f"APP_CLOCK is not an ISO 8601 time: {moment!r}") from None
    if at.tzinfo is None:
        raise ValueError(f"APP_CLOCK needs its zone, e.g. {moment}+08:00")
    at = at.astimezone(UTC)
    return lambda: at


class UTCDateTime(TypeDecorator):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite has no time zones and hands back naive values, PostgreSQL hands back the
    session's zone; written by hand because SQLAlchemy leaves this to the application.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store times in UTC with tzinfo")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _IdList(TypeDecorator):
    """Row ids bound as one parameter: an integer array on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(Integer))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value, dialect):
        ids = sorted(value)
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _InIds(FunctionElement):
    type = Boolean()
    inherit_cache = True
    # A condition in itself: without this SQLAlchemy writes "… = 1" after it on SQLite, and
    # SQLite then uses no index for it.
    _is_implicitly_boolean = True


def in_ids(column, ids) -> ColumnElement[bool]:
    """``column IN ids``, the ids bound as one parameter whatever their number.

    Written by hand because SQLAlchemy's ``in_`` writes one placeholder per id into the SQL
    at every execution: for a city's 91 regions, that and psycopg's conversion of a
    statement too long for its cache took ~3 ms of a 20 ms dashboard request on
    PostgreSQL (bench/dashboard.py). Here the SQL stays the same and is cached."""
    return _InIds(column, bindparam(None, frozenset(ids), type_=_IdList()))


@compiles(_InIds)
def _in_json(element, compiler, **kw):
    column, ids = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} IN (SELECT value FROM json_each({ids}))"


@compiles(_InIds, "postgresql")
def _in_array(element, compiler, **kw):
    column, ids = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} = ANY({ids})"


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


# Loaded objects stay usable after a commit: a request ends its read phase with a commit
# (see _begin_write) and must not reload everything it already holds.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()


class DatabaseBusy(Exception):
    """Another writer held SQLite's write lock for longer than the busy timeout."""


#: Set while _begin_write() opens a new transaction outside a request (CLI commands).
_writing: ContextVar[bool] = ContextVar("writing", default=False)
#: Set while a request is served outside Flask's request context (serving_request()).
_serving: ContextVar[bool] = ContextVar("serving", default=False)


@contextmanager
def serving_request() -> Iterator[None]:
    """Run the block as a request: on SQLite it reads without a transaction and writes in
    write_transaction(), as it would inside Flask's request context. For the WSGI layer
    that answers a request before Flask (survey.responses.before_flask) in an app context
    only; there it would otherwise read in a command's deferred transaction, ended by a
    commit and a second pool checkout before it writes (measured: a tenth of an answer's
    time)."""
    token = _serving.set(True)
    try:
        yield
    finally:
        _serving.reset(token)


def _begin_write(session) -> None:
    """Start the write phase: write_transaction's first step.

    On SQLite a request reads without a transaction and without locks, and a CLI command
    reads in a plain (deferred) transaction; this starts the transaction that writes with
    ``BEGIN IMMEDIATE``, after queueing on a file lock, so concurrent writers never deadlock
    upgrading a read lock and hold the write lock only while writing. On PostgreSQL the
    transaction simply goes on.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite" or connection.info.get("immediate"):
        return
    if connection.info.get("immediate") is False:  # a request: no transaction is open yet
        _begin_immediate(connection)
        return
    session.commit()  # end the command's read transaction; the next one writes
    token = _writing.set(True)
    try:
        session.connection()
    finally:
        _writing.reset(token)


#: The key in ``Session.info`` set while write_transaction() runs its block.
_IN_WRITE = "write_transaction"


class WriteOutsideTransaction(RuntimeError):
    """Rows were added, changed or deleted outside write_transaction(): a programming error."""


class StaleRow(Exception):
    """The row a write transaction locked no longer passes its check: another request
    changed it since this one read it (a staged upload confirmed or cancelled twice at
    once). Nothing was written."""


@contextmanager
def write_transaction(
    session, lock=None, check: Callable[[object], bool] | None = None
) -> Iterator[None]:
    """The one way to write: begin the write phase (see _begin_write), run the block,
    commit when it ends normally, roll back and re-raise on any exception. A view refuses a
    change by raising a domain error inside the block and turning it into a page outside.

    ``lock``: a row read again and locked until the commit, so requests that change it take
    turns, each seeing what the one before wrote (a double click); when ``check(lock)`` no
    longer holds then, raises StaleRow. Outside this block the session refuses to write
    (WriteOutsideTransaction), on every backend.
    """
    if session.info.get(_IN_WRITE):
        raise WriteOutsideTransaction("write_transaction() inside another one")
    try:
        _begin_write(session)
        session.info[_IN_WRITE] = True
        if lock is not None:
            session.refresh(lock, with_for_update=True)
            if check is not None and not check(lock):
                raise StaleRow(lock)
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop(_IN_WRITE, None)


@event.listens_for(Session, "before_flush")
def _refuse_flush_outside(session, _flush_context, _instances) -> None:
    if session.info.get(_IN_WRITE):
        return
    if session.new or session.deleted or any(session.is_modified(row) for row in session.dirty):
        raise WriteOutsideTransaction(
            "rows added, changed or deleted outside write_transaction(): "
            + ", ".join(sorted({type(row).__name__ for row in (*session.new, *session.dirty)}))
        )


#: The key in a pooled connection's ``info`` holding the ``info`` of the session using it.
_SESSION_INFO = "session_info"


@event.listens_for(Session, "after_begin")
def _watch_connection(session, _transaction, connection) -> None:
    # Services write with Core statements on the session's connection too (the resident hot
    # path, rollups, rosters): those are checked by _refuse_sql_outside.
    connection.info[_SESSION_INFO] = session.info


def in_write_transaction(connection) -> bool:
    """Whether ``connection`` is a session's, inside write_transaction() (for checks on the
    statements a service runs; a bare engine connection, as migrations use, is not)."""
    session_info = connection.info.get(_SESSION_INFO)
    return session_info is not None and bool(session_info.get(_IN_WRITE))


@event.listens_for(Engine, "before_cursor_execute")
def _refuse_sql_outside(connection, _cursor, statement, *_args) -> None:
    session_info = connection.info.get(_SESSION_INFO)
    if session_info is None or session_info.get(_IN_WRITE):
        return
    if statement.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE")):
        raise WriteOutsideTransaction(
            "a statement wrote outside write_transaction(): " + statement.strip()[:60]
        )


@event.listens_for(Pool, "checkin")
def _forget_session(_dbapi_connection, record) -> None:
    if record is not None:
        record.info.pop(_SESSION_INFO, None)


def take_turns(connection, name: str) -> None:
    """On PostgreSQL, make the transactions that say ``name`` take turns until they end
    (a transaction-scoped advisory lock on a hash of it); SQLite's write lock already does."""
    if connection.dialect.name == "postgresql":
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        # On the driver's connection, in the transaction SQLAlchemy's commit ends: through
        # SQLAlchemy's execution this took a sixth of a resident's answer on PostgreSQL
        # (twice per answer; docs/PERFORMANCE.md).
        connection.connection.driver_connection.execute("SELECT pg_advisory_xact_lock(%s)", (key,))


def _acquire(lock: int, timeout_s: float) -> None:
    """Take the writers' file lock, waiting at most ``timeout_s``. Raises DatabaseBusy.

    flock() has no timeout, so a waiter retries with naps that start at 0.1 ms and double up
    to 2 ms: a write holds the lock about half a millisecond, so the lock changes hands
    promptly, where SQLite's own busy handler backs off to 100 ms naps (measured: 2 workers
    then stored fewer answers than 1).
    """
    deadline = time.monotonic() + timeout_s
    nap = 0.0001
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DatabaseBusy("another writer holds the database") from None
            time.sleep(nap)
            nap = min(nap * 2, 0.002)


#: The key in a session's ``info`` holding the writers' file lock it took, until its commit.
_HELD_LOCK = "held_write_lock"


def _begin_immediate(connection) -> None:
    record = connection.connection._connection_record
    lock = record.info.get("write_lock")
    if lock is not None:
        _acquire(lock, record.info["busy_timeout_s"])
        session_info = connection.info.get(_SESSION_INFO)
        if session_info is not None:
            session_info[_HELD_LOCK] = lock
    # On the driver's cursor: SQLAlchemy's execution took 15 µs of the 20 the statement
    # costs, with the writers' lock already held.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE")
    connection.info["immediate"] = True


@event.listens_for(Session, "after_commit")
def _release_lock(session) -> None:
    # The next writer may go as soon as SQLite has committed, not only once the connection
    # is back in the pool (the checkin releases it otherwise: after a rollback).
    lock = session.info.pop(_HELD_LOCK, None)
    if lock is not None:
        fcntl.flock(lock, fcntl.LOCK_UN)


@event.listens_for(Session, "after_rollback")
def _forget_lock(session) -> None:
    session.info.pop(_HELD_LOCK, None)  # released at the checkin


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Make SQLite durable, and quick and deadlock-free for concurrent writers.

    WAL lets readers run beside one writer; ``synchronous=FULL`` fsyncs every commit, so an
    acknowledged answer survives a power cut. pysqlite's implicit transactions are switched off
    and we begin them ourselves: a request's reads run without a transaction (each statement
    sees the latest commit, as under PostgreSQL's READ COMMITTED) and its writes inside
    write_transaction(); a request that writes without it raises rather than write outside a
    transaction. Outside requests (CLI commands, migrations) transactions begin deferred, so
    a long read takes no lock; commands write inside write_transaction() too.
    """
    lock_path = f"{engine.url.database}.write-lock" if engine.url.database else None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, record):
        if lock_path:
            record.info["write_lock"] = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        record.info["busy_timeout_s"] = busy_timeout_ms / 1000
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        if _writing.get():
            _begin_immediate(connection)
        elif _serving.get() or has_request_context():
            connection.info["immediate"] = False  # reads without a transaction
        else:
            connection.info["immediate"] = None
            connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _check_write(connection, _cursor, statement, *_args):
        if connection.info.get("immediate") is False and statement.lstrip()[:9].upper().startswith(
            ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")
        ):
            raise WriteOutsideTransaction(
                "a request wrote outside write_transaction(): " + statement[:60]
            )

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        # A connection goes back to the pool only after its transaction has ended.
        if record is not None:
            record.info.pop("immediate", None)
            if record.info.get("write_lock") is not None:
                fcntl.flock(record.info["write_lock"], fcntl.LOCK_UN)

    @event.listens_for(engine, "close")
    def _on_close(_dbapi_connection, record):
        if record is not None and record.info.get("write_lock") is not None:
            os.close(record.info.pop("write_lock"))


def migration_includes(name, type_, _parent_names) -> bool:
    """Alembic autogenerate hook: leave out the tables a model lists as its PostgreSQL
    partitions (``info["partitions"]``): migrations make them, the models do not."""
    if type_ != "table":
        return True
    tables = db.metadata.tables.values()
    return not any(name in table.info.get("partitions", ()) for table in tables)


def render_migration_item(type_, obj, _autogen_context):
    """Alembic autogenerate hook: write UTCDateTime as the plain DateTime it stores, so
    migration scripts never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
