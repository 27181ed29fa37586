"""The one way to write (survey/db.py write_transaction), on every backend."""

import pytest
from sqlalchemy import delete, func, select, text, update

from survey.db import StaleRow, WriteOutsideTransaction, db, take_turns, write_transaction
from survey.questionnaires.models import Questionnaire


def _names(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(Questionnaire.name).order_by(Questionnaire.id)))


def test_rows_added_outside_the_helper_are_refused_and_nothing_is_stored(app):
    with app.app_context():
        db.session.add(Questionnaire(name="outside"))
        with pytest.raises(WriteOutsideTransaction, match="Questionnaire"):
            db.session.flush()
        db.session.rollback()
    with app.test_request_context("/admin/", method="POST"):  # in a request just the same
        db.session.add(Questionnaire(name="outside"))
        with pytest.raises(WriteOutsideTransaction):
            db.session.scalar(select(func.count()).select_from(Questionnaire))  # autoflush
        db.session.rollback()
    assert _names(app) == []


def test_rows_changed_or_deleted_outside_the_helper_are_refused(app):
    with app.app_context(), write_transaction(db.session):
        db.session.add(Questionnaire(name="kept"))
    with app.app_context():
        questionnaire = db.session.scalars(select(Questionnaire)).one()
        questionnaire.name = "renamed"
        with pytest.raises(WriteOutsideTransaction):
            db.session.flush()
        db.session.rollback()
        db.session.delete(questionnaire)
        with pytest.raises(WriteOutsideTransaction):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(WriteOutsideTransaction, match="UPDATE questionnaires"):
            db.session.execute(update(Questionnaire).values(name="bulk"))
        db.session.rollback()
        # Core statements on the session's connection (as services write on the hot path).
        with pytest.raises(WriteOutsideTransaction, match="DELETE FROM questionnaires"):
            db.session.connection().execute(delete(Questionnaire))
        db.session.rollback()
    assert _names(app) == ["kept"]


def test_a_block_that_ends_normally_is_committed(app):
    with app.app_context():
        with write_transaction(db.session):
            db.session.add(Questionnaire(name="a"))
            db.session.execute(update(Questionnaire).values(name="b"))
        with write_transaction(db.session):  # one after the other in one context
            db.session.add(Questionnaire(name="c"))
    assert _names(app) == ["b", "c"]


def test_an_exception_inside_rolls_everything_back_and_is_raised(app):
    class Refused(Exception):
        pass

    with app.app_context():
        with pytest.raises(Refused), write_transaction(db.session):
            db.session.add(Questionnaire(name="gone"))
            db.session.flush()  # already sent to the database
            raise Refused
        # The session writes again only inside the helper.
        db.session.add(Questionnaire(name="outside"))
        with pytest.raises(WriteOutsideTransaction):
            db.session.flush()
        db.session.rollback()
    assert _names(app) == []


def test_a_locked_row_that_no_longer_passes_its_check_refuses_with_nothing_written(app):
    with app.app_context(), write_transaction(db.session):
        db.session.add(Questionnaire(name="staged"))
    with app.app_context():
        row = db.session.scalars(select(Questionnaire)).one()
        with app.app_context(), write_transaction(db.session):  # another request, meanwhile
            db.session.scalars(select(Questionnaire)).one().name = "imported"
        with (
            pytest.raises(StaleRow),
            write_transaction(db.session, row, lambda r: r.name == "staged"),
        ):
            db.session.add(Questionnaire(name="never"))
        assert row.name == "imported"  # read again under the lock
    assert _names(app) == ["imported"]


def test_a_transaction_inside_another_is_a_programming_error(app):
    with app.app_context():
        with pytest.raises(WriteOutsideTransaction, match="inside another"):
            with write_transaction(db.session):
                db.session.add(Questionnaire(name="outer"))
                with write_transaction(db.session):
                    pass
    assert _names(app) == []


def test_take_turns_holds_an_advisory_lock_until_the_transaction_ends(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("advisory locks are PostgreSQL's; SQLite's write lock already serializes")
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    with app.app_context():
        with write_transaction(db.session):
            take_turns(db.session.connection(), "site:device")
            assert db.session.execute(held).scalar() == 1
        assert db.session.execute(held).scalar() == 0
