"""Staff pages for rosters, phone spot-checks and unannounced visits.

Every record is fetched through ``survey.regions.scope``: a county user asking for another
county's roster entry, batch, call, visit or photo gets 404, from any URL.
"""

from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from survey import downloads
from survey.accounts.access import acting_user, client_ip, current_actor, role_required, user_scope
from survey.accounts.models import STAFF_ROLES
from survey.accounts.services import record_export
from survey.checks import calls, notices, roster, sampling, visits
from survey.checks.models import (
    CHECK_RESULTS,
    CallTask,
    HomeVisit,
    Resident,
    RosterImport,
    SampleBatch,
    Visit,
    VisitPhoto,
)
from survey.checks.photos import MAX_SIDE, BadPhoto, photos_limit, too_many_photos, uploaded_photos
from survey.checks.roster_files import RosterFileError
from survey.checks.roster_job import ROSTER_JOB
from survey.checks.schemas import (
    attempt_schema,
    interview_schema,
    notice_schema,
    pick_schema,
    roster_query_schema,
    sample_schema,
    visit_schema,
)
from survey.db import MAX_ID, app_now, db, write_transaction
from survey.form_posts import error_messages, first_message
from survey.jobs.queue import queue_of
from survey.phones import BadPhone, mask_phone, normalize_phone
from survey.regions.scope import get_in_scope
from survey.responses.form import build_form
from survey.responses.schemas import answers_schema
from survey.sites import listing, staging, staging_views
from survey.sites.checklists import checklist_items, checklist_number
from survey.sites.models import Site
from survey.sites.schemas import list_query_schema
from survey.sites.scoping import project_in_scope, projects_in_scope
from survey.uploads import FORM_OVERHEAD, upload_limit

bp = Blueprint("checks", __name__, url_prefix="/checks")


# -- helpers ---------------------------------------------------------------------------


def _cipher():
    return current_app.extensions["field_cipher"]


def _hours() -> calls.CallingHours:
    return current_app.extensions["calling_hours"]


def _rules() -> calls.CallRules:
    config = current_app.config
    return calls.CallRules(_hours(), config["CALL_MAX_ATTEMPTS"], config["CALL_AWAY_DAYS"])


def _now() -> datetime:
    """The current time, from the app's clock (tests set another one)."""
    return app_now(current_app)


def _questions(project):
    return project.questionnaire.current_version.questions


def _posted_answers() -> dict:
    # The ticked boxes of a multiple-choice question arrive as one field posted several times.
    fields = request.form.lists()
    return {k[2:]: v[0] if len(v) == 1 else v for k, v in fields if k.startswith("q.")}


def _answers(questions) -> dict:
    """The questionnaire answers posted as ``q.<key>``, validated. Raises ValidationError."""
    return answers_schema(questions).load(_posted_answers())


def _answer_form(questions, errors=None):
    return build_form(questions, _posted_answers(), errors or {})


@bp.app_template_filter("local")
def local_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored UTC time as the bureau's local time."""
    return _hours().local(moment).strftime(fmt) if moment else ""


# -- overview --------------------------------------------------------------------------


@bp.get("/")
@role_required(*STAFF_ROLES)
def index():
    """The projects this user works on, with their roster, samples and visits."""
    scope = user_scope()
    rows = [
        (project, roster.roster_size(db.session, project.id, scope))
        for project in projects_in_scope(db.session, scope)
    ]
    return render_template("checks/index.html", rows=rows)


# -- roster ----------------------------------------------------------------------------


def _list_query(schema, project_id: int, endpoint: str, ids: dict, **values) -> tuple[dict, dict]:
    """A long list's query from the URL (county, site name or code, page; a bad value is
    dropped and named) with ``values`` from elsewhere, and what the list's filter and pager
    partials show besides its page."""
    query, problems = schema.load_leniently(request.args.to_dict() | values)
    shown = {
        "sites": query["sites"],
        "problems": problems,
        "counties": listing.counties(db.session, project_id, user_scope()),
        "list_endpoint": endpoint,
        "list_ids": ids,
    }
    return query, shown


def _roster_page(project, status=200, **extra):
    scope = user_scope()
    # The number searched for comes in a POST body, never the URL: URLs end up in access logs.
    query, shown = _list_query(
        roster_query_schema,
        project.id,
        "checks.roster_list",
        {"project_id": project.id},
        phone=request.form.get("phone", ""),
    )
    phone, search_error = "", None
    if query["phone"]:
        try:
            phone = normalize_phone(query["phone"])
        except BadPhone as err:
            search_error = f"电话有误：{err}"
    page = roster.roster_page(
        db.session,
        _cipher(),
        project.id,
        scope,
        phone=phone or None,
        sites=query["sites"],
        number=query["page"],
    )
    imports = staging.recent_imports(
        db.session,
        RosterImport,
        RosterImport.project_id == project.id,
        scope.where(RosterImport.region_id),
    )
    return render_template(
        "checks/roster.html",
        project=project,
        page=page,
        search=query["phone"],
        search_error=search_error,
        imports=imports,
        max_mb=current_app.config["ROSTER_MAX_BYTES"] // (1024 * 1024),
        **shown,
        **extra,
    ), (400 if shown["problems"] else status)


@bp.get("/projects/<int:project_id>/roster")
@role_required(*STAFF_ROLES)
def roster_list(project_id):
    """The project's roster within the user's region, masked, with the import form."""
    return _roster_page(project_in_scope(db.session, user_scope(), project_id))


@bp.post("/projects/<int:project_id>/roster/search")
@role_required(*STAFF_ROLES)
def roster_search(project_id):
    """Find a number on the roster (posted, so it never appears in a URL or a log)."""
    return _roster_page(project_in_scope(db.session, user_scope(), project_id))


@bp.post("/projects/<int:project_id>/roster/import")
@role_required(*STAFF_ROLES)
@upload_limit(lambda config: config["ROSTER_MAX_BYTES"] + FORM_OVERHEAD)
def roster_upload(project_id):
    """Check an uploaded roster file and keep it for the user to confirm; writes no rows."""
    scope = user_scope()
    project = project_in_scope(db.session, scope, project_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _roster_page(project, 422, upload_error="请选择要上传的名单文件。")
    try:
        check = roster.check_file(
            db.session, _cipher(), project.id, scope, upload.stream, upload.filename
        )
    except RosterFileError as err:
        return _roster_page(project, 422, upload_error=str(err))
    with write_transaction(db.session):
        staged = roster.stage_import(
            db.session, _cipher(), project, acting_user(), upload.filename, upload.stream, check
        )
    return redirect(url_for(".import_report", import_id=staged.id))


def _import_roster(staged: RosterImport, prepared) -> str:
    """Import the valid rows of a checked file; returns what to flash."""
    added = roster.import_rows(db.session, current_actor(), staged, prepared)
    return f"已导入 {added} 人。"


def _import_in_background(staged: RosterImport):
    """A staged roster past ROSTER_DIRECT_ROWS valid rows is imported by a background job
    (survey.checks.roster_job): the confirm goes to the job's progress page."""
    if not staged.is_staged or staged.valid_rows <= current_app.config["ROSTER_DIRECT_ROWS"]:
        return None
    back = url_for(".roster_list", project_id=staged.project_id)
    params = {"import_id": staged.id, "ip": client_ip(), "back": back}
    title = f"导入名单：{staged.file_label}，{staged.valid_rows} 人"
    job = queue_of(current_app).start(db.session, acting_user(), ROSTER_JOB, params, title)
    return redirect(url_for("jobs.job", job_id=job.id))


staging_views.add_pages(
    bp,
    "/imports",
    RosterImport,
    roles=STAFF_ROLES,
    template="checks/import.html",
    region_of=lambda staged: staged.region_id,
    back=lambda staged: url_for(".roster_list", project_id=staged.project_id),
    noun="文件",
    cancelled="已取消，名单没有任何改动。",
    run=_import_roster,
    prepare=lambda staged: roster.prepared_rows(db.session, _cipher(), staged, user_scope()),
    background=_import_in_background,
)


@bp.post("/residents/<int:resident_id>/delete")
@role_required(*STAFF_ROLES)
def resident_delete(resident_id):
    """Delete one person from the roster (on their request, or entered by mistake)."""
    resident = get_in_scope(
        db.session, user_scope(), Resident, resident_id, lambda r: r.site.region_id
    )
    project_id = resident.project_id
    with write_transaction(db.session):
        roster.delete_resident(db.session, current_actor(), resident)
    flash("已从名单中删除。", "info")
    return redirect(url_for(".roster_list", project_id=project_id))


# -- samples ---------------------------------------------------------------------------


def _samples_page(project, status=200, errors=None):
    scope = user_scope()
    config = current_app.config
    frame = sampling.sampling_frame(
        db.session, project.id, scope, _now(), config["CALL_EXCLUDE_DAYS"]
    )
    return render_template(
        "checks/samples.html",
        project=project,
        frame=frame,
        batches=calls.batches(db.session, project.id, scope),
        exclude_days=config["CALL_EXCLUDE_DAYS"],
        form=request.form,
        errors=errors or {},
    ), status


@bp.get("/projects/<int:project_id>/samples")
@role_required(*STAFF_ROLES)
def samples(project_id):
    """Sample sizes per site (with the ±5 % guidance) and the project's batches."""
    return _samples_page(project_in_scope(db.session, user_scope(), project_id))


@bp.post("/projects/<int:project_id>/samples")
@role_required(*STAFF_ROLES)
def sample_draw(project_id):
    """Draw a batch of residents to call."""
    scope = user_scope()
    project = project_in_scope(db.session, scope, project_id)
    try:
        data = sample_schema.load(request.form.to_dict())
    except ValidationError as err:
        return _samples_page(project, 422, error_messages(err))
    with write_transaction(db.session):
        batch = sampling.draw_sample(
            db.session,
            project.id,
            scope,
            current_actor(),
            mode=data["mode"],
            size=data["size"],
            minimum=data["minimum"],
            seed=data["seed"] or None,
            now=_now(),
            exclude_days=current_app.config["CALL_EXCLUDE_DAYS"],
        )
    flash(f"已抽取 {len(batch.tasks)} 人（随机种子 {batch.seed}）。", "info")
    return redirect(url_for(".batch", batch_id=batch.id))


def _batch(batch_id: int) -> SampleBatch:
    return calls.batch_in_scope(db.session, user_scope(), batch_id)


@bp.get("/batches/<int:batch_id>")
@role_required(*STAFF_ROLES)
def batch(batch_id):
    """A batch: who can be called now, its tasks a page at a time (by county, by site name
    or code), and the response rate; a county user sees their county's part of a city's batch."""
    scope = user_scope()
    batch = _batch(batch_id)
    query, shown = _list_query(
        list_query_schema, batch.project_id, "checks.batch", {"batch_id": batch.id}
    )
    ready = calls.callable_tasks(db.session, batch, scope, _now(), _rules(), query["sites"])
    return render_template(
        "checks/batch.html",
        batch=batch,
        partial=not scope.covers(batch.region_id),
        report=calls.batch_report(db.session, batch, scope),
        page=calls.task_page(db.session, batch, scope, query["sites"], query["page"]),
        ready=ready[: listing.PER_PAGE],
        ready_count=len(ready),
        hours=_hours(),
        in_hours=_hours().is_open(_now()),
        statuses=calls.TASK_STATUSES,
        outcomes=calls.OUTCOMES,
        **shown,
    ), (400 if shown["problems"] else 200)


@bp.get("/batches/<int:batch_id>/tasks.csv")
@role_required(*STAFF_ROLES)
def batch_export(batch_id):
    """The batch's tasks for Excel (UTF-8 with BOM): masked numbers only, never names."""
    batch = _batch(batch_id)
    tasks = calls.batch_tasks(db.session, batch, user_scope())
    rows = calls.export_rows(tasks, _cipher(), _hours())
    reply = downloads.send(rows, f"电话抽查-批次{batch.id}", "csv")
    with write_transaction(db.session):  # recorded only once the file is made
        what = f"电话抽查批次 {batch.id} 的任务清单（{len(tasks)} 行）"
        record_export(db.session, current_actor(), what)
    return reply


# -- calls -----------------------------------------------------------------------------


def _task(task_id: int) -> CallTask:
    return get_in_scope(db.session, user_scope(), CallTask, task_id, lambda t: t.site.region_id)


def _call_page(task: CallTask, status=200, *, phone=None, errors=None, answer_errors=None):
    questions = _questions(task.batch.project)
    resident = task.resident
    cipher = _cipher()
    name = cipher.decrypt(resident.name_token) if resident else "（已移出名单）"
    masked = mask_phone(cipher.decrypt(resident.phone_token)) if resident else ""
    note = cipher.decrypt(resident.note_token) if resident and resident.note_token else ""
    return render_template(
        "checks/call.html",
        task=task,
        name=name,
        masked=masked,
        note=note,
        phone=phone,
        notice=notices.current_notice(db.session, task.site.region_id),
        wait=calls.wait_reason(task, _now(), _rules()),
        outcomes=calls.OUTCOMES,
        form=request.form,
        errors=errors or {},
        questions=_answer_form(questions, answer_errors),
    ), status


@bp.get("/tasks/<int:task_id>")
@role_required(*STAFF_ROLES)
def task(task_id):
    """The call page: notice to read, the masked number, attempts so far, the answers; and
    when the task cannot be called now, why (calling hours, a call-back, a half-day tried)."""
    return _call_page(_task(task_id))


@bp.post("/tasks/<int:task_id>/reveal")
@role_required(*STAFF_ROLES)
def reveal(task_id):
    """Show the whole number once, to dial it; every reveal goes into the audit log."""
    task = _task(task_id)
    if task.resident is None:
        abort(404)
    if not task.is_open:  # nobody is to be called: the number stays hidden
        return _call_page(task, 409, errors={"reveal": ["此任务已结束，不再显示号码。"]})
    with write_transaction(db.session):
        phone = calls.reveal_phone(db.session, task, current_actor(), _cipher())
    return _call_page(task, phone=phone)


@bp.post("/tasks/<int:task_id>/attempts")
@role_required(*STAFF_ROLES)
def attempt(task_id):
    """Log an attempt; a completed call stores its answers as a ``phone`` response."""
    task = _task(task_id)
    questions = _questions(task.batch.project)
    try:
        data = attempt_schema.load(request.form.to_dict())
    except ValidationError as err:
        return _call_page(task, 422, errors=error_messages(err))
    answers = None
    if data["outcome"] in calls.ANSWERED:
        try:
            answers = _answers(questions)
        except ValidationError as err:
            return _call_page(task, 422, answer_errors=error_messages(err))
    try:
        data["callback_at"] = calls.callback_time(data["callback_at"], _now(), _hours())
    except ValueError as err:
        return _call_page(task, 422, errors={"callback_at": [str(err)]})
    rules = _rules()
    try:
        with write_transaction(db.session, task):
            calls.record_attempt(
                db.session, task, current_actor(), rules, _now(), data, questions, answers
            )
            message = calls.saved_message(task, data["outcome"], rules)
    except calls.CallRefused:
        # The page says why at its top (the same wait reason): not a second time at the form.
        return _call_page(task, 409)
    flash(message, "info")
    return redirect(url_for(".batch", batch_id=task.batch_id))


# -- visits ----------------------------------------------------------------------------


@bp.get("/projects/<int:project_id>/visits")
@role_required(*STAFF_ROLES)
def visit_list(project_id):
    """The project's visits (paged, by county, by site name or code), the residents waiting
    for a home visit, and a reproducible random pick of sites to visit next."""
    scope = user_scope()
    project = project_in_scope(db.session, scope, project_id)
    query, shown = _list_query(
        list_query_schema, project.id, "checks.visit_list", {"project_id": project.id}
    )
    try:
        pick = pick_schema.load(request.args.to_dict())
    except ValidationError as err:
        pick, pick_error = None, first_message(err)
    else:
        pick_error = None
    picked, seed = [], None
    if pick is not None and "count" in request.args:
        seed = pick["seed"] or sampling.new_seed()
        picked = visits.draw_sites(db.session, project.id, scope, pick["count"], seed)
    sites = query["sites"]
    return render_template(
        "checks/visits.html",
        project=project,
        page=visits.visit_page(db.session, project.id, scope, sites, query["page"]),
        offered=visits.sites_to_visit(db.session, project.id, scope, sites),
        home_visits=visits.home_visit_rows(
            visits.open_home_visits(db.session, project.id, scope), _cipher()
        ),
        picked=picked,
        seed=seed,
        pick_error=pick_error,
        **shown,
    ), (400 if shown["problems"] else 422 if pick_error else 200)


def _site(site_id: int) -> Site:
    return get_in_scope(db.session, user_scope(), Site, site_id, lambda s: s.region_id)


def _home_visit(home_visit_id: int | None, site: Site) -> HomeVisit | None:
    """The open home visit a visit form is for (404 unless it is of this site, in scope)."""
    if home_visit_id is None:
        return None
    if not 0 < home_visit_id <= MAX_ID:  # from the URL: a number no row can have
        abort(404)
    found = get_in_scope(
        db.session, user_scope(), HomeVisit, home_visit_id, lambda h: h.site.region_id
    )
    if found.site_id != site.id:
        abort(404)
    return found


def _visit_form(site: Site, status=200, errors=None, *, body_read=True):
    """The visit form, filled in with what was posted (``body_read`` False: a body too large
    to read, so only what the URL says)."""
    config = current_app.config
    posted = request.values if body_read else request.args
    current = checklist_number(site.project)
    home_visit = _home_visit(posted.get("home_visit", type=int), site)
    # A file input cannot be filled in again: the inspector is told to choose them again.
    chosen = [f for f in request.files.getlist("photos") if f.filename] if body_read else []
    return render_template(
        "checks/visit_form.html",
        site=site,
        checklist=checklist_items(site.project),
        checklist_version=current,
        # Results chosen on another version's list would tick other items: start afresh.
        results_kept=posted.get("checklist_version", type=int) in (None, current),
        results=CHECK_RESULTS,
        form=posted,
        errors=errors or {},
        problems=[
            found[0] if isinstance(found, list) else "检查项的结果有误，请重新选择。"
            for found in (errors or {}).values()
        ],
        kept=body_read,
        draw_seed=posted.get("draw_seed", ""),
        # The home visit the form is for rides along in the URL, then in a hidden field.
        home_visit=home_visit,
        person=visits.home_visit_row(home_visit, _cipher()) if home_visit else None,
        photos_dropped=len(chosen),
        max_photos=config["VISIT_MAX_PHOTOS"],
        max_mb=config["PHOTO_MAX_BYTES"] // (1024 * 1024),
        max_side=MAX_SIDE,
        today=_hours().local(_now()).date().isoformat(),
    ), status


@bp.get("/sites/<int:site_id>/visits/new")
@role_required(*STAFF_ROLES)
def visit_new(site_id):
    """The form for a visit to one site (for a resident's home visit with ``home_visit``)."""
    return _visit_form(_site(site_id))


def _photos() -> list:
    """The visit form's photos, cleaned (survey.checks.photos.uploaded_photos)."""
    return uploaded_photos(request.files.getlist("photos"), current_app.config)


def _visit_too_large():
    """A visit form whose photos together exceed the request limit: its fields could not be
    read, so the form is shown again with the reason (None: not a staff member's form)."""
    user = current_user
    if not user.is_authenticated or user.role not in STAFF_ROLES or user.must_change_password:
        return None
    message = too_many_photos(current_app.config, request.content_length or 0)
    try:  # a site or home visit not found here: the plain 413 page (an error handler runs this)
        return _visit_form(
            _site(request.view_args["site_id"]), 413, {"photos": [message]}, body_read=False
        )
    except NotFound:
        return None


@bp.post("/sites/<int:site_id>/visits/new")
@role_required(*STAFF_ROLES)
@upload_limit(lambda c: photos_limit(c) + FORM_OVERHEAD, too_large=_visit_too_large)
def visit_create(site_id):
    """Record a visit with its checklist, findings and photos; refused, the form comes back
    with every field as typed and the reason."""
    site = _site(site_id)
    try:
        values = visit_schema.load(request.form.to_dict())
    except ValidationError as err:
        return _visit_form(site, 422, error_messages(err))
    home_visit = _home_visit(values["home_visit"], site)
    try:
        photos = _photos()
    except BadPhoto as err:
        return _visit_form(site, 422, {"photos": [str(err)]})
    try:
        with write_transaction(db.session, home_visit):
            visit = visits.record_visit(
                db.session, site, current_actor(), values, photos, home_visit
            )
    except visits.VisitRefused as err:
        return _visit_form(site, 409, {"visit": [str(err)]})
    flash("暗访记录已保存。可以继续录入现场访谈。", "info")
    return redirect(url_for(".visit", visit_id=visit.id))


def _visit(visit_id: int) -> Visit:
    return get_in_scope(db.session, user_scope(), Visit, visit_id, lambda v: v.site.region_id)


def _visit_page(visit: Visit, status=200, answer_errors=None):
    return render_template(
        "checks/visit.html",
        visit=visit,
        questions=_answer_form(_questions(visit.site.project), answer_errors),
        comment=request.form.get("comment", ""),
    ), status


@bp.get("/visits/<int:visit_id>")
@role_required(*STAFF_ROLES)
def visit(visit_id):
    """A visit's record, photos and interviews, with the form for another interview."""
    return _visit_page(_visit(visit_id))


@bp.post("/visits/<int:visit_id>/interviews")
@role_required(*STAFF_ROLES)
def interview(visit_id):
    """Store one resident's answers from the visit (channel ``visit``); answers that do not
    hold come back on the visit's page with the reasons (422), nothing stored."""
    visit = _visit(visit_id)
    questions = _questions(visit.site.project)
    try:
        answers = _answers(questions)
        comment = interview_schema.load(request.form.to_dict())["comment"]
    except ValidationError as err:
        return _visit_page(visit, 422, error_messages(err))
    with write_transaction(db.session):
        visits.add_interview(db.session, current_actor(), visit, questions, answers, comment)
    flash("访谈已保存。", "info")
    return redirect(url_for(".visit", visit_id=visit.id))


@bp.post("/visits/<int:visit_id>/delete")
@role_required(*STAFF_ROLES)
def visit_delete(visit_id):
    """Delete a visit recorded by mistake, with its photos and interviews."""
    visit = _visit(visit_id)
    if not visits.may_delete(visit, acting_user()):
        abort(403)
    project_id = visit.site.project_id
    with write_transaction(db.session):
        visits.delete_visit(db.session, current_actor(), visit)
    flash("暗访记录已删除。", "info")
    return redirect(url_for(".visit_list", project_id=project_id))


@bp.get("/photos/<int:photo_id>")
@role_required(*STAFF_ROLES)
def photo(photo_id):
    """A visit photo."""
    image = get_in_scope(
        db.session, user_scope(), VisitPhoto, photo_id, lambda p: p.visit.site.region_id
    )
    return downloads.private_image(image.data, image.content_type)


# -- the notice read at the start of calls ---------------------------------------------


@bp.route("/notice", methods=["GET", "POST"])
@role_required("admin", "city")
def notice():
    """The notice read on calls in the user's city (an admin's: the default, a province
    user's: their cities' default), and publishing a new wording of it."""
    region = notices.publisher_region(acting_user())
    region_id = region.id if region else None
    errors = {}
    if request.method == "POST":
        try:
            body = notice_schema.load(request.form.to_dict())["body"]
        except ValidationError as err:
            errors = error_messages(err)
        else:
            with write_transaction(db.session):
                published = notices.publish_notice(db.session, body, current_actor(), region)
            flash(f"已发布{published.label}。", "info")
            return redirect(url_for(".notice"))
    current = notices.current_notice(db.session, region_id)
    return render_template(
        "checks/notice.html",
        region=region,
        audience=notices.audience(region),
        current=current,
        inherited=current.region_id != region_id,
        form=request.form,
        errors=errors,
    ), 422 if errors else 200
