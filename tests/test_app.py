"""The app as a whole: configuration, health check, error pages, database settings."""

import fcntl
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from prometheus_client import REGISTRY
from sqlalchemy import event, text
from sqlalchemy.exc import StatementError

from survey import create_app, database_uri, instance_secret
from survey.db import WriteOutsideTransaction, app_now, db, migration_includes, write_transaction
from survey.questionnaires.models import Questionnaire
from survey.responses.models import Response
from tests.helpers import answer, app_settings, log_in


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("", "sqlite:////srv/instance/survey.db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_url_defaults_to_sqlite_and_uses_psycopg3(url, expected):
    assert database_uri(url, "/srv/instance") == expected


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = instance_secret(str(tmp_path))
    assert len(first) == 64
    assert instance_secret(str(tmp_path)) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_app_clock_stands_at_its_moment_in_utc_and_a_moment_without_zone_is_refused():
    def app_at(moment: str):
        return create_app(app_settings("sqlite://") | {"APP_CLOCK": moment})

    assert app_now(app_at("2026-10-26T10:00:00+08:00")) == datetime(2026, 10, 26, 2, tzinfo=UTC)
    assert app_now(app_at("")) > datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="needs its zone"):
        app_at("2026-10-26T10:00:00")
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        app_at("26号")


def test_healthz_answers_ok_when_the_database_answers(client):
    reply = client.get("/healthz")
    assert reply.status_code == 200
    assert reply.get_json() == {"status": "ok"}


def test_healthz_answers_503_when_the_database_is_gone():
    app = create_app(app_settings("postgresql+psycopg://nobody@127.0.0.1:9/none"))
    reply = app.test_client().get("/healthz")
    assert reply.status_code == 503
    assert reply.get_json()["status"] == "unavailable"
    assert reply.headers["Retry-After"] == "30"


#: The metric operators alert on (survey/observability.py).
DOWN = "survey_database_errors_total"


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/s/ABCDEFGHJK", None),
        ("POST", "/s/ABCDEFGHJK", {"q.overall": "5", "nonce": "n" * 32}),
        ("POST", "/login", {"username": "admin", "password": "secret"}),
        ("GET", "/dashboard/", None),
        ("POST", "/checks/tasks/1/attempts", {"outcome": "busy"}),
    ],
)
def test_pages_answer_503_with_retry_after_when_the_database_is_gone(method, path, data, caplog):
    """PostgreSQL stopped: the resident form, an answer, logging in and the staff pages (of
    a staff member logged in before) say 「系统正在维护」 with Retry-After, never a 500 or an
    answer that looks stored."""
    settings = app_settings("postgresql+psycopg://nobody@127.0.0.1:9/none")
    app = create_app(settings | {"WTF_CSRF_ENABLED": False})
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:1"
    counted = REGISTRY.get_sample_value(DOWN, {"kind": "unavailable"}) or 0
    reply = client.open(path, method=method, data=data)
    assert REGISTRY.get_sample_value(DOWN, {"kind": "unavailable"}) == counted + 1
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "30"
    page = reply.get_data(as_text=True)
    assert "系统正在维护" in page and "Traceback" not in page
    assert "database unavailable" in caplog.text


def test_the_api_answers_503_as_json_when_the_database_is_gone():
    app = create_app(app_settings("postgresql+psycopg://nobody@127.0.0.1:9/none"))
    reply = app.test_client().get("/api/v1/sites/ABCDEFGHJK")
    assert reply.status_code == 503
    assert reply.headers["Retry-After"] == "30"
    assert reply.get_json()["message"] == "服务暂不可用，请稍后再试。"


def test_errors_are_chinese_pages_without_stack_traces(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # behave as in production, not as in tests
    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    text_ = page.get_data(as_text=True)
    assert "系统出了点问题" in text_
    assert "secret internals" not in text_ and "Traceback" not in text_
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "没有找到这个页面" in missing.get_data(as_text=True)
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and "GET" in wrong.headers["Allow"]


def test_a_database_refusal_answers_the_error_page_to_staff_too(app, make_user):
    """A statement the database refuses (on PostgreSQL the transaction is then aborted)
    still answers the Chinese page, never a trace, for a logged-in user whose page frame
    reads from the database."""

    @app.get("/refused")
    def refused():
        db.session.execute(text("SELECT * FROM no_such_table"))

    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = log_in(app.test_client(), "admin", make_user())
    for url in ("/refused", "/refused?again=1"):
        page = client.get(url)
        text_ = page.get_data(as_text=True)
        assert page.status_code == 500 and "系统出了点问题" in text_
        assert "no_such_table" not in text_ and "Traceback" not in text_


def test_api_errors_are_json(app):
    @app.get("/api/v1/boom")
    def api_boom():
        raise RuntimeError("secret internals")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    reply = app.test_client().get("/api/v1/boom")
    assert reply.status_code == 500
    assert reply.is_json and "secret internals" not in reply.get_data(as_text=True)
    missing = app.test_client().get("/api/v1/nothing")
    assert missing.status_code == 404 and missing.get_json()["code"] == 404


def test_sqlite_is_durable_and_writes_take_the_lock_up_front(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite settings; PostgreSQL has its own durability (fsync on commit)")
    begun = []

    def trace(dbapi_connection, _record, _proxy):
        # What SQLite itself runs: BEGIN IMMEDIATE goes straight to the driver's cursor.
        dbapi_connection.set_trace_callback(begun.append)

    with app.app_context():
        event.listen(db.engine, "checkout", trace)
        assert db.session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert db.session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
        db.session.rollback()
        with app.test_request_context("/s/X", method="POST"):
            db.session.execute(text("SELECT 1"))  # the read phase holds no lock, no transaction
            with write_transaction(db.session):
                db.session.add(Questionnaire(name="q"))
            db.session.execute(text("SELECT 1"))
            # SQL the session does not see as a write is refused by the connection.
            with pytest.raises(WriteOutsideTransaction, match="wrote outside write_transaction"):
                db.session.execute(text("INSERT INTO questionnaires (name) VALUES ('q2')"))
            db.session.rollback()
    # Outside a request (CLI, this test) a plain BEGIN; a request reads without a transaction
    # and writes only inside write_transaction(), under BEGIN IMMEDIATE.
    assert [s for s in begun if s.startswith("BEGIN")] == ["BEGIN", "BEGIN IMMEDIATE"]


def _sqlite_only(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the writers' file lock exists on SQLite only")


def _lock_path(app) -> str:
    with app.app_context():
        return f"{db.engine.url.database}.write-lock"


def test_a_writer_that_waits_out_the_busy_timeout_gets_503_and_stores_nothing(
    app, make_site, count
):
    _sqlite_only(app)
    site = make_site()
    holder = os.open(_lock_path(app), os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # another process is writing, and stays
        busy = create_app(app.config | {"SQLITE_BUSY_TIMEOUT_MS": 200})
        client = busy.test_client()
        reply = answer(client, site.token, overall="5")
        assert reply.status_code == 503
        assert "稍后再试" in reply.get_data(as_text=True)
    finally:
        os.close(holder)
    assert count(Response) == 0
    assert answer(client, site.token, overall="5").status_code == 303  # the lock was let go
    with busy.app_context():
        db.engine.dispose()


def test_a_command_that_only_reads_holds_no_lock(app, make_site):
    _sqlite_only(app)
    make_site()
    probe = os.open(_lock_path(app), os.O_RDWR)
    try:
        with app.app_context():
            db.session.scalars(db.select(Questionnaire)).all()  # a CLI read, still open
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # would raise if it were held
            fcntl.flock(probe, fcntl.LOCK_UN)
            with write_transaction(db.session), pytest.raises(BlockingIOError):
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the commit
    finally:
        os.close(probe)


def test_times_come_back_aware_in_utc_and_naive_ones_are_refused(app):
    east8 = timezone(timedelta(hours=8))
    with app.app_context():
        with write_transaction(db.session):
            q = Questionnaire(name="q", created_at=datetime(2026, 1, 1, 8, tzinfo=east8))
            db.session.add(q)
        db.session.expire_all()
        stored = db.session.get(Questionnaire, q.id).created_at
        assert stored == datetime(2026, 1, 1, tzinfo=UTC)
        assert stored.utcoffset() == timedelta(0)
        with pytest.raises(StatementError, match="naive"), write_transaction(db.session):
            db.session.add(Questionnaire(name="n", created_at=datetime(2026, 1, 1)))


def test_migrations_match_the_models(app):
    with app.app_context(), db.engine.connect() as conn:
        options = {"include_name": migration_includes}
        diff = compare_metadata(MigrationContext.configure(conn, opts=options), db.metadata)
    assert diff == []
