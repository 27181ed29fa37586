"""The bureau dashboard: projects, counties, sites, comments, exports and monthly reports.

Every page goes through the reader's Scope: a county user sees their county only.
"""

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import func, select

from survey import downloads
from survey.accounts.access import acting_user, client_ip, current_actor, role_required, user_scope
from survey.accounts.models import STAFF_ROLES
from survey.accounts.services import record_export
from survey.checks.models import TASK_STATUSES, CallTask, Visit
from survey.db import app_now, db, write_transaction
from survey.form_posts import submitted
from survey.jobs.queue import queue_of
from survey.progress.services import progress_on
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.rectification.metrics import case_counts
from survey.regions.models import Region
from survey.regions.scope import Scope, get_in_scope
from survey.responses.models import FLAG_STATES
from survey.responses.rollups import local_day
from survey.sites.models import Project, Site
from survey.sites.scoping import project_in_scope, projects_in_scope
from survey.stats import charts, comment_list, exports, flagged, reports, summaries
from survey.stats.schemas import (
    FILTER_ARGS,
    comment_query_schema,
    filter_schema,
    month_schema,
    review_query_schema,
    review_schema,
    stats_query_schema,
)

bp = Blueprint("stats", __name__, url_prefix="/dashboard")
ALERT_KINDS = {
    "low": "满意率低于 90%",
    "drop": "环比显著下降",
    "discrepancy": "自评与抽查差异显著",
    "overdue": "整改超期",
    "progress": "进度预警",
}


def _filters(values: dict | None = None) -> summaries.Filters:
    """The filters in the URL (or ``values`` loaded from it); 404 for a county outside the
    scope. A filter that does not hold raises ValidationError, which ``invalid_filters``
    answers."""
    if values is None:
        values = filter_schema.load(request.args.to_dict())
    filters = summaries.Filters(**values)
    if filters.county_id:
        user_scope().require(filters.county_id)
    return filters


@bp.errorhandler(ValidationError)
def invalid_filters(err: ValidationError):
    """The filter form again with each reason beside its field and every value as typed,
    answered 422 (a reversed date range, a date that is not one, an unknown channel)."""
    errors = {field: messages[0] for field, messages in err.messages.items()}
    month = request.endpoint in ("stats.report", "stats.report_pdf")
    counties = [] if month else _form_counties()
    shown = {"month"} if month else {k for k in FILTER_ARGS if counties or k != "county"}
    args = request.args.to_dict()
    page = render_template(
        "stats/filter_error.html",
        month=month,
        counties=counties,
        channels=summaries.CHANNELS,
        args=args,
        filter_errors=errors,
        other_errors={f: m for f, m in errors.items() if f not in shown},
        hidden={k: v for k, v in args.items() if k not in shown and k not in errors},
    )
    return page, 422


def _form_counties():
    """The county choices of the filter form of a project's page or export (none on the
    county's own page, where the county is in the path). Filters are read after the
    project's scope check, so the project here is one the reader may see."""
    project_id = (request.view_args or {}).get("project_id")
    if project_id is None or request.endpoint == "stats.county":
        return []
    return _counties(*_project(project_id))


def _project(project_id: int) -> tuple[Scope, Project]:
    """The reader's scope and the project in it (404 outside it)."""
    scope = user_scope()
    return scope, project_in_scope(db.session, scope, project_id)


def _today() -> date:
    """Today by the app's clock (a test's or APP_CLOCK): the month alerts and progress's
    time progress are read on."""
    return local_day(app_now(current_app))


def _page(template: str, **context):
    context.setdefault("filters", _filters())
    context.setdefault("hidden", {})
    return render_template(
        f"stats/{template}",
        channels=summaries.CHANNELS,
        alert_kinds=ALERT_KINDS,
        filter_args=FILTER_ARGS,
        args=request.args.to_dict(),
        filter_errors={},
        **context,
    )


@bp.get("/")
@role_required(*STAFF_ROLES)
def overview():
    """Every project in the reader's region with its rates, volumes and alert counts."""
    scope, filters = user_scope(), _filters()
    projects = projects_in_scope(db.session, scope)
    rows = summaries.project_overview(db.session, scope, projects, filters)
    flagged.left_out(db.session, scope, [p.id for p in projects], filters).attach(rows, "project")
    alerts = {
        p.id: len(summaries.alerts(db.session, scope, p, filters, filters.date_to or _today()))
        for p in projects
    }
    day = filters.date_to or _today()
    progress = {p.id: progress_on(db.session, p, day, scope) for p in projects}
    return _page("overview.html", rows=rows, alerts=alerts, progress=progress)


@bp.get("/projects/<int:project_id>")
@role_required(*STAFF_ROLES)
def project(project_id):
    """A project's counties ranked, channels side by side, targets and alerts."""
    scope, project = _project(project_id)
    filters = _filters()
    month = filters.date_to or _today()
    view = summaries.project_view(db.session, scope, project, filters)
    left_out = flagged.left_out(db.session, scope, [project.id], filters)
    left_out.attach(view.counties, "county")
    cases = _case_counts(scope, project, filters)
    overdue = [
        summaries.Alert("overdue", county.name, f"{county.overdue_open} 个整改单超期未办结")
        for county in cases.groups
        if county.overdue_open
    ]
    # Progress on the last day shown (today by the app's clock, or the filter's end).
    progress = progress_on(db.session, project, filters.date_to or _today(), scope)
    behind = [
        summaries.Alert("progress", county.region.name, "；".join(county.warnings))
        for county in progress.warned
    ]
    return _page(
        "project.html",
        project=project,
        rows=view.counties,
        alerts=summaries.alerts(db.session, scope, project, filters, month, view)
        + overdue
        + behind,
        counties=_counties(scope, project),
        cases=cases,
        progress=progress,
    )


def _counties(scope, project):
    return db.session.scalars(
        select(Region)
        .join(Site, Site.region_id == Region.id)
        .where(Site.project_id == project.id, scope.where(Region.id))
        .distinct()
        .order_by(Region.id)
    ).all()


@bp.get("/projects/<int:project_id>/counties/<int:county_id>")
@role_required(*STAFF_ROLES)
def county(project_id, county_id):
    """A county's sites in a project, ranked."""
    scope, project = _project(project_id)
    county = get_in_scope(db.session, scope, Region, county_id, lambda r: r.id)
    filters = _filters()
    filters = summaries.Filters(filters.date_from, filters.date_to, county.id, filters.channel)
    rows = summaries.by_site(db.session, scope, project, filters)
    flagged.left_out(db.session, scope, [project.id], filters).attach(rows, "site")
    cases = _case_counts(scope, project, filters, by="site", county_id=county.id)
    return _page(
        "county.html", project=project, county=county, filters=filters, rows=rows, cases=cases
    )


@bp.get("/sites/<int:site_id>")
@role_required(*STAFF_ROLES)
def site(site_id):
    """One site: monthly trend, answer distribution, comments, calls and visits."""
    scope = user_scope()
    site = get_in_scope(db.session, scope, Site, site_id, lambda s: s.region_id)
    filters = _filters()
    project = site.project
    months = summaries.monthly(db.session, scope, [site.id], filters, project.satisfied_from)
    counts = summaries.distribution(db.session, scope, site.id, filters)
    left_out = flagged.left_out(db.session, scope, [project.id], filters)
    calls = [
        (TASK_STATUSES[status], n)
        for status, n in db.session.execute(
            select(CallTask.status, func.count())
            .where(CallTask.site_id == site.id)
            .group_by(CallTask.status)
        )
    ]
    visits = db.session.scalars(
        select(Visit).where(Visit.site_id == site.id).order_by(Visit.visited_on.desc()).limit(20)
    ).all()
    return _page(
        "site.html",
        site=site,
        months=months,
        trend=charts.trend(months),
        bars=charts.bars(counts, SATISFACTION_LEVELS),
        comments=comment_list.comments(db.session, scope, project.id, filters, site_id=site.id),
        calls=calls,
        visits=visits,
        left_out=left_out.by("site").get(site.id),
        appealed=left_out.by("site", "appealed").get(site.id),
        cases=_case_counts(scope, project, filters, by="site", site_id=site.id),
    )


def _case_counts(scope, project, filters, **which):
    """The project's 整改 counts over the cases whose first bad answer arrived within the
    filters' dates; ``which``: case_counts' grouping and county or site."""
    return case_counts(db.session, scope, project, filters.date_from, filters.date_to, **which)


@bp.get("/projects/<int:project_id>/comments")
@role_required(*STAFF_ROLES)
def comments(project_id):
    """The project's comments, newest first, searchable; unhappy answers highlighted."""
    scope, project = _project(project_id)
    filters = _filters()
    query = comment_query_schema.load(request.args.to_dict())["q"][:50]
    return _page(
        "comments.html",
        project=project,
        query=query,
        comments=comment_list.comments(db.session, scope, project.id, filters, search=query),
    )


def _audit_export(what: str) -> None:
    """Record an export whose file is made (call after ``downloads.send``: a failed one is
    not an export)."""
    with write_transaction(db.session):
        record_export(db.session, current_actor(), what)


@bp.get("/projects/<int:project_id>/summary.<any(csv, xlsx):fmt>")
@role_required(*STAFF_ROLES)
def summary_export(project_id, fmt):
    """The per-county or per-site summary, for Excel."""
    scope, project = _project(project_id)
    query = stats_query_schema.load(request.args.to_dict())
    group = query.pop("group")
    filters = _filters(query)
    query = summaries.by_county if group == "county" else summaries.by_site
    summary = query(db.session, scope, project, filters)
    flagged.left_out(db.session, scope, [project.id], filters).attach(summary, group)
    cases = progress = None
    if group == "county":
        cases = _case_counts(scope, project, filters)
        progress = progress_on(db.session, project, filters.date_to or _today(), scope)
    rows = exports.summary_rows(summary, group, cases, progress)
    reply = downloads.send(rows, f"{project.name}-满意度汇总-{group}", fmt)
    _audit_export(f"{project.name}：按{'县' if group == 'county' else '点位'}汇总（{fmt}）")
    return reply


@bp.route("/projects/<int:project_id>/responses.<any(csv, xlsx):fmt>", methods=["GET", "POST"])
@role_required(*STAFF_ROLES)
def responses_export(project_id, fmt):
    """Every response of the project in scope, read in batches (no personal data): sent at
    once up to EXPORT_DIRECT_ROWS rows; past that the GET asks and the POST writes it in the
    background, going to the job's progress page."""
    scope, project = _project(project_id)
    filters = _filters()
    count = exports.response_count(db.session, scope, project.id, filters)
    if request.method == "GET" and count <= current_app.config["EXPORT_DIRECT_ROWS"]:
        rows = exports.response_rows(db.session, scope, project.id, filters)
        reply = downloads.send(rows, f"{project.name}-评价明细", fmt)
        _audit_export(f"{project.name}：评价明细（{fmt}）")
        return reply
    title = exports.responses_title(project, fmt, count)
    if request.method == "GET":
        return render_template("stats/export_job.html", project=project, title=title, count=count)
    params = {"project_id": project.id, "fmt": fmt, "ip": client_ip()}
    params["filters"] = {k: v for k, v in request.args.items() if k in FILTER_ARGS}
    job = queue_of(current_app).start(
        db.session, acting_user(), exports.RESPONSES_JOB, params, title
    )
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.get("/projects/<int:project_id>/report")
@role_required(*STAFF_ROLES)
def report(project_id):
    """The monthly report of a project, laid out for A4 paper."""
    scope, project = _project(project_id)
    content = reports.monthly_report(db.session, scope, project, _month(), _today())
    return render_template(
        "stats/report.html",
        report=content,
        channels=summaries.CHANNELS,
        args=request.args.to_dict(),
        filter_errors={},
    )


@bp.get("/projects/<int:project_id>/report.pdf")
@role_required(*STAFF_ROLES)
def report_pdf(project_id):
    """The monthly report as a PDF."""
    scope, project = _project(project_id)
    content = reports.monthly_report(db.session, scope, project, _month(), _today())
    reply = downloads.send_pdf(
        reports.pdf_bytes(content), f"{project.name}-{content.month:%Y-%m}-月报"
    )
    _audit_export(f"{project.name}：{content.month:%Y年%m月}月报（PDF）")
    return reply


def _month() -> date:
    """``?month=2026-11`` (default: the current month); a malformed one raises
    ValidationError (``invalid_filters``)."""
    return month_schema.load(request.args.to_dict())["month"] or _today().replace(day=1)


def _kept_filters() -> dict:
    """The dashboard filters of the current URL, as given."""
    return {k: v for k, v in request.args.items() if k in FILTER_ARGS}


@bp.app_template_global()
def filtered_url(endpoint: str, **values) -> str:
    """``url_for`` that keeps the current filters (the URL is the view: bookmark, send)."""
    return url_for(endpoint, **(_kept_filters() | values))


def _review_page(project, scope, filters, wanted: dict, errors=None):
    """The review list of the project's flagged answers (``wanted``: review_query_schema's)."""
    shown = flagged.ReviewFilter(wanted["state"], wanted["site_id"])
    page = flagged.review_page(db.session, scope, project.id, filters, shown, wanted["page"])
    counts = flagged.state_counts(db.session, scope, project.id, filters, shown.site_id)
    reply = _page(
        "flagged.html",
        project=project,
        page=page,
        shown=shown,
        counts=counts,
        states=FLAG_STATES,
        can_review=current_user.role == "city",
        review_errors=errors or {},
        counties=_counties(scope, project),
        hidden=shown.args,
        list_endpoint="stats.flagged_answers",
        list_ids={"project_id": project.id} | _kept_filters(),
        sites=shown,
    )
    return reply


@bp.get("/projects/<int:project_id>/flagged")
@role_required(*STAFF_ROLES)
def flagged_answers(project_id):
    """The project's answers flagged as suspected stuffing, for review (city users decide)."""
    scope, project = _project(project_id)
    wanted = review_query_schema.load(request.args.to_dict())
    return _review_page(project, scope, _filters(), wanted)


@bp.post("/projects/<int:project_id>/flagged")
@role_required("city")
def review_flagged(project_id):
    """Restore (count) or confirm (keep out) the ticked flagged answers, or all listed."""
    scope, project = _project(project_id)
    filters = _filters()
    wanted = review_query_schema.load(request.args.to_dict())
    shown = flagged.ReviewFilter(wanted["state"], wanted["site_id"])

    def apply(data):
        return flagged.review(
            db.session,
            scope,
            project.id,
            None if data["everything"] else data["ids"],
            data["decision"],
            actor=current_actor(),
            filters=filters,
            wanted=shown,
        )

    def form_page(errors):
        return _review_page(project, scope, filters, wanted, errors)

    # Decisions on one project take turns: a double click restores an answer once.
    changed, reply = submitted(review_schema, form_page, apply, lock=project)
    if reply:
        return reply
    flash(f"已处理 {changed} 份回答。", "ok")
    return redirect(request.full_path)
