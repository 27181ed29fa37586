"""The database handle, the declarative base and the engine settings every model relies on."""

from datetime import UTC, datetime

from flask import has_request_context, request
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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()


def configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Make SQLite durable and deadlock-free for concurrent writers.

    WAL lets readers run beside one writer; ``synchronous=FULL`` fsyncs every commit, so an
    acknowledged answer survives a power cut. pysqlite's own implicit BEGIN is switched off
    so that we emit the BEGIN ourselves: ``BEGIN IMMEDIATE`` takes the write lock up front for
    anything but GET/HEAD, so two submissions never both read under a shared lock and then
    deadlock upgrading it (SQLITE_BUSY without waiting for the busy timeout).
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
        read_only = has_request_context() and request.method in ("GET", "HEAD")
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def render_migration_item(type_, obj, _autogen_context):
    """Alembic autogenerate hook: write UTCDateTime as the plain DateTime it stores, so
    migration scripts never import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
