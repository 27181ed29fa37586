"""The resident form: ``GET /s/<token>`` shows it, ``POST /s/<token>`` stores the answer."""

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    render_template,
    request,
    send_file,
    url_for,
)

from survey.db import db
from survey.hotline import hotline_link
from survey.questionnaires.models import QuestionnaireVersion
from survey.responses import answering, cached_form, nonces, recordings
from survey.responses.form import build_form, stray_error
from survey.responses.models import Recording
from survey.sites.models import SiteToken
from survey.sites.page_cache import NONCE_SLOT, form_pages
from survey.sites.tokens import ProjectFinished, RetiredToken, find_live_token, normalize_token

bp = Blueprint("form", __name__)

# Each route also answers under /S/: an all-upper-case link fits the QR code's compact
# alphanumeric mode. The lower-case rule is registered first (decorators apply bottom-up),
# so url_for builds the canonical /s/ links.

#: WeChat's in-app browser would otherwise show a cached form with a used nonce.
NO_STORE = {"Cache-Control": "no-store"}
NONCE_EXPIRED = "这个页面打开太久了，您的选择还在，请再点一次“提交评价”。"


def _closed(link: SiteToken, template: str):
    """The kind page of a link that takes no answers now but may again: 「本次评价已结束」
    (``responses/finished.html``: the project is finished and may reopen) or 「本点位尚未建成」
    (``responses/not_built.html``: the site opens when it is built). Opening it answers 200:
    the link is right (410 says "gone for good", and some browsers then show their own error
    page); a submission answers 409, as it stored nothing."""
    project = link.site.project
    page = render_template(
        template,
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
        abort(_closed(link, "responses/finished.html"))
    if not link.site.survey_open:
        abort(_closed(link, "responses/not_built.html"))
    return link


def _audio_urls(site, version_id: int) -> dict[str, str]:
    """The URLs of the recordings the site plays (its county's, else its city's), by key."""
    found = recordings.for_site(db.session, version_id, site.region_id, site.project.region_id)
    return {key: url_for("form.audio", recording_id=rid) for key, rid in found.items()}


def _page(
    link: SiteToken, version, nonce: str, chosen=None, comment="", phone="", errors=None
) -> str:
    errors = errors or {}
    audio = _audio_urls(link.site, version.id)
    return render_template(
        "responses/form.html",
        site=link.site,
        questions=build_form(version.questions, chosen or {}, errors, audio),
        comment=comment,
        comment_error=errors.get("comment"),
        phone=phone,
        phone_error=errors.get("phone"),
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
    """The submission as the schema expects it, and whether the body was readable UTF-8."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return answering.posted_fields(request.get_data())
    return answering.as_posted(request.form.to_dict(flat=False)), True


def _device_id() -> str | None:
    return cached_form.device_id(request.headers.get("Cookie", ""))


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
        phone=posted["phone"],
        errors=errors,
        nonce=nonce,
        status=400,
    )


@bp.post("/S/<token>")
@bp.post("/s/<token>")
def submit(token):
    """Store a resident's answer once, then send them to the thank-you page. A well-formed
    answer usually never gets here: survey.responses.direct_answers takes it before Flask."""
    posted, readable = _posted()
    client = answering.Client(request.remote_addr or "", request.user_agent.string, _device_id())
    app = current_app._get_current_object()
    try:
        taken = answering.take(db.session, token, posted, readable, client)
    except RetiredToken:
        abort(410)
    except ProjectFinished:
        _link_or_404(token)  # answers the 「本次评价已结束」 or 「尚未建成」 page
        abort(409)  # reopened in the meantime: the resident may submit again
    except nonces.NonceError:
        return _refuse(token, posted, {"_page": [NONCE_EXPIRED]})
    except answering.UnknownSite:
        abort(404)
    except answering.Invalid as refused:
        return _refuse(token, posted, refused.errors, refused.version_id)
    headers = answering.thanks_headers(app, request.script_root, taken, request.is_secure)
    return current_app.response_class(status=303, headers=headers)


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
