"""The visit checklist editor: a project's checklist as rows to edit, published as a new
version on every save (visits already recorded keep their version's wording)."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from marshmallow import ValidationError

from survey.accounts.access import current_actor, role_required
from survey.db import db, write_transaction
from survey.questionnaires.starters import STARTERS
from survey.sites import checklists
from survey.sites.schemas import MAX_CHECKLIST_ITEMS, checklist_schema
from survey.sites.scoping import project_to_set_up

bp = Blueprint("checklists", __name__, url_prefix="/admin/projects/<int:project_id>/checklist")

#: Blank rows offered for new items under the existing ones.
BLANK_ROWS = 3


def _editor(project, items, problems=(), status=200, starter=None):
    rows = [*items, *({"text": "", "required": False} for _ in range(BLANK_ROWS))]
    return render_template(
        "sites/checklist.html",
        project=project,
        starters={kind: STARTERS[kind][0] for kind in checklists.STARTER_CHECKLISTS},
        starter=starter,
        current=project.current_checklist,
        versions=list(reversed(project.checklists)),
        rows=rows[: MAX_CHECKLIST_ITEMS + BLANK_ROWS],
        problems=list(problems),
        max_items=MAX_CHECKLIST_ITEMS,
    ), status


def _problems(err: ValidationError) -> list[str]:
    """The schema's complaints as sentences, a row's with its number."""
    found = []
    for field, messages in err.messages.items():
        if field == "required":  # only a forged post sends anything but row numbers here
            found.append("必备的勾选有误，请重新勾选。")
        elif isinstance(messages, dict):  # by row
            found += [f"第 {row + 1} 行：{' '.join(m)}" for row, m in sorted(messages.items())]
        else:
            found += list(messages)
    return found


@bp.get("")
@role_required("admin", "city")
def edit(project_id):
    """The project's visit checklist, ready to edit, with its versions; ``?starter=<kind>``
    fills the rows with that project kind's list from the seeds instead (saved only when
    published)."""
    project = project_to_set_up(project_id)
    starter = request.args.get("starter")
    if starter in checklists.STARTER_CHECKLISTS:
        items = [dict(item) for item in checklists.STARTER_CHECKLISTS[starter]]
        return _editor(project, items, starter=starter)
    return _editor(project, checklists.checklist_items(project))


@bp.post("")
@role_required("admin", "city")
def save(project_id):
    """Publish the edited checklist as the project's next version."""
    project = project_to_set_up(project_id)
    posted = {"item": request.form.getlist("item"), "required": request.form.getlist("required")}
    try:
        items = checklist_schema.load(posted)
    except ValidationError as err:
        shown = [
            {"text": text, "required": str(row) in posted["required"]}
            for row, text in enumerate(posted["item"])
        ]
        return _editor(project, shown, _problems(err), 422)
    # Saves of one project take turns (a double click): the second sees the first's version.
    with write_transaction(db.session, project):
        published = checklists.publish_checklist(db.session, project, items, current_actor())
    if published is None:
        flash("检查项没有改动。", "info")
    else:
        flash(
            f"已发布第{published.number}版检查项。以前的暗访记录仍按原来的检查项保存和显示。",
            "info",
        )
    return redirect(url_for(".edit", project_id=project.id), code=303)
