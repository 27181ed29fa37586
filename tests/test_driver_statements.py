"""Core statements run on the driver's cursor (survey/driver_statements.py), on every backend:
the same SQL and stored values as SQLAlchemy's own execution, and no write outside the one
write transaction."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select

from survey.db import WriteOutsideTransaction, db, write_transaction
from survey.driver_statements import DriverStatement
from survey.questionnaires.models import Questionnaire

_questionnaires = Questionnaire.__table__
ADD = DriverStatement(
    insert(_questionnaires).returning(_questionnaires.c.id), ("name", "created_at")
)
#: A LIMIT is a value the statement holds itself.
FIRST_NAMED = DriverStatement(
    select(_questionnaires.c.id, _questionnaires.c.name)
    .where(_questionnaires.c.name.like(bindparam("pattern")))
    .order_by(_questionnaires.c.id)
    .limit(1)
)
STORED = DriverStatement(
    select(_questionnaires.c.name, _questionnaires.c.created_at).order_by(_questionnaires.c.id)
)
WHEN = datetime(2026, 12, 7, 8, 30, 15, 123456, tzinfo=UTC)


def test_rows_are_stored_as_sqlalchemy_would_store_them(app):
    with app.app_context():
        with write_transaction(db.session):
            connection = db.session.connection()
            (first,) = ADD.one(connection, {"name": "甲问卷", "created_at": WHEN})
            ADD.many(connection, [{"name": f"乙{i}", "created_at": WHEN} for i in range(3)])
        stored = db.session.get(Questionnaire, first)
        assert (stored.name, stored.created_at) == ("甲问卷", WHEN)  # the time zone kept
        names = db.session.scalars(select(Questionnaire.name).order_by(Questionnaire.id))
        assert list(names) == ["甲问卷", "乙0", "乙1", "乙2"]
        connection = db.session.connection()
        found = FIRST_NAMED.one(connection, {"pattern": "乙%"})
        assert (found.id, found.name) == (first + 1, "乙0")
        assert FIRST_NAMED.one(connection, {"pattern": "丙%"}) is None
        # Values come back converted by the column types, as SQLAlchemy's own would.
        rows = STORED.all(connection, {})
        assert rows == [tuple(row) for row in db.session.execute(STORED.statement)]
        assert rows[0].created_at == WHEN and rows[0].created_at.tzinfo is not None


def test_a_write_outside_the_write_transaction_is_refused(app):
    with app.app_context():
        connection = db.session.connection()
        with pytest.raises(WriteOutsideTransaction):
            ADD.one(connection, {"name": "outside", "created_at": WHEN})
        with pytest.raises(WriteOutsideTransaction):
            ADD.many(connection, [{"name": "outside", "created_at": WHEN}])
        db.session.rollback()
        assert db.session.scalars(select(Questionnaire)).all() == []


def test_every_column_of_an_insert_must_be_given(app):
    with app.app_context(), pytest.raises(KeyError, match="created_at"):
        with write_transaction(db.session):
            ADD.one(db.session.connection(), {"name": "no time"})
    with app.app_context():
        assert db.session.scalars(select(Questionnaire)).all() == []
