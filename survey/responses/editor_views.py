"""The questionnaire editor: a project's questions, changed with server-side buttons and
previewed in a phone-sized frame, published as a (new) version."""

from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError
from werkzeug.exceptions import NotFound

from survey.accounts.access import acting_user, current_actor, role_required, user_scope
from survey.db import db, write_transaction
from survey.form_posts import loaded
from survey.questionnaires.starters import STARTERS
from survey.regions.models import Region
from survey.responses import questionnaires, recordings
from survey.responses.form import build_form
from survey.responses.models import Recording
from survey.responses.schemas import (
    ADVISED_QUESTIONS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    QUESTION_KINDS,
    editor_form_schema,
    questionnaire_schema,
    recording_target_schema,
)
from survey.sites.models import Project
from survey.sites.page_cache import form_pages
from survey.sites.scoping import project_in_scope, project_to_set_up
from survey.sites.site_editing import project_counties
from survey.uploads import FORM_OVERHEAD, upload_limit

bp = Blueprint(
    "questionnaires", __name__, url_prefix="/admin/projects/<int:project_id>/questionnaire"
)


@dataclass
class SampleSite:
    """What the form's header shows, for a preview that belongs to no site."""

    project: Project
    region: Region
    name: str = "某某点位（示例）"


def _preview(project: Project, draft) -> str:
    """The resident form with the draft's questions, as a phone would show it."""
    questions = questionnaires.preview_questions(draft)
    return render_template(
        "responses/preview.html",
        site=SampleSite(project, project.region),
        questions=build_form(questions, {}, {}),
        comment="",
        comment_error=None,
        page_error=None,
        nonce="",
        action="",
    )


def _editor(project: Project, draft, *, errors=None, problems=(), status=200):
    version = project.questionnaire.current_version
    return render_template(
        "responses/editor.html",
        project=project,
        version=version,
        rows=questionnaires.editor_rows(draft, errors or {}),
        problems=list(problems),
        too_many=len(draft) > ADVISED_QUESTIONS,
        can_add=len(draft) < MAX_QUESTIONS,
        advised=ADVISED_QUESTIONS,
        max_questions=MAX_QUESTIONS,
        max_options=MAX_OPTIONS,
        kinds=QUESTION_KINDS,
        starters={kind: name for kind, (name, _questions) in STARTERS.items()},
        preview=_preview(project, draft),
    ), status


def _messages(err: ValidationError) -> tuple[dict, list[str]]:
    """The schema's complaints as (by question index, then field) and for the whole page."""
    messages = err.messages if isinstance(err.messages, dict) else {"_schema": err.messages}
    by_question = messages.get("questions", {})
    page = list(messages.get("_schema", []))
    if not isinstance(by_question, dict):  # the list itself was refused
        page, by_question = page + list(by_question), {}
    by_question = {i: found for i, found in by_question.items() if isinstance(i, int)}
    return by_question, page


def _forget_cached_forms(project: Project) -> None:
    """Drop the project's cached form pages: this process's at once, other processes' within
    FORM_CACHE_SECONDS."""
    cache = form_pages()
    for token in questionnaires.live_tokens(db.session, project):
        cache.discard(token)


@bp.get("")
@role_required("admin", "city")
def edit(project_id):
    """The project's questionnaire in the editor, with its preview."""
    project = project_to_set_up(project_id)
    return _editor(project, questionnaires.draft_of(project.questionnaire.current_version))


@bp.post("")
@role_required("admin", "city")
def change(project_id):
    """An editor button: change the draft and show it again, or publish it."""
    project = project_to_set_up(project_id)
    posted = loaded(editor_form_schema, request.form)
    draft = questionnaires.draft_from(posted["questions"])
    if posted["op"] != "save":
        try:
            draft = questionnaires.edit_draft(draft, posted["op"], posted["starter"])
        except questionnaires.EditorError as err:
            return _editor(project, draft, problems=[str(err)], status=422)
        return _editor(project, draft)
    try:
        questions = questionnaire_schema.load({"questions": questionnaires.as_dicts(draft)})
    except ValidationError as err:
        by_question, page = _messages(err)
        return _editor(project, draft, errors=by_question, problems=page, status=422)
    # Saves of one project take turns (a double click): the second sees the first's version.
    with write_transaction(db.session, project):
        published = questionnaires.publish(
            db.session, project, questions["questions"], current_actor()
        )
    if published is None:
        flash("问卷没有改动，居民看到的还是原来的问卷。", "info")
        return redirect(url_for(".edit", project_id=project.id), code=303)
    _forget_cached_forms(project)
    flash(f"已发布第{published.number}版问卷。以前的回答仍按原来的题目保存和显示。", "info")
    return redirect(url_for(".edit", project_id=project.id), code=303)


# -- recordings of the questions read aloud (the resident form's 朗读 button) -----------

#: County staff record too: in their dialect, for their county's sites.
RECORDERS = ("admin", "city", "county")


def _recording_regions(project_id: int) -> tuple[Project, list[Region]]:
    """The project and the regions whose recordings the user may make, the default first.
    Those who set the questionnaire up (admins, the city) record the city's, played where a
    county has none, and any county's; county staff only their county's, for a project that
    reaches it. Another project is a 404, as everywhere."""
    user = acting_user()
    if user.role == "county":
        return project_in_scope(db.session, user_scope(), project_id), [user.region]
    project = project_to_set_up(project_id)
    return project, [project.region, *project_counties(db.session, project, user_scope())]


def _region(regions: list[Region], region_id: int | None) -> Region:
    if region_id is None:
        return regions[0]
    for region in regions:
        if region.id == region_id:
            return region
    abort(404)


def _recordings_page(project, regions, region, *, problem=None, status=200):
    version = project.questionnaire.current_version
    config = current_app.config
    return render_template(
        "responses/recordings.html",
        project=project,
        version=version,
        regions=regions,
        region=region,
        rows=recordings.rows(version, recordings.of_region(db.session, version, region)),
        problem=problem,
        max_seconds=f"{config['RECORDING_MAX_SECONDS']:g}",
        max_mb=config["RECORDING_MAX_BYTES"] // (1024 * 1024),
    ), status


def _recording_too_large():
    """An upload over RECORDING_MAX_BYTES: the page again with the reason (None: not a
    recorder's request, the plain 413 page)."""
    user = current_user
    if not user.is_authenticated or user.role not in RECORDERS or user.must_change_password:
        return None
    try:  # a project or region not found here: the plain 413 page (an error handler runs this)
        project, regions = _recording_regions(request.view_args["project_id"])
        region = _region(regions, request.args.get("region", type=int))
    except NotFound:
        return None
    megabytes = current_app.config["RECORDING_MAX_BYTES"] // (1024 * 1024)
    problem = f"文件太大了，录音文件不能超过 {megabytes} MB。"
    return _recordings_page(project, regions, region, problem=problem, status=413)


@bp.get("/recordings")
@role_required(*RECORDERS)
def recording_list(project_id):
    """Recordings of the current version's questions for one region, to listen to, record,
    upload or delete."""
    project, regions = _recording_regions(project_id)
    return _recordings_page(
        project, regions, _region(regions, request.args.get("region", type=int))
    )


@bp.post("/recordings")
@role_required(*RECORDERS)
@upload_limit(lambda c: c["RECORDING_MAX_BYTES"] + FORM_OVERHEAD, too_large=_recording_too_large)
def recording_upload(project_id):
    """Store a recording (from the 录音 button or a file), re-encoded; refused, the page
    says why and nothing is stored."""
    project, regions = _recording_regions(project_id)
    target = loaded(recording_target_schema, request.form.to_dict())
    region = _region(regions, target["region"])
    version = project.questionnaire.current_version
    if target["key"] not in recordings.keys(version):
        problem = "问卷刚发布了新的一版，这一题已经不在里面，请看下面的新题目再录。"
        return _recordings_page(project, regions, region, problem=problem, status=422)
    upload = request.files.get("audio")
    data = b""
    if upload is not None:
        with upload.stream:  # a large upload is spooled to a temporary file: close it now
            data = upload.stream.read()
    try:
        clean = recordings.clean_recording(data, current_app.config["RECORDING_MAX_SECONDS"])
    except recordings.BadRecording as err:
        return _recordings_page(project, regions, region, problem=str(err), status=422)
    # Uploads for one project take turns: two at once for one question would both insert.
    with write_transaction(db.session, project):
        recordings.save_recording(
            db.session, version, region, target["key"], clean, current_actor()
        )
    _forget_cached_forms(project)
    flash(f"{recordings.label(version, target['key'])}的录音已保存。", "info")
    return redirect(url_for(".recording_list", project_id=project.id, region=region.id), code=303)


@bp.post("/recordings/<int:recording_id>/delete")
@role_required(*RECORDERS)
def recording_delete(project_id, recording_id):
    """Delete a recording: residents hear the city's recording again, or the synthesised voice."""
    project, regions = _recording_regions(project_id)
    found = db.session.get(Recording, recording_id)
    if found is None or found.version.questionnaire_id != project.questionnaire_id:
        abort(404)
    region = _region(regions, found.region_id)
    with write_transaction(db.session, project):
        recordings.delete_recording(db.session, found, region, current_actor())
    _forget_cached_forms(project)
    flash("录音已删除。", "info")
    return redirect(url_for(".recording_list", project_id=project.id, region=region.id), code=303)
