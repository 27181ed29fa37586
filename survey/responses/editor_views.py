"""The questionnaire editor: a project's questions, changed with server-side buttons and
previewed in a phone-sized frame, published as a (new) version."""

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from survey.accounts.access import acting_user, project_to_set_up, role_required
from survey.db import begin_write_locked, db
from survey.responses import questionnaires
from survey.responses.form import build_form
from survey.responses.page_cache import form_pages
from survey.responses.schemas import (
    ADVISED_QUESTIONS,
    MAX_OPTIONS,
    MAX_QUESTIONS,
    QUESTION_KINDS,
    editor_form_schema,
    questionnaire_schema,
)
from survey.responses.starters import STARTERS
from survey.sites.models import Project, Region

bp = Blueprint(
    "questionnaires", __name__, url_prefix="/admin/projects/<int:project_id>/questionnaire"
)


@dataclass
class SampleSite:
    """What the form's header shows, for a preview that belongs to no site."""

    project: Project
    region: Region
    name: str = "某某点位（示例）"
    level_label: str = "乡镇级"


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
    try:
        posted = editor_form_schema.load(request.form)
    except ValidationError:
        abort(400)
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
    begin_write_locked(db.session, project)
    published = questionnaires.publish(
        db.session,
        project,
        questions["questions"],
        acting_user(),
        request.remote_addr or "",
    )
    if published is None:
        db.session.rollback()
        flash("问卷没有改动，居民看到的还是原来的问卷。", "info")
        return redirect(url_for(".edit", project_id=project.id), code=303)
    db.session.commit()
    # This process's cached form pages go at once; other processes' within FORM_CACHE_SECONDS.
    cache = form_pages()
    for token in questionnaires.live_tokens(db.session, project):
        cache.discard(token)
    flash(f"已发布第{published.number}版问卷。以前的回答仍按原来的题目保存和显示。", "info")
    return redirect(url_for(".edit", project_id=project.id), code=303)
