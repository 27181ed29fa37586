"""Storing responses exactly once, and versioning questionnaires."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from survey.db import now_utc, take_turns
from survey.driver_statements import DriverStatement
from survey.questionnaires.models import OVERALL_KEY, Question, QuestionnaireVersion
from survey.responses import answers_store, nonces, stuffing
from survey.responses.models import BAD_SCORES, Answer, FormNonce, Response, ResponseContact
from survey.sites.models import Project, Site, SiteToken
from survey.sites.tokens import ProjectFinished, RetiredToken, SiteNotBuilt, normalize_token

_responses, _nonces = Response.__table__, FormNonce.__table__
_NONCE_RESPONSE = (
    select(_responses.c.id, _responses.c.device_id, Response.counted.label("counted"))
    .join_from(_nonces, _responses, _nonces.c.response_id == _responses.c.id)
    .where(_nonces.c.nonce == bindparam("nonce"))
)
#: A device's latest answer to a site since a moment.
_DEVICE_ANSWER = DriverStatement(
    select(_responses.c.id)
    .where(
        _responses.c.device_id == bindparam("device"),
        _responses.c.site_id == bindparam("site"),
        _responses.c.created_at >= bindparam("since"),
    )
    .order_by(_responses.c.created_at.desc())
    .limit(1)
)
_tokens, _sites, _projects = SiteToken.__table__, Site.__table__, Project.__table__
_questions, _versions = Question.__table__, QuestionnaireVersion.__table__
#: One row per question of the version; the version and question columns are NULL when the
#: version is not of the site's questionnaire.
_TARGET = DriverStatement(
    select(
        _tokens.c.retired_at,
        _sites.c.id.label("site_id"),
        _sites.c.active,
        _sites.c.completed,
        _projects.c.status.label("project_status"),
        _projects.c.open_from_start,
        _questions.c.id,
        _questions.c.key,
        _questions.c.kind,
        _questions.c.prompt,
        _questions.c.required,
        _questions.c.options,
    )
    .join_from(_tokens, _sites, _tokens.c.site_id == _sites.c.id)
    .join(_projects, _sites.c.project_id == _projects.c.id)
    .outerjoin(
        _versions,
        (_versions.c.questionnaire_id == _projects.c.questionnaire_id)
        & (_versions.c.id == bindparam("version_id")),
    )
    .outerjoin(_questions, _questions.c.version_id == _versions.c.id)
    .where(_tokens.c.token == bindparam("token"))
    .order_by(_questions.c.position)
)


@dataclass
class Submission:
    """What became of a submission: ``created``, ``updated`` (same device, within the
    window) or ``duplicate`` (its nonce was used before; nothing was stored)."""

    response_id: int
    outcome: str
    #: The device the stored answer counts for (the phone's cookie should carry it).
    device_id: str | None = None
    #: Stored, but left out of the rates as suspected stuffing until reviewed.
    flagged: bool = False


@dataclass
class SubmissionTarget:
    """Where an answer goes: the site, the version the form showed and its questions (plain
    rows with id, key, kind, prompt, required, options), and the form's one-time nonce."""

    token: str
    site_id: int
    version_id: int
    nonce: str
    questions: list
    #: When the form was served (the nonce says).
    served_at: datetime


@dataclass(frozen=True)
class Origin:
    """Where a resident's answer came from, as it is stored with it: the device (an answer
    from it for the same site within ``device_window`` is replaced), keyed hashes of the
    sender's address and user agent, and why it looks like stuffing (``stuffing.REASONS``;
    flagged answers are kept out of the rates until reviewed)."""

    device_id: str | None = None
    device_window: timedelta | None = None
    client_hash: str | None = None
    agent_hash: str | None = None
    flag_reasons: tuple[str, ...] = field(default=())

    @property
    def flag(self) -> str | None:
        return "pending" if self.flag_reasons else None

    @property
    def reasons_text(self) -> str | None:
        return ",".join(self.flag_reasons) or None


def submission_target(
    session: Session, token: str, signed_nonce: str, secret_key: str, max_age_seconds: float
) -> SubmissionTarget | None:
    """What a form submitted to ``token`` with ``signed_nonce`` answers, read with one plain
    query for the submission hot path.

    Returns None for an unknown token or an inactive site. Raises RetiredToken for a replaced
    token, ProjectFinished when the site's project is finished, SiteNotBuilt (a
    ProjectFinished) when the site is not built and its project waits for that, and
    nonces.NonceError for a nonce that is forged, expired, another site's, or names a
    version that is not of the site's questionnaire.
    """
    key = normalize_token(token) or ""
    version_id, nonce, served_at = nonces.verify(secret_key, key, signed_nonce, max_age_seconds)
    params = {"token": key, "version_id": version_id}
    rows = _TARGET.all(session.connection(), params)
    if not rows or not rows[0].active:
        return None
    if rows[0].retired_at is not None:
        raise RetiredToken(key)
    if rows[0].project_status == "finished":
        raise ProjectFinished(key)
    if not (rows[0].completed or rows[0].open_from_start):
        raise SiteNotBuilt(key)
    if rows[0].id is None:
        raise nonces.NonceError("the form's questionnaire version is gone")
    return SubmissionTarget(key, rows[0].site_id, version_id, nonce, rows, served_at)


def _answer_values(questions: list, answers: dict) -> list[dict]:
    """Column values of the answer rows: text for text questions, the sorted indexes chosen
    (each once) for multiple-choice ones, a number otherwise."""
    rows = []
    for question in questions:
        if question.key in answers:
            value = answers[question.key]
            row = {"question_id": question.id, "choice": None, "choices": None, "text": None}
            if question.kind == "text":
                row["text"] = value
            elif question.kind == "multi":
                row["choices"] = sorted(set(value))
            else:
                row["choice"] = value
            rows.append(row)
    return rows


def _recent_from_device(
    session: Session, site_id: int, device_id: str, window: timedelta
) -> Response | None:
    """The device's latest answer to the site within ``window``, loaded and locked (a
    reviewer's decision on it waits for the replacement, or the other way round). Looked
    up as plain SQL first: most answers have none, and building the ORM query took half a
    millisecond of every submission (bench/submit.py)."""
    params = {"device": device_id, "site": site_id, "since": now_utc() - window}
    found = _DEVICE_ANSWER.one(session.connection(), params)
    return None if found is None else session.get(Response, found[0], with_for_update=True)


def submit_response(
    session: Session,
    site_id: int,
    version_id: int,
    questions: list,
    *,
    channel: str,
    answers: dict,
    comment: str = "",
    nonce: str | None = None,
    origin: Origin = Origin(),
    proxy: bool = False,
    visit_id: int | None = None,
) -> Submission:
    """Store validated ``answers`` (question key → value) to ``questions`` (rows or models
    with id, key and kind) of a questionnaire version, about a site, from ``origin``.

    A ``nonce`` used before stores nothing and returns the earlier response as a duplicate.
    The primary key of ``form_nonces`` decides, also between concurrent requests: the nonce
    is claimed with INSERT … ON CONFLICT DO NOTHING, and a submission that finds it taken
    removes the rows it had just added (nothing extra on the common path: repeats are rare).
    With ``origin.device_id``, an answer from the same device for the same site within
    ``origin.device_window`` replaces that earlier answer. An answer with flag reasons is
    stored flagged and not counted in the rollups. Never commits.
    """
    connection = session.connection()
    earlier = None
    if origin.device_id and origin.device_window:
        # Two answers from one phone for one site take turns, so the second finds the first.
        take_turns(connection, f"{site_id}:{origin.device_id}")
        earlier = _recent_from_device(session, site_id, origin.device_id, origin.device_window)
    rows = _answer_values(questions, answers)
    if earlier is not None:
        if nonce is not None and not answers_store.claim_nonce(connection, nonce, earlier.id):
            return _duplicate(session, nonce)
        _replace(session, earlier, version_id, answers, comment, rows, origin)
        return Submission(earlier.id, "updated", earlier.device_id, not earlier.counted)

    values = {
        "site_id": site_id,
        "version_id": version_id,
        "channel": channel,
        "overall": answers[OVERALL_KEY],
        "comment": comment,
        "device_id": origin.device_id,
        "proxy": proxy,
        "visit_id": visit_id,
        "created_at": now_utc(),
        "client_hash": origin.client_hash,
        "agent_hash": origin.agent_hash,
        "flag": origin.flag,
        "flag_reasons": origin.reasons_text,
    }
    response_id = answers_store.add(session, values, rows, nonce)
    if response_id is None:
        return _duplicate(session, nonce)
    return Submission(response_id, "created", origin.device_id, origin.flag is not None)


def _replace(session, earlier: Response, version_id, answers, comment, rows, origin: Origin):
    """Put a device's new answer in place of its ``earlier`` one. A flag stays until a
    reviewer decides: a pending or confirmed answer stays so whatever the device sends next,
    with any new reasons added; a counted one (never flagged, or restored) is flagged
    pending when the new answer has reasons of its own."""
    # The old answer rows are deleted (flushed by ``changing``) before their (response,
    # question) twins are added.
    earlier.answers.clear()
    with answers_store.changing(session, [earlier]):
        earlier.version_id = version_id
        earlier.overall = answers[OVERALL_KEY]
        earlier.comment = comment
        earlier.updated_at = now_utc()
        earlier.client_hash, earlier.agent_hash = origin.client_hash, origin.agent_hash
        if origin.flag_reasons:
            known = (earlier.flag_reasons or "").split(",") if not earlier.counted else []
            reasons = [r for r in known if r] + [r for r in origin.flag_reasons if r not in known]
            earlier.flag_reasons = ",".join(reasons)
            if earlier.counted:
                earlier.flag = "pending"
                earlier.reviewed_by_id = earlier.reviewed_at = None
        earlier.answers.extend(Answer(**row) for row in rows)


def submit_from_resident(
    session: Session,
    target: SubmissionTarget,
    answers: dict,
    comment: str,
    who: stuffing.Sender,
    checks: stuffing.Checks,
    contact: str | None = None,
) -> Submission:
    """Store a resident's validated answer (form or API) to ``target``, flagged when it
    looks like stuffing (``stuffing.reasons``), with the encrypted number they left for
    回访 (``contact``), kept only where there may be something to call back about (a bad
    rating or a comment); a replacement without one takes the earlier one away. Call
    inside the write transaction."""
    reasons = stuffing.reasons(
        checks.counter,
        checks.rules,
        who,
        site_id=target.site_id,
        nonce=target.nonce,
        served_at=target.served_at,
    )
    origin = Origin(
        device_id=who.device_id,
        device_window=checks.rules.repeat_window if who.has_cookie else None,
        client_hash=who.client_hash,
        agent_hash=who.agent_hash,
        flag_reasons=tuple(reasons),
    )
    submitted = submit_response(
        session,
        target.site_id,
        target.version_id,
        target.questions,
        channel="qr",
        answers=answers,
        comment=comment,
        nonce=target.nonce,
        origin=origin,
    )
    if not (answers[OVERALL_KEY] in BAD_SCORES or comment):
        contact = None
    if submitted.outcome == "created" and contact is not None:
        session.add(ResponseContact(response_id=submitted.response_id, phone_token=contact))
    elif submitted.outcome == "updated":
        _replace_contact(session, submitted.response_id, contact)
    return submitted


def _replace_contact(session: Session, response_id: int, contact: str | None) -> None:
    """The replaced answer's number for 回访 is ``contact`` now (None: none), its retention
    counted from now. (A new answer's is added as it is: nothing to look up.)"""
    found = session.get(ResponseContact, response_id)
    if contact is None:
        if found is not None:
            session.delete(found)
    elif found is None:
        session.add(ResponseContact(response_id=response_id, phone_token=contact))
    else:
        found.phone_token, found.created_at = contact, now_utc()


def _duplicate(session: Session, nonce: str) -> Submission:
    earlier = nonce_response(session, nonce)
    return Submission(earlier.id, "duplicate", earlier.device_id, not earlier.counted)


def nonce_response(session: Session, nonce: str):
    """``(id, device_id, counted)`` of the response stored with ``nonce``, or None."""
    return session.connection().execute(_NONCE_RESPONSE, {"nonce": nonce}).first()


def answers_by_channel(session: Session, site_id: int) -> dict[str, int]:
    """The site's kept answers, ``{channel: count}`` (for ``sites.hooks.answers_by_channel``)."""
    query = (
        select(Response.channel, func.count())
        .where(Response.site_id == site_id)
        .group_by(Response.channel)
    )
    return dict(session.execute(query).all())
