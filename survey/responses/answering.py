"""Taking a resident's answer from the form: the steps the view (survey.responses.views) and
the WSGI layer in front of Flask (survey.responses.direct_answers) share.

``take`` checks the submission (its nonce, the site, the answers) and stores it; anything but
an answer stored raises, and the view turns each refusal into its page. ``thanks_headers``
is the 303 that follows.
"""

from dataclasses import dataclass
from urllib.parse import parse_qsl

from flask import Flask
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from survey.db import write_transaction
from survey.observability import count_answer
from survey.responses import cached_form, nonces, senders, services
from survey.responses.schemas import answers_schema, submission_schema
from survey.sites.tokens import ProjectFinished, RetiredToken

UNREADABLE = "提交的内容里有无法识别的字符，请检查后重新提交。"


class UnknownSite(LookupError):
    """No live site has this token."""


class Invalid(ValueError):
    """The submission was read but is not acceptable: ``errors`` by field, as the page shows
    them; ``version_id`` the questionnaire version the form showed (None if unknown)."""

    def __init__(self, errors: dict, version_id: int | None):
        super().__init__(errors)
        self.errors = errors
        self.version_id = version_id


#: Every way ``take`` refuses a submission (the view answers each with its page).
REFUSALS = (RetiredToken, ProjectFinished, nonces.NonceError, UnknownSite, Invalid)


@dataclass(frozen=True)
class Taken:
    """An answer stored: where, what became of it, and the device its phone is to keep."""

    target: services.SubmissionTarget
    result: services.Submission
    device_id: str


@dataclass(frozen=True)
class Client:
    """Who sends it: the address (the proxy's client, behind TRUSTED_PROXIES), the user agent
    and the device id its cookie gave (None: no cookie, or a malformed one)."""

    address: str
    agent: str
    device_id: str | None


def posted_fields(body: bytes) -> tuple[dict, bool]:
    """An urlencoded body as the schema expects it, and whether it was readable UTF-8.

    Parsed here rather than by ``request.form``: Werkzeug keeps undecodable escapes as
    literal text (``%FF``), which would be stored as if the resident had typed it, and no
    parser option refuses it. An answer posted several times (the ticked boxes of a
    multiple-choice question) is a list; of a repeated comment or nonce the first counts.
    """
    try:
        pairs, readable = parse_qsl(body.decode(), errors="strict"), True
    except (UnicodeDecodeError, ValueError):
        pairs, readable = parse_qsl(body.decode(errors="replace"), errors="replace"), False
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return as_posted(fields), readable


def as_posted(fields: dict[str, list[str]]) -> dict:
    """The schema's shape of form ``fields`` (each a list of the values posted)."""
    return {
        "answers": {k[2:]: v[0] if len(v) == 1 else v for k, v in fields.items() if k[:2] == "q."},
        "comment": fields.get("comment", [""])[0],
        "nonce": fields.get("nonce", [""])[0],
        "phone": fields.get("phone", [""])[0],
    }


def take(session: Session, token: str, posted: dict, readable: bool, client: Client) -> Taken:
    """Check ``posted`` (from ``posted_fields``) against the site with ``token`` and store it
    once. Raises RetiredToken, ProjectFinished, nonces.NonceError, UnknownSite, or Invalid
    with every problem at once; nothing is stored then. Needs the app's context only."""
    target = senders.submission_target(session, token, posted["nonce"])
    if target is None:
        raise UnknownSite(token)
    errors = {} if readable else {"_page": [UNREADABLE]}
    try:
        data = submission_schema.load(posted)
    except ValidationError as err:
        errors |= err.messages
    try:
        answers = answers_schema(target.questions).load(posted["answers"])
    except ValidationError as err:
        errors |= err.messages
    if errors:
        raise Invalid(errors, target.version_id)
    # A phone without our cookie gets a new id; only a known one can have answered before.
    who = senders.sender_of(client.address, client.agent, client.device_id)
    with write_transaction(session):
        result = services.submit_from_resident(
            session,
            target,
            answers,
            data["comment"],
            who,
            senders.stuffing_checks(session),
            contact=senders.contact(data["phone"]),
        )
    count_answer(result.outcome, result.flagged)
    # A repeat keeps the phone on the answer it repeats.
    return Taken(target, result, result.device_id or who.device_id)


def thanks_headers(app: Flask, script_root: str, taken: Taken, secure: bool) -> list[tuple]:
    """The 303's headers: to the thank-you page, keeping the phone's device cookie a year."""
    updated = 1 if taken.result.outcome == "updated" else None
    urls = app.url_map.bind("", script_name=script_root or "/")
    return [
        ("Location", urls.build("form.thanks", {"token": taken.target.token, "updated": updated})),
        ("Set-Cookie", cached_form.device_cookie(taken.device_id, secure)),
    ]
