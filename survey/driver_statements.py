"""Core statements run straight on the database driver's cursor, for the resident hot path.

Each submission runs a handful of small statements while SQLite's write lock is held, and
SQLAlchemy's execution layer (execution context, events, result wrapping) took about 30 µs
of each where the driver needs 3 (measured: docs/PERFORMANCE.md). A ``DriverStatement`` is
compiled by SQLAlchemy once per dialect, and its parameters are converted by the column
types' own bind processors, so the SQL and the stored values are exactly what SQLAlchemy
would send; only the per-call machinery is skipped. Written here because SQLAlchemy has no
such lighter path.

What is skipped with it: the ``before_cursor_execute`` checks. So a statement that writes
runs only inside ``write_transaction`` (checked on every call), and writes to ``responses``
stay in ``survey.responses.answers_store``. Rows come back as named tuples of the values
SQLAlchemy would give (times, JSON and booleans converted by the column types).
"""

from collections import namedtuple
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from sqlalchemy.sql import ClauseElement

from survey.db import WriteOutsideTransaction, in_write_transaction


class _Compiled(NamedTuple):
    sql: str
    #: The parameters' names, in order when the driver's style is positional.
    names: list[str]
    #: Per name, the column type's conversion for the driver, where it has one.
    processors: dict
    #: The values the statement holds itself (a LIMIT's).
    fixed: dict
    positional: bool
    #: The rows' type (a named tuple of the selected or returned columns) and, per column,
    #: the column type's conversion from the driver, where it has one.
    row: type | None
    converters: list


class DriverStatement:
    """``statement`` (a Core insert, select, …, or ``text()`` with ``:name`` parameters)
    ready to run on a connection's cursor. ``columns`` names the VALUES of an insert: each
    call must give all of them (the Python-side column defaults are not applied here).
    ``writes`` says whether it writes: Core statements know, ``text()`` must be told."""

    def __init__(
        self,
        statement: ClauseElement,
        columns: Sequence[str] | None = None,
        *,
        writes: bool | None = None,
    ):
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self.writes = getattr(statement, "is_dml", False) if writes is None else writes
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.columns)
            processors = {}
            for name, bind in compiled.binds.items():
                processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    processors[name] = processor
            columns = list(getattr(self.statement, "exported_columns", []))
            row = namedtuple("Row", [c.key for c in columns], rename=True) if columns else None
            found = self._compiled[dialect.name] = _Compiled(
                compiled.string,
                list(compiled.positiontup if compiled.positional else compiled.binds),
                processors,
                {name: bind.value for name, bind in compiled.binds.items() if not bind.required},
                compiled.positional,
                row,
                [c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns],
            )
        return found

    def _parameters(self, connection, params: dict) -> tuple[str, tuple | dict]:
        """The SQL and the driver's parameters; KeyError names a parameter not given."""
        compiled = self._for(connection.dialect)
        given = compiled.fixed | params
        processors = compiled.processors
        args = [
            processors[name](given[name]) if name in processors else given[name]
            for name in compiled.names
        ]
        if compiled.positional:
            return compiled.sql, tuple(args)
        return compiled.sql, dict(zip(compiled.names, args, strict=True))

    def _cursor(self, connection):
        if self.writes and not in_write_transaction(connection):
            raise WriteOutsideTransaction("a driver statement wrote outside write_transaction()")
        return connection.connection.driver_connection.cursor()

    def all(self, connection, params: dict) -> list:
        """Run it with ``params`` and return its rows, as named tuples of converted values."""
        compiled = self._for(connection.dialect)
        sql, args = self._parameters(connection, params)
        cursor = self._cursor(connection)
        try:
            cursor.execute(sql, args)
            found = cursor.fetchall() if cursor.description is not None else []
        finally:
            cursor.close()
        if not any(compiled.converters):
            return [compiled.row._make(values) for values in found]
        return [
            compiled.row._make(
                value if convert is None or value is None else convert(value)
                for convert, value in zip(compiled.converters, values, strict=True)
            )
            for values in found
        ]

    def one(self, connection, params: dict) -> tuple | None:
        """Its first row (see ``all``), or None when it has none."""
        found = self.all(connection, params)
        return found[0] if found else None

    def many(self, connection, rows: Iterable[dict]) -> None:
        """Run it once per row of ``rows`` (an insert's many rows), returning nothing."""
        batch = [self._parameters(connection, row) for row in rows]
        if not batch:
            return
        cursor = self._cursor(connection)
        try:
            cursor.executemany(batch[0][0], [args for _sql, args in batch])
        finally:
            cursor.close()
