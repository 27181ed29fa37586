"""The database handle, the declarative base and the engine settings every model relies on."""

from contextvars import ContextVar
from datetime import UTC, datetime

from flask import has_request_context
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


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


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime},
    )


# Loaded objects stay usable after a commit: a request ends its read phase with a commit
# (see begin_write) and must not reload everything it already holds.
db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()

#: Set while begin_write() opens a transaction: that one takes SQLite's write lock up front.
_writing: ContextVar[bool] = ContextVar("writing", default=False)


def begin_write(session) -> None:
    """End the request's read phase and start the transaction that writes.

    Requests read first (site, questionnaire, validation) in a plain transaction that holds
    no lock; only the write phase takes SQLite's write lock, with ``BEGIN IMMEDIATE``, so
    concurrent writers queue for as short a time as possible and never deadlock upgrading a
    read lock. On PostgreSQL this is just a transaction boundary.
    """
    session.commit()
    token = _writing.set(True)
    try:
        session.connection()
    finally:
        _writing.reset(token)


def configure_sqlite(engine: Engine, busy_timeout_ms: int, strict: bool = False) -> None:
    """Make SQLite durable and deadlock-free for concurrent writers.

    WAL lets readers run beside one writer; ``synchronous=FULL`` fsyncs every commit, so an
    acknowledged answer survives a power cut. pysqlite's own implicit BEGIN is switched off so
    that we emit the BEGIN ourselves: ``BEGIN IMMEDIATE`` inside begin_write() and outside
    requests (CLI commands), a plain ``BEGIN`` for a request's read phase. With ``strict``
    (tests), a request that writes without begin_write() raises instead of risking
    SQLITE_BUSY when its read lock cannot be upgraded.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        immediate = _writing.get() or not has_request_context()
        connection.info["immediate"] = immediate
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    if strict:

        @event.listens_for(engine, "before_cursor_execute")
        def _check_write(connection, _cursor, statement, *_args):
            if connection.info.get("immediate") is False and statement.lstrip()[:6].upper() in (
                "INSERT",
                "UPDATE",
                "DELETE",
            ):
                raise RuntimeError("a request wrote outside begin_write(): " + statement[:60])


def render_migration_item(type_, obj, _autogen_context):
    """Alembic autogenerate hook: write UTCDateTime as the plain DateTime it stores, so
    migration scripts never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
