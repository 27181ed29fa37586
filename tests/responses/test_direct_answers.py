"""A resident's well-formed answer is taken before Flask (survey/responses/direct_answers.py);
everything else reaches the view with its body whole, and nothing is lost or stored twice."""

import pytest
from flask import request
from sqlalchemy import event

from survey.db import db
from survey.responses import answering
from survey.responses.models import Response
from tests.helpers import answer, open_form


def _flask_requests(app) -> list[str]:
    """Paths that went through Flask's request machinery from now on."""
    seen: list[str] = []

    def note():
        seen.append(request.path)

    app.before_request_funcs.setdefault(None, []).append(note)
    return seen


def test_a_well_formed_answer_never_reaches_flask_and_gets_the_same_reply(
    app, client, make_site, count
):
    site = make_site()
    nonce = open_form(client, site.token)
    through_flask = _flask_requests(app)
    posted = answer(client, site.token, nonce, overall="4", attitude="1", comment="很好")
    assert through_flask == []
    assert posted.status_code == 303
    assert posted.headers["Location"] == f"/s/{site.token}/thanks"
    assert posted.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in posted.headers["Content-Security-Policy"]
    assert posted.headers["Set-Cookie"].startswith("sid=")
    assert count(Response) == 1
    # The same phone again within the window: its answer is replaced, and said so.
    again = answer(client, site.token, overall="5")
    assert again.headers["Location"] == f"/s/{site.token}/thanks?updated=1"
    assert count(Response) == 1


def test_on_sqlite_an_answer_reads_without_a_transaction_and_writes_in_one(app, client, make_site):
    """As in Flask's request context: one connection from the pool, the reads outside any
    transaction, then BEGIN IMMEDIATE … COMMIT (not a command's read transaction, committed
    before a second connection writes)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's transactions; PostgreSQL's session reads and writes in one")
    site = make_site()
    nonce = open_form(client, site.token)
    run, checkouts = [], []

    def trace(dbapi_connection, _record, _proxy):
        checkouts.append(1)
        dbapi_connection.set_trace_callback(run.append)

    with app.app_context():
        event.listen(db.engine, "checkout", trace)
    through_flask = _flask_requests(app)
    assert answer(client, site.token, nonce, overall="4").status_code == 303
    assert through_flask == []
    transactions = [s for s in run if s.split()[0] in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert transactions == ["BEGIN IMMEDIATE", "COMMIT"]
    assert run.index("BEGIN IMMEDIATE") > 0  # the site and its questions were read first
    assert len(checkouts) == 1


def test_a_refused_answer_reaches_the_view_with_its_body(app, client, make_site, count):
    site = make_site()
    through_flask = _flask_requests(app)
    page = answer(client, site.token, "forged", overall="5", comment="留言还在")
    assert through_flask == [f"/s/{site.token}"]
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert 'value="5" checked' in text and "留言还在" in text
    assert count(Response) == 0


def test_an_answer_under_a_prefix_is_sent_on_under_it(app, client, make_site):
    site = make_site()
    nonce = open_form(client, site.token)
    posted = client.post(
        f"/s/{site.token}",
        data={"nonce": nonce, "q.overall": "5"},
        environ_overrides={"SCRIPT_NAME": "/survey"},
    )
    assert posted.headers["Location"] == f"/survey/s/{site.token}/thanks"


def test_an_error_while_storing_is_left_to_the_view_which_stores_it_once(
    app, client, make_site, count, monkeypatch
):
    site = make_site()
    nonce = open_form(client, site.token)
    take, calls = answering.take, []

    def failing_once(*args):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return take(*args)

    monkeypatch.setattr(answering, "take", failing_once)
    posted = answer(client, site.token, nonce, overall="3")
    assert posted.status_code == 303
    assert len(calls) == 2  # here, then in the view
    assert count(Response) == 1
    with app.app_context():
        assert db.session.scalars(db.select(Response.overall)).all() == [3]


def test_a_body_that_is_not_urlencoded_goes_to_the_view(app, client, make_site, count):
    site = make_site()
    nonce = open_form(client, site.token)
    through_flask = _flask_requests(app)
    posted = client.post(
        f"/s/{site.token}",
        data={"nonce": nonce, "q.overall": "5"},
        content_type="multipart/form-data",
    )
    assert through_flask == [f"/s/{site.token}"]
    assert posted.status_code == 303
    assert count(Response) == 1


def test_an_empty_or_unreadable_body_gets_the_views_clear_answer(app, client, make_site, count):
    site = make_site()
    through_flask = _flask_requests(app)
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    empty = client.post(f"/s/{site.token}", data=b"", headers=urlencoded)
    assert empty.status_code == 400 and "请再点一次" in empty.get_data(as_text=True)
    unreadable = client.post(f"/s/{site.token}", data=b"nonce=%FF&q.overall=5", headers=urlencoded)
    assert unreadable.status_code == 400
    assert through_flask == [f"/s/{site.token}"] * 2
    assert count(Response) == 0
