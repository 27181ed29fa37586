"""Storing responses exactly once, and versioning questionnaires."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from survey.db import now_utc
from survey.responses import nonces
from survey.responses.models import (
    OVERALL_KEY,
    Answer,
    FormNonce,
    Question,
    Questionnaire,
    QuestionnaireVersion,
    Response,
)
from survey.sites.models import Site, SiteToken

# Statements of the submission hot path, built once. They run on the session's connection
# as plain Core: the ORM's unit of work would cost several times more while SQLite's write
# lock is held (docs/PERFORMANCE.md).
_responses, _answers, _nonces = Response.__table__, Answer.__table__, FormNonce.__table__
_INSERT_RESPONSE = insert(_responses).returning(_responses.c.id)
_INSERT_ANSWERS = insert(_answers)
_INSERT_NONCE = insert(_nonces)
_NONCE_RESPONSE = select(_nonces.c.response_id).where(_nonces.c.nonce == bindparam("nonce"))


@dataclass
class Submission:
    """What became of a submission: ``created``, ``updated`` (same device, within the
    window) or ``duplicate`` (its nonce was used before; nothing was stored)."""

    response_id: int
    outcome: str


def version_for_nonce(
    session: Session, link: SiteToken, signed_nonce: str, secret_key: str, max_age_seconds: float
) -> tuple[QuestionnaireVersion, str]:
    """The questionnaire version a form showed, and its raw nonce, from the form's signed nonce.

    Raises nonces.NonceError when the nonce is forged, expired, another site's, or names a
    version the site's questionnaire no longer has.
    """
    version_id, nonce = nonces.verify(secret_key, link.token, signed_nonce, max_age_seconds)
    version = session.get(
        QuestionnaireVersion, version_id, options=[joinedload(QuestionnaireVersion.questions)]
    )
    if version is None or version.questionnaire_id != link.site.project.questionnaire_id:
        raise nonces.NonceError("the form's questionnaire version is gone")
    return version, nonce


def _answer_values(questions: list[Question], answers: dict) -> list[dict]:
    """Column values of the answer rows: text for text questions, a number otherwise."""
    rows = []
    for question in questions:
        if question.key in answers:
            value = answers[question.key]
            text = value if question.kind == "text" else None
            choice = None if question.kind == "text" else value
            rows.append({"question_id": question.id, "choice": choice, "text": text})
    return rows


def _recent_from_device(
    session: Session, site: Site, device_id: str, window: timedelta
) -> Response | None:
    return session.scalars(
        select(Response)
        .where(
            Response.device_id == device_id,
            Response.site_id == site.id,
            Response.created_at >= now_utc() - window,
        )
        .order_by(Response.created_at.desc())
        .limit(1)
    ).first()


def submit_response(
    session: Session,
    site: Site,
    version: QuestionnaireVersion,
    *,
    channel: str,
    answers: dict,
    comment: str = "",
    nonce: str | None = None,
    device_id: str | None = None,
    device_window: timedelta | None = None,
) -> Submission:
    """Store validated ``answers`` (question key → value) about ``site``.

    A ``nonce`` used before stores nothing and returns the earlier response as a duplicate,
    also when a concurrent request with the same nonce commits first (the primary key of
    ``form_nonces`` decides; the loser's work is rolled back to a savepoint). With a
    ``device_id``, an answer from the same device for the same site within
    ``device_window`` replaces that earlier answer. Flushes, never commits.
    """
    if nonce is not None:
        earlier = nonce_response_id(session, nonce)
        if earlier is not None:
            return Submission(earlier, "duplicate")
    try:
        with session.begin_nested():
            submission = _store(
                session, site, version, channel, answers, comment, device_id, device_window
            )
            if nonce is not None:
                session.connection().execute(
                    _INSERT_NONCE, {"nonce": nonce, "response_id": submission.response_id}
                )
    except IntegrityError:
        earlier = nonce_response_id(session, nonce) if nonce is not None else None
        if earlier is None:
            raise
        return Submission(earlier, "duplicate")
    return submission


def _store(session, site, version, channel, answers, comment, device_id, device_window):
    rows = _answer_values(version.questions, answers)
    earlier = None
    if device_id and device_window:
        earlier = _recent_from_device(session, site, device_id, device_window)
    if earlier is not None:
        earlier.answers.clear()
        session.flush()  # delete the old answer rows before their (response, question) twins
        earlier.version = version
        earlier.overall = answers[OVERALL_KEY]
        earlier.comment = comment
        earlier.updated_at = now_utc()
        earlier.answers.extend(Answer(**row) for row in rows)
        session.flush()
        return Submission(earlier.id, "updated")
    values = {
        "site_id": site.id,
        "version_id": version.id,
        "channel": channel,
        "overall": answers[OVERALL_KEY],
        "comment": comment,
        "device_id": device_id,
    }
    connection = session.connection()
    response_id = connection.execute(_INSERT_RESPONSE, values).scalar_one()
    if rows:
        connection.execute(_INSERT_ANSWERS, [row | {"response_id": response_id} for row in rows])
    return Submission(response_id, "created")


def nonce_response_id(session: Session, nonce: str) -> int | None:
    """The id of the response stored with ``nonce``, if any."""
    return session.connection().execute(_NONCE_RESPONSE, {"nonce": nonce}).scalar()


def has_responses(session: Session, version: QuestionnaireVersion) -> bool:
    """Whether anyone has answered this version."""
    found = session.scalar(select(Response.id).where(Response.version_id == version.id).limit(1))
    return found is not None


def _question_rows(questions: list[dict]) -> list[Question]:
    """Question rows in the given order. Raises ValueError unless the overall 5-level
    question comes first, so every project's satisfaction rate stays comparable."""
    first = questions[0] if questions else {}
    if first.get("key") != OVERALL_KEY or first.get("kind") != "satisfaction":
        raise ValueError("the first question must be the overall satisfaction question")
    return [Question(position=i, **q) for i, q in enumerate(questions)]


def create_questionnaire(session: Session, name: str, questions: list[dict]) -> Questionnaire:
    """A new questionnaire whose version 1 has ``questions`` (dicts of Question fields)."""
    questionnaire = Questionnaire(name=name)
    version = QuestionnaireVersion(number=1, questions=_question_rows(questions))
    questionnaire.versions.append(version)
    session.add(questionnaire)
    session.flush()
    return questionnaire


def revise_questionnaire(
    session: Session, questionnaire: Questionnaire, questions: list[dict]
) -> QuestionnaireVersion:
    """Replace the questionnaire's questions and return the version that now holds them.

    A version nobody has answered is edited in place; an answered one stays as it was, for
    its answers, and a new version is published.
    """
    current = questionnaire.current_version
    if not has_responses(session, current):
        current.questions.clear()
        session.flush()
        current.questions.extend(_question_rows(questions))
        session.flush()
        return current
    version = QuestionnaireVersion(number=current.number + 1, questions=_question_rows(questions))
    questionnaire.versions.append(version)
    session.flush()
    return version
