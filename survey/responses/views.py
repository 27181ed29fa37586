"""The resident form: ``GET /s/<token>`` shows it, ``POST /s/<token>`` stores the answer."""

import io
from urllib.parse import parse_qsl

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from marshmallow import ValidationError

from survey.db import db, write_transaction
from survey.hotline import hotline_link
from survey.questionnaires.models import QuestionnaireVersion
from survey.responses import cached_form, nonces, recordings, senders, services
from survey.responses.form import build_form, stray_error
from survey.responses.models import Recording
from survey.responses.schemas import answers_schema, submission_schema
from survey.sites.models import SiteToken
from survey.sites.page_cache import NONCE_SLOT, form_pages
from survey.sites.tokens import ProjectFinished, RetiredToken, find_live_token, normalize_token

bp = Blueprint("form", __name__)

# Each route also answers under /S/: an all-upper-case link fits the QR code's compact
# alphanumeric mode. The lower-case rule is registered first (decorators apply bottom-up),
# so url_for builds the canonical /s/ links.

UNREADABLE = "提交的内容里有无法识别的字符，请检查后重新提交。"
#: WeChat's in-app browser would otherwise show a cached form with a used nonce.
NO_STORE = {"Cache-Control": "no-store"}
NONCE_EXPIRED = "这个页面打开太久了，您的选择还在，请再点一次“提交评价”。"


def _finished(link: SiteToken):
    """The kind 「本次评价已结束」 page of a finished project's link. Opening it answers 200:
    the link is right and may work again if the project reopens (410 says "gone for good",
    and some browsers then show their own error page); a submission answers 409, as it
    stored nothing."""
    project = link.site.project
    page = render_template(
        "responses/finished.html",
        site=link.site,
        hotline=hotline_link(project.hotline or current_app.config["HOTLINE"]),
    )
    return make_response(page, 409 if request.method == "POST" else 200, NO_STORE)


def _link_or_404(token: str) -> SiteToken:
    try:
        link = find_live_token(db.session, token)
    except RetiredToken:
        abort(410)
    if link is None:
        abort(404)
    if link.site.project.is_finished:
        abort(_finished(link))
    return link


def _audio_urls(site, version_id: int) -> dict[str, str]:
    """The URLs of the recordings the site plays (its county's, else its city's), by key."""
    found = recordings.for_site(db.session, version_id, site.region_id, site.project.region_id)
    return {key: url_for("form.audio", recording_id=rid) for key, rid in found.items()}


def _page(link: SiteToken, version, nonce: str, chosen=None, comment="", errors=None) -> str:
    errors = errors or {}
    audio = _audio_urls(link.site, version.id)
    return render_template(
        "responses/form.html",
        site=link.site,
        questions=build_form(version.questions, chosen or {}, errors, audio),
        comment=comment,
        comment_error=errors.get("comment"),
        page_error=stray_error(version.questions, errors),
        nonce=nonce,
        action=url_for(".submit", token=link.token),
    )


def _render(link: SiteToken, version, *, nonce=None, status=200, **kept):
    """The form page again, with what the resident chose (``kept``) and why it was refused.
    A new nonce counts as served long enough ago: the resident has read the form already,
    and a quick second tap is not a script's (survey.responses.stuffing)."""
    config = current_app.config
    nonce = nonce or nonces.issue(
        config["SECRET_KEY"], link.token, version.id, config["STUFFING_MIN_SECONDS"]
    )
    return _page(link, version, nonce, **kept), status, NO_STORE


def _posted() -> tuple[dict, bool]:
    """The submission as the schema expects it, and whether the body was readable UTF-8.

    An urlencoded body is parsed here rather than by ``request.form``: Werkzeug keeps
    undecodable escapes as literal text (``%FF``), which would be stored as if the resident
    had typed it, and no parser option refuses it. An answer posted several times (the ticked
    boxes of a multiple-choice question) is a list; of a repeated comment or nonce the first
    value counts.
    """
    if request.mimetype == "application/x-www-form-urlencoded":
        body = request.get_data()
        try:
            pairs, readable = parse_qsl(body.decode(), errors="strict"), True
        except (UnicodeDecodeError, ValueError):
            pairs, readable = parse_qsl(body.decode(errors="replace"), errors="replace"), False
        fields: dict[str, list[str]] = {}
        for key, value in pairs:
            fields.setdefault(key, []).append(value)
    else:
        fields, readable = request.form.to_dict(flat=False), True
    posted = {
        "answers": {k[2:]: v[0] if len(v) == 1 else v for k, v in fields.items() if k[:2] == "q."},
        "comment": fields.get("comment", [""])[0],
        "nonce": fields.get("nonce", [""])[0],
    }
    return posted, readable


def _device_id() -> str | None:
    return cached_form.device_id(request.headers.get("Cookie", ""))


def _keep_device(response, device_id: str):
    """Give the phone its device cookie for a year (the device window reads it)."""
    response.headers.add("Set-Cookie", cached_form.device_cookie(device_id, request.is_secure))
    return response


@bp.get("/S/<token>")
@bp.get("/s/<token>")
def show(token):
    """The form for one site."""
    key = normalize_token(token)
    cache = form_pages()
    page = cache.get(key) if key else None
    if page is None:
        link = _link_or_404(token)
        version = link.site.project.questionnaire.current_version
        page = cache.put(link.token, version.id, _page(link, version, NONCE_SLOT))
    body, fields = cached_form.reply(current_app._get_current_object(), page, request.environ)
    return make_response(body, 200, fields)


def _refuse(token: str, posted: dict, errors: dict, version_id: int | None = None):
    """The form again (400) with what the resident chose and what was wrong. Off the hot
    path, so it loads the site and questionnaire as objects."""
    link = _link_or_404(token)
    version = db.session.get(QuestionnaireVersion, version_id) if version_id else None
    nonce = posted["nonce"] if version is not None else None
    return _render(
        link,
        version or link.site.project.questionnaire.current_version,
        chosen=posted["answers"],
        comment=posted["comment"],
        errors=errors,
        nonce=nonce,
        status=400,
    )


@bp.post("/S/<token>")
@bp.post("/s/<token>")
def submit(token):
    """Store a resident's answer once, then send them to the thank-you page."""
    posted, readable = _posted()
    try:
        target = senders.submission_target(db.session, token, posted["nonce"])
    except RetiredToken:
        abort(410)
    except ProjectFinished:
        _link_or_404(token)  # answers the 「本次评价已结束」 page
        abort(409)  # reopened in the meantime: the resident may submit again
    except nonces.NonceError:
        return _refuse(token, posted, {"_page": [NONCE_EXPIRED]})
    if target is None:
        abort(404)
    # Check the envelope and the answers both, so the page names every problem at once.
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
        return _refuse(token, posted, errors, target.version_id)

    # A phone without our cookie gets a new id; only a known one can have answered before.
    who = senders.request_sender(_device_id())
    with write_transaction(db.session):
        result = services.submit_from_resident(
            db.session,
            target,
            answers,
            data["comment"],
            who,
            senders.stuffing_checks(db.session),
        )
    updated = 1 if result.outcome == "updated" else None
    response = redirect(url_for(".thanks", token=target.token, updated=updated), code=303)
    # A repeat keeps the phone on the answer it repeats.
    return _keep_device(response, result.device_id or who.device_id)


@bp.get("/S/<token>/thanks")
@bp.get("/s/<token>/thanks")
def thanks(token):
    """The thank-you page after a submission."""
    link = _link_or_404(token)
    updated = request.args.get("updated") == "1"
    hours = current_app.config["DEVICE_WINDOW_HOURS"]
    version = link.site.project.questionnaire.current_version
    return render_template(
        "responses/thanks.html",
        site=link.site,
        updated=updated,
        window_hours=f"{hours:g}",
        audio=_audio_urls(link.site, version.id).get(recordings.THANKS_KEY, ""),
    )


#: A recording never changes (a new one gets a new id), so phones may keep it for a year.
AUDIO_MAX_AGE = 365 * 24 * 3600


@bp.get("/audio/<int:recording_id>.m4a")
def audio(recording_id):
    """A question read aloud, for the form's 朗读 button: cached for good, served in ranges
    (iOS asks for the first bytes before it plays)."""
    found = db.get_or_404(Recording, recording_id)
    reply = send_file(
        io.BytesIO(found.data),
        mimetype=recordings.CONTENT_TYPE,
        conditional=True,
        etag=f"recording-{found.id}",
        last_modified=found.created_at,
        max_age=AUDIO_MAX_AGE,
    )
    reply.cache_control.public = True
    reply.cache_control.immutable = True
    return reply
