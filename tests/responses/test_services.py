"""Questionnaire versions and once-only storage, at the service level."""

import pytest

from survey.db import db, write_transaction
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.models import Question, Questionnaire
from survey.questionnaires.services import revise_questionnaire
from survey.responses import services
from survey.responses.models import FormNonce, Response
from survey.sites.models import Site

TEXT_QUESTION = {"key": "wish", "kind": "text", "prompt": "您还希望增加什么服务？"}


def _site(site_id) -> Site:
    return db.session.get(Site, site_id)


def _submit(site, nonce=None, **answers):
    version = site.project.questionnaire.current_version
    return services.submit_response(
        db.session,
        site.id,
        version.id,
        version.questions,
        channel="phone",
        answers=answers or {"overall": 5},
        nonce=nonce,
    )


def test_revising_an_unanswered_questionnaire_still_publishes_a_new_version(app, make_site):
    ref = make_site()
    with app.app_context():
        questionnaire = _site(ref.id).project.questionnaire
        first = questionnaire.current_version
        with write_transaction(db.session):
            version = revise_questionnaire(
                db.session, questionnaire, [DEFAULT_QUESTIONS[0], TEXT_QUESTION]
            )
        assert version.number == 2
        assert [q.key for q in version.questions] == ["overall", "wish"]
        # The version a form may still show keeps its questions: its answers still count.
        assert [q.key for q in first.questions] == [q["key"] for q in DEFAULT_QUESTIONS]


def test_answered_questionnaire_gets_a_new_version_and_old_answers_keep_theirs(app, make_site):
    ref = make_site()
    with app.app_context():
        site = _site(ref.id)
        with write_transaction(db.session):
            old = db.session.get(Response, _submit(site, overall=4, attitude=1).response_id)
            new_version = revise_questionnaire(
                db.session, site.project.questionnaire, [DEFAULT_QUESTIONS[0], TEXT_QUESTION]
            )
        assert new_version.number == 2
        assert site.project.questionnaire.current_version is new_version
        assert old.version.number == 1
        assert [a.question.key for a in old.answers] == ["overall", "attitude"]
        with write_transaction(db.session):
            answered = db.session.get(
                Response, _submit(site, overall=3, wish="多些文体活动").response_id
            )
        assert answered.version is new_version
        assert [a.text for a in answered.answers if a.text] == ["多些文体活动"]


@pytest.mark.parametrize(
    "questions",
    [
        [],
        [TEXT_QUESTION],
        [DEFAULT_QUESTIONS[1], DEFAULT_QUESTIONS[0]],
        [DEFAULT_QUESTIONS[0] | {"required": False}],
    ],
)
def test_questionnaire_must_open_with_the_overall_question(app, make_site, questions):
    ref = make_site()
    with app.app_context():
        with pytest.raises(ValueError):
            revise_questionnaire(db.session, _site(ref.id).project.questionnaire, questions)


def test_used_nonce_returns_the_earlier_response(app, make_site):
    ref = make_site()
    with app.app_context():
        site = _site(ref.id)
        with write_transaction(db.session):
            first = _submit(site, nonce="n1")
        with write_transaction(db.session):
            again = _submit(site, nonce="n1", overall=1)
        assert (first.outcome, again.outcome) == ("created", "duplicate")
        assert again.response_id == first.response_id
        assert db.session.get(Response, first.response_id).overall == 5


def test_a_repeated_nonce_rolls_back_only_its_own_rows(app, make_site):
    """The primary key decides between two uses of a nonce (also concurrent ones); the
    loser's rows go, and other work of the same transaction stays."""
    ref = make_site()
    with app.app_context():
        site = _site(ref.id)
        with write_transaction(db.session):
            winner = _submit(site, nonce="race")
        with write_transaction(db.session):
            db.session.add(Questionnaire(name="别的工作"))
            loser = _submit(site, nonce="race", overall=1)
        assert loser.outcome == "duplicate"
        assert loser.response_id == winner.response_id
        assert db.session.scalar(db.select(db.func.count()).select_from(Response)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(FormNonce)) == 1
        assert db.session.scalar(db.select(Questionnaire).filter_by(name="别的工作"))


def test_question_kinds_are_stored_alike_for_every_channel(app, make_site):
    ref = make_site()
    with app.app_context():
        site = _site(ref.id)
        with write_transaction(db.session):
            revise_questionnaire(
                db.session, site.project.questionnaire, [DEFAULT_QUESTIONS[0], TEXT_QUESTION]
            )
            for channel in ("qr", "phone", "visit"):
                version = site.project.questionnaire.current_version
                services.submit_response(
                    db.session,
                    site.id,
                    version.id,
                    version.questions,
                    channel=channel,
                    answers={"overall": 3, "wish": "助浴"},
                )
        rows = db.session.scalars(db.select(Response).order_by(Response.id)).all()
        assert [r.channel for r in rows] == ["qr", "phone", "visit"]
        assert all(r.overall == 3 for r in rows)
        keys = {db.session.get(Question, a.question_id).key for r in rows for a in r.answers}
        assert keys == {"overall", "wish"}


def test_a_phones_earlier_answer_is_found_from_the_device_index_alone(app):
    """The look-up runs inside the write lock on every answer: it must read one index entry,
    not every answer the site had within the device window."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan; PostgreSQL plans from its statistics")
    with app.app_context():
        sql = str(services._DEVICE_ANSWER.statement.compile(dialect=db.engine.dialect))
        plan = db.session.connection().exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, (None,) * sql.count("?")
        )
        details = " ".join(row[-1] for row in plan)
    assert "COVERING INDEX ix_responses_device" in details, details
