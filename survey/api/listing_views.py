"""What other systems read of a project, a page at a time (survey.api.pages): answers,
alerts, phone spot-checks, visits and sites with their links. A caller with an API token
reads what a city or county user of its region reads; staff may use their session too."""

from flask import current_app, url_for
from flask_smorest import abort

from survey.accounts.models import STAFF_ROLES
from survey.api import Blueprint, listings
from survey.api.auth import caller_scope, documented
from survey.api.pages import PageQuerySchema, list_page, rows_page
from survey.api.schemas import (
    AlertPageSchema,
    AnswerPageSchema,
    CallPageSchema,
    CaseDetailSchema,
    CasePageSchema,
    SiteLinkPageSchema,
    VisitPageSchema,
)
from survey.api.views import NO_PROJECT, SITE_READERS, project_or_404
from survey.db import app_now, db, now_utc
from survey.progress.schemas import ProjectProgressSchema
from survey.progress.services import progress_on
from survey.rectification.models import Case
from survey.regions.scope import Scope
from survey.responses.rollups import local_day
from survey.sites.models import Project
from survey.stats.schemas import MonthSchema

blp = Blueprint(
    "api_lists",
    __name__,
    url_prefix="/api/v1",
    description="其他系统读取的数据（API 令牌），按 cursor 分页",
)


def _paged(path: str, reply):
    """Decorator of a project's list read a page at a time (GET ``…/{path}?cursor=&limit=``,
    answering ``reply``); the view takes the page query first."""

    def decorate(view):
        for add in (
            documented(blp),
            blp.alt_response(404, description=NO_PROJECT),
            blp.response(200, reply),
            blp.arguments(PageQuerySchema, location="query"),
            blp.get(f"/projects/<int:project_id>/{path}"),
        ):
            view = add(view)
        return view

    return decorate


def _project(project_id: int, roles: tuple[str, ...]) -> tuple[Scope, Project]:
    scope = caller_scope(roles)
    return scope, project_or_404(scope, project_id)


@_paged("answers", AnswerPageSchema)
def answers(page, project_id):
    """A project's answers from every channel, oldest first: scores only, never who gave
    them (no phone number, device, address or free text)."""
    scope, project = _project(project_id, STAFF_ROLES)
    return rows_page(db.session, listings.answers(project, scope), **page)


@_paged("alerts", AlertPageSchema)
@blp.arguments(MonthSchema, location="query")
def alerts(page, month, project_id):
    """The dashboard's alerts of a project: sites under 90 %, QR rates significantly above
    the phone rates, and drops from the month before (docs/METRICS.md)."""
    scope, project = _project(project_id, STAFF_ROLES)
    found = listings.alerts(db.session, scope, project, month["month"] or local_day(now_utc()))
    return list_page(found, **page)


@_paged("cases", CasePageSchema)
def cases(page, project_id):
    """A project's 整改单 (cases opened by bad ratings), oldest first: state, working-day
    deadlines, overdue or not; no personal data."""
    scope, project = _project(project_id, STAFF_ROLES)
    return rows_page(db.session, listings.cases(project, scope), **page)


#: What a case outside the caller's counties, or none, answers.
NO_CASE = "没有这个整改单。"


@blp.get("/cases/<int:case_id>")
@blp.response(200, CaseDetailSchema)
@blp.alt_response(404, description=NO_CASE)
@documented(blp)
def case(case_id):
    """One 整改单 with its timeline (each step's kind, time, deadline and whether late)."""
    scope = caller_scope(STAFF_ROLES)
    found = db.session.get(Case, case_id)
    if found is None or not scope.covers(found.region_id):
        abort(404, message=NO_CASE)
    return found


@blp.get("/projects/<int:project_id>/progress")
@blp.response(200, ProjectProgressSchema)
@blp.alt_response(404, description=NO_PROJECT)
@documented(blp)
def progress(project_id):
    """A project's progress (进度) today: per county its sites, average progress against time
    progress (month / 12 × 100) and 进度预警; per site its confirmed milestone and when it was
    confirmed, the next milestone and its planned date (docs/METRICS.md, 进度)."""
    scope, project = _project(project_id, STAFF_ROLES)
    return progress_on(db.session, project, local_day(app_now(current_app)), scope)


@_paged("calls", CallPageSchema)
def calls(page, project_id):
    """A project's phone spot-check tasks, oldest first, with each attempt's outcome: never
    the resident's name, number or the caller's notes."""
    scope, project = _project(project_id, STAFF_ROLES)
    return rows_page(db.session, listings.calls(project, scope), **page)


@_paged("visits", VisitPageSchema)
def visits(page, project_id):
    """A project's unannounced visits, oldest first: checklist results and findings."""
    scope, project = _project(project_id, STAFF_ROLES)
    return rows_page(db.session, listings.visits(project, scope), **page)


def _qr_url(token: str, fmt: str) -> str:
    return url_for("api.site_qr", token=token, fmt=fmt, _external=True)


@_paged("site-links", SiteLinkPageSchema)
def site_links(page, project_id):
    """A project's sites with the link each one's QR code holds and its QR symbols."""
    scope, project = _project(project_id, SITE_READERS)
    sites = rows_page(db.session, listings.sites(project, scope), **page)
    return listings.with_links(sites, current_app.config["PUBLIC_BASE_URL"], _qr_url)
