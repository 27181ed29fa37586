"""The 整改 pages of city and county staff: the open cases by deadline, a case with its
timeline, and its next step (核实, 整改完成). A case outside the user's counties is 404."""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from survey import downloads
from survey.accounts.access import SETUP_ROLES, current_actor, role_required, user_scope
from survey.accounts.models import STAFF_ROLES
from survey.checks.photos import BadPhoto, photos_limit, too_many_photos, uploaded_photos
from survey.db import app_now, db, write_transaction
from survey.form_posts import submitted
from survey.questionnaires.models import SATISFACTION_LEVELS
from survey.rectification import appeals, deadlines, services
from survey.rectification.metrics import shown_share
from survey.rectification.models import APPEALABLE, DECISIONS, FOLLOWUP_OUTCOMES, Case, StepPhoto
from survey.rectification.schemas import (
    appeal_schema,
    decision_schema,
    empty_form_schema,
    followup_schema,
    rectify_schema,
    rules_schema,
    verify_schema,
)
from survey.rectification.workdays import assumption_note, work_calendar
from survey.regions.scope import get_in_scope
from survey.responses.models import CHANNELS, Response
from survey.responses.rollups import local_day
from survey.sites.scoping import project_to_set_up
from survey.uploads import FORM_OVERHEAD, upload_limit

bp = Blueprint("rectification", __name__, url_prefix="/cases")


bp.add_app_template_filter(shown_share, "share")


@bp.app_context_processor
def open_cases_banner() -> dict:
    """On the city's and county's home (the spot-check page): their open 整改单, how many
    are due today and how many overdue, for the banner that leads to them."""
    if request.endpoint != "checks.index" or current_user.role not in STAFF_ROLES:
        return {}
    cases = services.cases_in_scope(db.session, user_scope())
    today = local_day(_now())
    overdue = sum(1 for case in cases if case.due is not None and case.due < today)
    return {"open_cases": (len(cases), services.due_today(cases, today), overdue)}


def _now():
    return app_now(current_app)


def _case(case_id: int) -> Case:
    return get_in_scope(db.session, user_scope(), Case, case_id, lambda c: c.region_id)


@bp.get("/")
@role_required(*STAFF_ROLES)
def index():
    """The open cases of the user's counties, overdue first then by deadline, with how many
    are due today; ``?all=1`` adds the closed ones."""
    show_all = request.args.get("all") == "1"
    cases = services.cases_in_scope(db.session, user_scope(), open_only=not show_all)
    today = local_day(_now())
    return render_template(
        "rectification/index.html",
        cases=cases,
        today=today,
        due_today=services.due_today(cases, today),
        show_all=show_all,
    )


def _case_page(case: Case, errors=None, phone: str | None = None, form=None) -> str:
    """The case page; its forms filled in with ``form`` (default: what was posted)."""
    callable_back = case.state == "following_up" and (
        services.followup_number(db.session, case) is not None
    )
    return render_template(
        "rectification/case.html",
        case=case,
        callable_back=callable_back,
        phone=phone,
        outcomes=FOLLOWUP_OUTCOMES,
        decisions=DECISIONS,
        appealable=appeals.appealable(case) if case.state in APPEALABLE else [],
        may_appeal=current_user.role == "county",
        may_decide=current_user.role == appeals.DECIDING_ROLE,
        today=local_day(_now()),
        assumed=assumption_note(case.assumed_years),
        errors=errors or {},
        form=request.form if form is None else form,
        channels=CHANNELS,
        levels=SATISFACTION_LEVELS,
    )


@bp.get("/<int:case_id>")
@role_required(*STAFF_ROLES)
def case(case_id):
    """A case: its site, answers, deadlines and timeline, and the form of its next step."""
    return _case_page(_case(case_id))


ALREADY_DONE = "这个整改单已经办理到下一步了，请看时间线。"


def _step(case_id: int, state: str, schema, apply):
    """A step's POST on the case in ``state``; the case locked while it is taken, so a
    second click or another user meanwhile finds it done (said, nothing done twice)."""
    found = _case(case_id)
    if found.state != state:
        flash(ALREADY_DONE, "info")
        return redirect(url_for(".case", case_id=case_id))
    _, reply = submitted(schema, partial(_case_page, found), partial(apply, found), lock=found)
    return reply or redirect(url_for(".case", case_id=case_id))


@bp.post("/<int:case_id>/verify")
@role_required(*STAFF_ROLES)
def verify(case_id):
    """核实: what was found; a complex case gets the longer 整改 deadline."""

    def apply(case, values):
        services.verify(
            db.session, current_actor(), case, work_calendar(db.session), _now(), values
        )

    return _step(case_id, "verifying", verify_schema, apply)


def _photos_too_large():
    """A step whose photos together exceed the request limit: its fields could not be read,
    so the case page comes back with the reason under the photos it was sending (None: not
    a staff member's, or a case not theirs: the plain 413 page)."""
    user = current_user
    if not user.is_authenticated or user.role not in STAFF_ROLES or user.must_change_password:
        return None
    try:
        found = _case(request.view_args["case_id"])
    except NotFound:
        return None
    message = too_many_photos(current_app.config, request.content_length or 0)
    errors = {PHOTO_FIELDS[request.endpoint]: [message]}
    return _case_page(found, errors, form=MultiDict()), 413  # the body was never read


#: Each step's photos, as the case page names their field (its errors are shown under it).
PHOTO_FIELDS = {"rectification.rectify": "photos", "rectification.appeal": "appeal-photos"}
_with_photos = upload_limit(lambda c: photos_limit(c) + FORM_OVERHEAD, too_large=_photos_too_large)


@bp.post("/<int:case_id>/rectify")
@role_required(*STAFF_ROLES)
@_with_photos
def rectify(case_id):
    """整改完成: what was done, with photos (re-encoded like a visit's)."""

    def apply(case, values, photos):
        services.rectify(
            db.session, current_actor(), case, work_calendar(db.session), _now(), values, photos
        )

    return _step_with_photos(case_id, "rectifying", rectify_schema, apply)


def _step_with_photos(case_id: int, state: str, schema, apply):
    """A step's POST with photos (re-encoded like a visit's): a bad photo is the page again
    with its reason under them (422), nothing stored."""
    try:
        photos = uploaded_photos(request.files.getlist("photos"), current_app.config)
    except BadPhoto as err:
        return _case_page(_case(case_id), {PHOTO_FIELDS[request.endpoint]: [str(err)]}), 422
    return _step(case_id, state, schema, lambda case, values: apply(case, values, photos))


@bp.post("/<int:case_id>/appeal")
@role_required("county")
@_with_photos
def appeal(case_id):
    """申诉: the county names the answers it believes malicious, with its evidence (text
    and photos); the city decides."""
    found = _case(case_id)
    if found.state not in APPEALABLE:
        flash(ALREADY_DONE, "info")
        return redirect(url_for(".case", case_id=case_id))

    def apply(case, values, photos):
        appeals.appeal(db.session, current_actor(), case, _now(), values, photos)

    return _step_with_photos(case_id, found.state, appeal_schema, apply)


@bp.post("/<int:case_id>/decide")
@role_required(appeals.DECIDING_ROLE)
def decide(case_id):
    """The city's decision on a 申诉: upheld (the answers leave the rates) or rejected."""

    def apply(case, values):
        appeals.decide(db.session, current_actor(), case, work_calendar(db.session), _now(), values)

    return _step(case_id, "appealing", decision_schema, apply)


@bp.post("/complaints/<int:response_id>")
@role_required(*STAFF_ROLES)
def complaint(response_id):
    """Mark an answer's comment as a complaint: it opens a case (or joins its site's open
    one), and the case's page opens."""
    response = get_in_scope(
        db.session, user_scope(), Response, response_id, lambda r: r.site.region_id
    )
    try:
        with write_transaction(db.session):
            case = services.open_for_complaint(
                db.session, current_actor(), response, work_calendar(db.session), _now()
            )
    except services.CaseError as err:
        flash(str(err), "error")
        return redirect(url_for(".index"))
    flash(f"已转为整改单 {case.id}。", "info")
    return redirect(url_for(".case", case_id=case.id))


@bp.post("/<int:case_id>/reveal")
@role_required(*STAFF_ROLES)
def reveal(case_id):
    """Show the number to call back for 回访, once; every reveal is in the audit log."""
    found = _case(case_id)
    if found.state != "following_up":
        flash(ALREADY_DONE, "info")
        return redirect(url_for(".case", case_id=case_id))
    with write_transaction(db.session):
        phone = services.reveal_followup_phone(
            db.session, current_actor(), found, current_app.extensions["field_cipher"]
        )
    if phone is None:  # no roster entry, no number left on the form: nobody to call
        return _case_page(found, {"_schema": ["这个整改单没有回访电话。"]}), 409
    return _case_page(found, phone=phone)


@bp.post("/<int:case_id>/followup")
@role_required(*STAFF_ROLES)
def followup(case_id):
    """One 回访 call: reached (the new rating, solved or not) or missed."""

    def apply(case, values):
        services.follow_up(db.session, current_actor(), case, _now(), values)

    return _step(case_id, "following_up", followup_schema, apply)


@bp.post("/<int:case_id>/unreachable")
@role_required(*STAFF_ROLES)
def unreachable(case_id):
    """无法回访: the case has no number to call back."""

    def apply(case, _values):
        services.close_unreachable(db.session, current_actor(), case, _now())

    return _step(case_id, "following_up", empty_form_schema, apply)


@bp.route("/rules/<int:project_id>", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def rules(project_id):
    """A project's 整改 deadlines in working days (admins and its city)."""
    project = project_to_set_up(project_id)

    def form_page(errors=None):
        values = (
            request.form if request.method == "POST" else deadlines.rules_of(db.session, project.id)
        )
        return render_template(
            "rectification/rules.html", project=project, values=values, errors=errors or {}
        )

    apply = partial(deadlines.save_rules, db.session, current_actor(), project)
    _, reply = submitted(rules_schema, form_page, apply)
    if reply is not None:
        return reply
    flash("整改期限已保存；已经开出的整改单仍按原来的期限。", "info")
    return redirect(url_for("sites.project", project_id=project.id))


@bp.get("/photos/<int:photo_id>")
@role_required(*STAFF_ROLES)
def photo(photo_id):
    """A photo of a case's step."""
    image = get_in_scope(
        db.session, user_scope(), StepPhoto, photo_id, lambda p: p.step.case.region_id
    )
    return downloads.private_image(image.data, image.content_type)
