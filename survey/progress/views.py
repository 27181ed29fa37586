"""The 进度 pages: a project's progress against time progress per county with its warnings,
a site's milestones and records (the county records one with evidence, the city confirms or
returns it), a project's milestones (admins and the city), and the monthly county reports.
A site, record, file or report outside the user's counties is 404."""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import NotFound

from survey import downloads
from survey.accounts.access import SETUP_ROLES, current_actor, role_required, user_scope
from survey.accounts.models import STAFF_ROLES
from survey.checks.photos import megabytes
from survey.db import StaleRow, app_now, db, write_transaction
from survey.form_posts import loaded, submitted
from survey.progress import services
from survey.progress.evidence import BadEvidence, evidence_limit, uploaded_evidence
from survey.progress.metrics import percent_text
from survey.progress.models import EvidenceFile, MilestoneRecord
from survey.progress.schemas import (
    milestones_form_schema,
    month_of,
    month_query_schema,
    record_form_schema,
    report_form_schema,
    return_form_schema,
    rows_of,
)
from survey.regions.models import Region
from survey.regions.scope import get_in_scope
from survey.responses.rollups import local_day
from survey.sites.models import Site
from survey.sites.page_cache import form_pages
from survey.sites.scoping import project_in_scope, project_to_set_up, projects_in_scope
from survey.uploads import FORM_OVERHEAD, upload_limit

bp = Blueprint("progress", __name__, url_prefix="/progress")
bp.add_app_template_filter(percent_text, "progress_percent")

ALL_ROLES = ("admin", *STAFF_ROLES)


def _now():
    return app_now(current_app)


def _today():
    return local_day(_now())


def _site(site_id: int) -> Site:
    return get_in_scope(db.session, user_scope(), Site, site_id, lambda s: s.region_id)


def _record(record_id: int) -> MilestoneRecord:
    return get_in_scope(db.session, user_scope(), MilestoneRecord, record_id, lambda r: r.region_id)


def _progress(project):
    return services.progress_on(db.session, project, _today(), user_scope())


@bp.get("/")
@role_required(*ALL_ROLES)
def index():
    """The projects in the user's scope, each with its average and time progress."""
    rows = [_progress(p) for p in projects_in_scope(db.session, user_scope())]
    return render_template("progress/index.html", rows=rows)


@bp.get("/projects/<int:project_id>")
@role_required(*ALL_ROLES)
def project(project_id):
    """A project's progress: per county average against time progress and warnings, the
    records waiting for the city, and every site's milestone."""
    found = project_in_scope(db.session, user_scope(), project_id)
    return render_template(
        "progress/project.html",
        progress=_progress(found),
        waiting=services.waiting_records(db.session, found, user_scope()),
        can_decide=current_user.role == "city",
        can_set_up=current_user.role in SETUP_ROLES,
    )


def _site_page(site: Site, errors=None, status=200, body_read=True):
    milestones = services.milestones_of(db.session, site.project)
    percent = services.site_percent(db.session, site)
    page = render_template(
        "progress/site.html",
        site=site,
        milestones=milestones,
        percent=percent,
        ahead=[m for m in milestones if m.percent > percent],
        records=services.records_of(db.session, site),
        can_record=current_user.role == "county",
        can_decide=current_user.role == "city",
        errors=errors or {},
        form=request.form if body_read else {},
        today=_today(),
        max_mb=current_app.config["PHOTO_MAX_BYTES"] // (1024 * 1024),
    )
    return page, status


def _site_form(site: Site, errors=None) -> str:
    return _site_page(site, errors)[0]


@bp.get("/sites/<int:site_id>")
@role_required(*ALL_ROLES)
def site(site_id):
    """A site's milestones, its progress and records with their evidence; the county's
    form to record the next milestone."""
    return _site_page(_site(site_id))


def _record_too_large():
    """A record whose files together exceed the request limit: its fields could not be
    read, so the form comes back with the reason (None: the plain 413 page)."""
    if not current_user.is_authenticated or current_user.role != "county":
        return None
    limit = evidence_limit(current_app.config)
    each = megabytes(current_app.config["PHOTO_MAX_BYTES"])
    message = (
        f"这次上传的文件一共超过了上限 {megabytes(limit)}（每个文件不超过 {each}），"
        "没有保存，请少选几个文件再试。"
    )
    try:
        return _site_page(
            _site(request.view_args["site_id"]), {"files": [message]}, 413, body_read=False
        )
    except NotFound:
        return None


@bp.post("/sites/<int:site_id>/records")
@role_required("county")
@upload_limit(lambda c: evidence_limit(c) + FORM_OVERHEAD, too_large=_record_too_large)
def record(site_id):
    """The county records a milestone the site reached, with photos and PDFs; it waits for
    the city. Refused, nothing is stored and the form says why."""
    found = _site(site_id)
    try:
        evidence = uploaded_evidence(
            request.files.getlist("photos"), request.files.getlist("documents"), current_app.config
        )
    except BadEvidence as err:
        return _site_page(found, {"files": [str(err)]}, 422)
    apply = partial(services.record_milestone, db.session, current_actor(), found, _now())
    _, reply = submitted(
        record_form_schema,
        partial(_site_form, found),
        lambda values: apply(values, evidence),
        lock=found,
        # Another request recorded the same milestone meanwhile (the partial unique index).
        conflict={"percent": ["这个进度的填报正在等待市里确认。"]},
    )
    if reply is not None:
        return reply
    flash("已填报，等待市里确认。", "info")
    return redirect(url_for(".site", site_id=site_id))


def _decided(found: MilestoneRecord):
    """A second click, or another city user meanwhile, finds the record decided: said,
    nothing done twice."""
    flash(f"这条填报已经{found.state_label}了。", "info")
    return redirect(url_for(".site", site_id=found.site_id))


@bp.post("/records/<int:record_id>/confirm")
@role_required("city")
def confirm(record_id):
    """The city confirms a record: the site's progress rises to it (at 100 % its survey
    opens)."""
    found = _record(record_id)
    try:
        with write_transaction(db.session, lock=found, check=lambda r: r.state == "submitted"):
            services.confirm(db.session, current_actor(), found, _now())
    except StaleRow:
        return _decided(found)
    flash(f"已确认 {found.site.name} 达到 {found.percent}%。", "info")
    return redirect(url_for(".project", project_id=found.project_id))


@bp.post("/records/<int:record_id>/return")
@role_required("city")
def return_record(record_id):
    """The city returns a record to the county with the reason."""
    found = _record(record_id)
    if found.state != "submitted":
        return _decided(found)

    def apply(values):
        services.return_record(db.session, current_actor(), found, _now(), values["reason"])

    _, reply = submitted(return_form_schema, partial(_site_form, found.site), apply, lock=found)
    return reply or redirect(url_for(".site", site_id=found.site_id))


@bp.get("/files/<int:file_id>")
@role_required(*ALL_ROLES)
def evidence_file(file_id):
    """A record's evidence: a photo shown inline, a PDF as a download."""
    found = get_in_scope(
        db.session, user_scope(), EvidenceFile, file_id, lambda f: f.record.region_id
    )
    if found.kind == "photo":
        return downloads.private_image(found.data, found.content_type)
    return downloads.send_pdf(found.data, found.filename.removesuffix(".pdf"))


@bp.route("/projects/<int:project_id>/milestones", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def milestones(project_id):
    """A project's milestones (percent, name, evidence, planned date) and whether its
    sites' surveys open from the start (admins and the project's city)."""
    found = project_to_set_up(project_id)

    def form_page(errors=None):
        return render_template(
            "progress/milestones.html",
            project=found,
            milestones=services.milestones_of(db.session, found),
            posted=request.form if request.method == "POST" else None,
            errors=errors or {},
        )

    def apply(values):
        services.save_milestones(
            db.session, current_actor(), found, rows_of(values), values["open_from_start"]
        )

    _, reply = submitted(milestones_form_schema, form_page, apply, lock=found)
    if reply is not None:
        return reply
    if not found.open_from_start:  # this process's cached forms close at once, others' soon
        cache = form_pages()
        for site in found.sites:
            for link in site.tokens:
                cache.discard(link.token)
    flash("进度节点已保存。", "info")
    return redirect(url_for(".project", project_id=found.id))


def _reports_page(project, county: Region | None, errors=None, status=200):
    today = _today()
    month = month_of(loaded(month_query_schema, request.args).get("month"), today)
    own = services.report_of(db.session, project, county.id, month) if county else None
    if request.method == "POST":
        form = request.form
    elif own is not None:
        form = {"progress": own.progress, "problems": own.problems}
    elif county is not None:
        form = {
            "progress": services.prefilled_report(db.session, project, county, month),
            "problems": "",
        }
    else:
        form = {}
    counties = _progress(project).regions
    page = render_template(
        "progress/reports.html",
        project=project,
        month=month,
        due=services.report_due(month),
        this_month=month == today.replace(day=1),
        states=services.report_states(db.session, project, counties, month, today),
        county=county,
        form=form,
        errors=errors or {},
    )
    return page, status


@bp.get("/projects/<int:project_id>/reports")
@role_required(*ALL_ROLES)
def reports(project_id):
    """The monthly reports on a project (``?month=2026-10``, default this month): every
    county's state (who has not reported, who reported late) and what they said; for a
    county, its form for this month, pre-filled from its milestone records."""
    found = project_in_scope(db.session, user_scope(), project_id)
    return _reports_page(found, current_user.region if current_user.role == "county" else None)


@bp.post("/projects/<int:project_id>/reports")
@role_required("county")
def send_report(project_id):
    """A county sends this month's report (due by the 25th; later, it is marked late)."""
    found = project_in_scope(db.session, user_scope(), project_id)
    county = current_user.region
    progress = _progress(found)
    average = next((c.average for c in progress.counties if c.region.id == county.id), None)
    apply = partial(services.send_report, db.session, current_actor(), found, county, _now())
    _, reply = submitted(
        report_form_schema,
        lambda errors=None: _reports_page(found, county, errors)[0],
        lambda values: apply(values, average),
    )
    if reply is not None:
        return reply
    flash(f"{local_day(_now()):%Y年%m月}的进度已报送。", "info")
    return redirect(url_for(".reports", project_id=found.id))
