"""API endpoints: a site's form and resident submissions, by the site's token (for kiosks or
a mini-program, no login); projects, sites and their stats for logged-in staff, scoped to
their region like the pages (survey.regions.scope)."""

from flask import Response, current_app, jsonify
from flask_smorest import abort
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from survey.accounts.models import STAFF_ROLES
from survey.api import Blueprint
from survey.api.auth import caller_scope, documented
from survey.api.schemas import (
    ApiSubmissionSchema,
    ProjectSchema,
    SiteFormSchema,
    SiteSchema,
    SubmissionResultSchema,
)
from survey.db import db, write_transaction
from survey.regions.scope import Scope
from survey.responses import nonces, senders, services
from survey.responses.schemas import answers_schema
from survey.sites.models import Project
from survey.sites.scoping import project_in_scope, projects_in_scope
from survey.sites.tokens import (
    ProjectFinished,
    RetiredToken,
    SiteNotBuilt,
    find_live_token,
    list_sites,
    qr_symbol,
)
from survey.stats import flagged, summaries
from survey.stats.schemas import StatsQuerySchema, StatsSchema

blp = Blueprint("api", __name__, url_prefix="/api/v1", description="民生实事满意度评价")


RETIRED = "此二维码已停用，请使用现场新张贴的二维码。"
UNKNOWN = "没有这个点位，或它的二维码已停用。"
#: 409, not 410: the project may reopen, and its links then work again.
FINISHED = "本次评价已结束，不再接收评价。"
#: 409 too: the link will work once the site is built.
NOT_BUILT = "本点位尚未建成，建成后欢迎评价。"


def _link_or_404(token: str, answered: bool = True):
    """The live link of ``token``: 410 when retired, 404 when unknown, and 409 when its
    project is finished if it is to be ``answered``."""
    try:
        link = find_live_token(db.session, token)
    except RetiredToken:
        abort(410, message=RETIRED)
    if link is None:
        abort(404, message=UNKNOWN)
    if answered and link.site.project.is_finished:
        abort(409, message=FINISHED)
    if answered and not link.site.survey_open:
        abort(409, message=NOT_BUILT)
    return link


NO_PROJECT = "没有这个项目，或它不在您（或令牌）所属的地区内。"


def project_or_404(scope: Scope, project_id: int) -> Project:
    """The project, or 404 when it does not exist or is outside ``scope``."""
    try:
        return project_in_scope(db.session, scope, project_id)
    except NotFound:
        abort(404, message=NO_PROJECT)


def _scoped(project: Project, scope: Scope) -> dict:
    """The project as ProjectSchema dumps it, with only the targets of counties in scope."""
    targets = [t for t in project.targets if scope.covers(t.region_id)]
    return {
        "id": project.id,
        "name": project.name,
        "year": project.year,
        "region": project.region,
        "targets": targets,
    }


#: Who may read projects and sites with a session.
SITE_READERS = ("admin", *STAFF_ROLES)


@blp.get("/projects")
@blp.response(200, ProjectSchema(many=True))
@documented(blp)
def projects():
    """The projects the caller may see (an API token or staff)."""
    scope = caller_scope(SITE_READERS)
    return [_scoped(p, scope) for p in projects_in_scope(db.session, scope)]


@blp.get("/projects/<int:project_id>")
@blp.response(200, ProjectSchema)
@blp.alt_response(404, description=NO_PROJECT)
@documented(blp)
def project(project_id):
    """One project with its per-county targets (an API token or staff).

    Only the targets of counties in the caller's region are listed.
    """
    scope = caller_scope(SITE_READERS)
    return _scoped(project_or_404(scope, project_id), scope)


@blp.get("/projects/<int:project_id>/sites")
@blp.response(200, SiteSchema(many=True))
@blp.alt_response(404, description=NO_PROJECT)
@documented(blp)
def project_sites(project_id):
    """A project's sites in the caller's region (an API token or staff).

    Their links are listed, a page at a time, by ``/projects/{project_id}/site-links``.
    """
    scope = caller_scope(SITE_READERS)
    project = project_or_404(scope, project_id)
    return [s for s in list_sites(db.session, project.id) if scope.covers(s.region_id)]


@blp.get("/sites/<token>")
@blp.response(200, SiteFormSchema)
@blp.alt_response(409, description=FINISHED)
def site_form(token):
    """A site's form: its questions and a nonce for one submission.

    No login: the token is printed on the site's poster; a kiosk there shows the form.
    """
    link = _link_or_404(token)
    version = link.site.project.questionnaire.current_version
    return {
        "site": link.site,
        "project": link.site.project,
        "questionnaire": version,
        "nonce": nonces.issue(current_app.config["SECRET_KEY"], link.token, version.id),
    }


@blp.get("/sites/<token>/qr.<any(png, svg):fmt>")
@blp.response(200, content_type="image/png", description="PNG 或 SVG（image/svg+xml）")
@blp.alt_response(404, description=UNKNOWN)
def site_qr(token, fmt):
    """A site's bare QR symbol (PNG or SVG) holding its printed link, by its token. No
    login: the token is printed on the site's poster."""
    link = _link_or_404(token, answered=False)
    data, content_type = qr_symbol(current_app.config["PUBLIC_BASE_URL"], link.token, fmt)
    return Response(data, content_type=content_type)


@blp.post("/sites/<token>/responses")
@blp.arguments(ApiSubmissionSchema)
@blp.response(201, SubmissionResultSchema)
@blp.alt_response(200, schema=SubmissionResultSchema, description="这个 nonce 已提交过，未重复记录")
@blp.alt_response(409, description=FINISHED + "或" + NOT_BUILT + "未记录。")
def submit(data, token):
    """Submit a resident's answers; the same rules as the form, a nonce counts once, and
    suspected stuffing is stored flagged (``flagged``), out of the rates until reviewed."""
    try:
        target = senders.submission_target(db.session, token, data["nonce"])
    except RetiredToken:
        abort(410, message=RETIRED)
    except SiteNotBuilt:
        abort(409, message=NOT_BUILT)
    except ProjectFinished:
        abort(409, message=FINISHED)
    except nonces.NonceError:
        _link_or_404(token)  # an unknown or retired link says so before the nonce does
        abort(
            422,
            message="nonce 无效或已过期，请重新获取表单。",
            errors={"nonce": ["无效或已过期。"]},
        )
    if target is None:
        abort(404, message=UNKNOWN)
    try:
        answers = answers_schema(target.questions).load(data["answers"])
    except ValidationError as err:
        abort(422, message="回答有误。", errors={"answers": err.messages})
    who = senders.request_sender(data["device"])
    with write_transaction(db.session):
        result = services.submit_from_resident(
            db.session,
            target,
            answers,
            data["comment"],
            who,
            senders.stuffing_checks(db.session),
            contact=senders.contact(data["phone"]),
        )
    status = 200 if result.outcome == "duplicate" else 201
    reply = {"id": result.response_id, "outcome": result.outcome, "flagged": result.flagged}
    return reply, status


@blp.get("/projects/<int:project_id>/stats")
@blp.arguments(StatsQuerySchema, location="query")
@blp.response(200, StatsSchema)
@blp.alt_response(404, description=NO_PROJECT)
@documented(blp)
def project_stats(query, project_id):
    """Satisfaction per county or site (an API token, city or county staff; a county
    token or user gets their county only).

    Rates are read from the rollups; every rate has its n and 95 % Wilson interval, and is
    null below 10 answers (docs/METRICS.md).
    """
    scope = caller_scope(STAFF_ROLES)
    group = query.pop("group")
    project = project_or_404(scope, project_id)
    filters = summaries.Filters(**query)
    rows = summaries.stats(db.session, scope, project, filters, group)
    flagged.left_out(db.session, scope, [project.id], filters).attach(rows, group)
    # StatsSchema's shape (the OpenAPI documents it), built and sent as is: dumping
    # 2,000 sites' nested rates through marshmallow took 55 ms, the whole query less.
    return jsonify({"project_id": project.id, "group": group, "rows": rows})
