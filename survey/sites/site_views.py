"""Staff pages for a project's sites: add, edit, retire and re-enable one by one; import a
site list (check, then import or cancel); export the list with links.

Admins work on every project, city users on their own cities' projects only (any other is
404), county users on none (403).
"""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from survey import downloads
from survey.accounts.access import (
    SETUP_ROLES,
    acting_user,
    current_actor,
    role_required,
    user_scope,
)
from survey.accounts.services import record_export
from survey.db import db, write_transaction
from survey.form_posts import submitted
from survey.regions.scope import get_in_scope
from survey.sites import site_editing, site_import, staging, staging_views
from survey.sites.models import SITE_LEVELS, Project, Site, SiteImport
from survey.sites.page_cache import form_pages
from survey.sites.schemas import site_schema
from survey.sites.scoping import project_to_set_up, site_to_set_up
from survey.spreadsheets import SpreadsheetError
from survey.uploads import FORM_OVERHEAD, upload_limit

bp = Blueprint("site_admin", __name__, url_prefix="/admin")

#: Shown when the database refused a name another request took at the same moment.
NAME_TAKEN = {"name": ["刚刚有人在同一县添加了同名点位，请换一个名称。"]}


def _to_project(project_id: int):
    return redirect(url_for("sites.project", project_id=project_id))


# -- one site at a time ------------------------------------------------------------------


def _form_values(site: Site | None) -> dict:
    """What the form shows: the posted fields, or the site's, or a new site's defaults."""
    if request.method == "POST":
        return request.form.to_dict()
    if site is None:
        return {"level": "township"}
    return {
        "region_id": str(site.region_id),
        "name": site.name,
        "address": site.address,
        "level": site.level,
        "contact": site.contact,
    }


def _form_page(project: Project, site: Site | None, errors: dict | None = None):
    return render_template(
        "sites/site_form.html",
        project=project,
        site=site,
        values=_form_values(site),
        errors=errors or {},
        counties=site_editing.project_counties(db.session, project, user_scope()),
        levels=SITE_LEVELS,
    )


@bp.route("/projects/<int:project_id>/sites/new", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def new_site(project_id):
    """Add a site; it gets its link and QR code at once."""
    project = project_to_set_up(project_id)
    site, reply = submitted(
        site_schema,
        partial(_form_page, project, None),
        partial(site_editing.add_site, db.session, current_actor(), user_scope(), project),
        conflict=NAME_TAKEN,
    )
    if reply:
        return reply
    flash(f"已添加“{site.name}”，点位码 {site.token}，现在就可以下载二维码和海报。", "info")
    return _to_project(project.id)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def edit_site(site_id):
    """Change a site's county, name, address, level or contact; its link stays."""
    site = site_to_set_up(site_id)
    reprint, reply = submitted(
        site_schema,
        partial(_form_page, site.project, site),
        partial(site_editing.change_site, db.session, current_actor(), user_scope(), site),
        lock=site,  # a double click saves (and logs) once
        conflict=NAME_TAKEN,
    )
    if reply:
        return reply
    if site.token:  # the cached form page shows the old name
        form_pages().discard(site.token)
    reprint_note = "海报上的名称已变，请重新打印海报（二维码不变）。" if reprint else ""
    flash(f"已保存“{site.name}”。{reprint_note}", "info")
    return _to_project(site.project_id)


def _switched(site_id: int, switch, done):
    """Run ``switch(session, actor, site)`` on the site (retire or enable it), then back to
    the project with ``done(site, switch's result)`` as the message, or with the refusal."""
    site = site_to_set_up(site_id)
    try:  # locked: clicked twice, the second click is refused
        with write_transaction(db.session, site):
            result = switch(db.session, current_actor(), site)
    except site_editing.SiteError as err:
        flash(str(err), "error")
    else:
        flash(done(site, result), "info")
    return _to_project(site.project_id)


def _retired(site: Site, tokens: list) -> str:
    for token in tokens:
        form_pages().discard(token)
    return f"已停用“{site.name}”，它的二维码已失效。以往的评价数据保留。"


@bp.post("/sites/<int:site_id>/retire")
@role_required(*SETUP_ROLES)
def retire_site(site_id):
    """Retire a site: its link stops working at once; its answers and records stay."""
    return _switched(site_id, site_editing.retire_site, _retired)


@bp.post("/sites/<int:site_id>/enable")
@role_required(*SETUP_ROLES)
def enable_site(site_id):
    """Re-enable a retired site with a new link; its old posters stay invalid."""
    return _switched(
        site_id,
        site_editing.enable_site,
        lambda site, token: (
            f"已重新启用“{site.name}”，新点位码 {token.token}。旧海报已失效，请打印新海报。"
        ),
    )


# -- importing a site list ----------------------------------------------------------------


def _import_page(project: Project, status: int = 200, upload_error: str = ""):
    return render_template(
        "sites/site_import.html",
        project=project,
        imports=staging.recent_imports(db.session, SiteImport, SiteImport.project_id == project.id),
        upload_error=upload_error,
        max_size=f"{current_app.config['SITE_IMPORT_MAX_BYTES'] / (1024 * 1024):g} MB",
        max_rows=site_import.MAX_ROWS,
        user_id=acting_user().id,
    ), status


@bp.get("/projects/<int:project_id>/sites/import")
@role_required(*SETUP_ROLES)
def import_form(project_id):
    """The upload form for a site list, with the project's latest uploads."""
    return _import_page(project_to_set_up(project_id))


@bp.post("/projects/<int:project_id>/sites/import")
@role_required(*SETUP_ROLES)
@upload_limit(lambda config: config["SITE_IMPORT_MAX_BYTES"] + FORM_OVERHEAD)
def import_upload(project_id):
    """Check an uploaded site list and keep its valid rows for the user to confirm; adds
    no site."""
    scope = user_scope()
    project = get_in_scope(db.session, scope, Project, project_id, lambda p: p.region_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _import_page(project, 422, "请选择要上传的点位清单文件。")
    try:
        check = site_import.check_file(db.session, project, scope, upload.stream, upload.filename)
    except SpreadsheetError as err:
        return _import_page(project, 422, str(err))
    with write_transaction(db.session):
        staged = site_import.stage_import(
            db.session, project, acting_user(), upload.filename, check
        )
    return redirect(url_for(".import_report", import_id=staged.id))


def _import_sites(staged: SiteImport, _prepared) -> str:
    """Add the checked rows as sites, each with its link; returns what to flash."""
    checked = len(staged.rows)
    added = site_import.import_sites(db.session, current_actor(), staged, user_scope())
    message = f"已导入 {added} 个点位，每个都已生成二维码，可以打印海报了。"
    if checked > added:
        message += f"另有 {checked - added} 行在检查之后已有同名点位，未重复导入（见导入记录）。"
    return message


def _name_taken_meanwhile(staged: SiteImport):
    flash(
        "导入时有人同时添加了同名点位，这次没有导入任何点位。"
        "请再点一次“导入”：已有的同名点位会跳过。",
        "error",
    )
    return redirect(url_for(".import_report", import_id=staged.id))


staging_views.add_pages(
    bp,
    "/site-imports",
    SiteImport,
    roles=SETUP_ROLES,
    template="sites/site_import_report.html",
    region_of=lambda staged: staged.project.region_id,
    back=lambda staged: url_for("sites.project", project_id=staged.project_id),
    noun="清单",
    cancelled="已取消，点位没有任何改动。",
    run=_import_sites,
    on_conflict=_name_taken_meanwhile,
)


# -- export ---------------------------------------------------------------------------------


@bp.get("/projects/<int:project_id>/sites.<any(csv, xlsx):fmt>")
@role_required(*SETUP_ROLES)
def export_sites(project_id, fmt):
    """The project's sites with their status, token and survey link, for Excel."""
    project = project_to_set_up(project_id)
    rows = site_import.export_rows(db.session, project, current_app.config["PUBLIC_BASE_URL"])
    reply = downloads.send(rows, f"{project.name}-点位清单", fmt)
    with write_transaction(db.session):  # recorded only once the file is made
        record_export(db.session, current_actor(), f"{project.name}：点位清单（{fmt}）")
    return reply
