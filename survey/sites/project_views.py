"""Staff pages for projects and sites: create and edit projects, links, QR codes, posters,
token rotation. Admins see every project; city users their own cities' projects only (any
other is 404); county users none (403)."""

import io
from datetime import date
from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from qr import poster
from qr.fonts import MissingGlyphError
from survey import downloads
from survey.accounts.access import (
    SETUP_ROLES,
    acting_user,
    current_actor,
    role_required,
    user_scope,
)
from survey.db import db, write_transaction
from survey.form_posts import loaded, submitted
from survey.jobs.queue import queue_of
from survey.regions.scope import get_in_scope
from survey.sites import listing, site_editing
from survey.sites import projects as project_services
from survey.sites.models import PROJECT_STATUSES, Project, Site
from survey.sites.page_cache import form_pages
from survey.sites.posters import NO_SITES, POSTERS_JOB, poster_content, posters_title, print_batch
from survey.sites.projects import STARTER_CHOICES
from survey.sites.schemas import (
    TARGET_PREFIX,
    list_query_schema,
    new_project_schema,
    poster_query_schema,
    project_change_schema,
    target_errors,
)
from survey.sites.scoping import project_to_set_up
from survey.sites.tokens import is_loopback_url, qr_symbol, site_answers, survey_url

bp = Blueprint("sites", __name__, url_prefix="/admin")


def _poster_query() -> dict:
    return loaded(poster_query_schema, request.args.to_dict())


def _size() -> str:
    return _poster_query()["size"]


@bp.app_context_processor
def public_url_warning() -> dict:
    """On the admin pages: the survey links' base when no resident can reach it (see
    ``is_loopback_url``), for the banner saying how to set ``PUBLIC_BASE_URL``."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if request.path.startswith(bp.url_prefix + "/") and is_loopback_url(base):
        return {"public_url_warning": base}
    return {}


def _loopback_check(project_id: int):
    """Before a QR code or poster carrying a loopback link is printed: the page that says
    so, with the way on (the same download, confirmed) and back; None once confirmed or
    when the link is public."""
    base, query = current_app.config["PUBLIC_BASE_URL"], _poster_query()
    if not is_loopback_url(base) or query["confirmed"]:
        return None
    size = {"size": query["size"]} if "size" in request.args else {}
    go_on = url_for(request.endpoint, **request.view_args, **size, confirmed=1)
    return render_template(
        "sites/loopback_download.html",
        base=base,
        go_on=go_on,
        back=url_for(".project", project_id=project_id),
    )


def _live_site(site_id: int) -> Site:
    """The site, if it has a live link and its project's city is in the user's scope."""
    site = get_in_scope(db.session, user_scope(), Site, site_id, lambda s: s.project.region_id)
    if not site.token:
        abort(404)
    return site


def _content(site: Site) -> poster.PosterContent:
    config = current_app.config
    return poster_content(site, config["PUBLIC_BASE_URL"], config["HOTLINE"])


@bp.get("/")
@role_required(*SETUP_ROLES)
def projects():
    """The projects the user may set up, with links to their sites."""
    found = project_services.owned_projects(db.session, user_scope())
    return render_template("sites/projects.html", projects=found)


@bp.get("/projects/<int:project_id>")
@role_required(*SETUP_ROLES)
def project(project_id):
    """A project's settings, and a page of its sites with their links and downloads,
    filtered by county and searched by name or site code."""
    project = project_to_set_up(project_id)
    query, problems = list_query_schema.load_leniently(request.args.to_dict())
    page = listing.site_page(db.session, project_id, query["sites"], query["page"])
    base = current_app.config["PUBLIC_BASE_URL"]
    rows = [(site, survey_url(base, site.token) if site.token else "") for site in page.items]
    return render_template(
        "sites/project.html",
        project=project,
        rows=rows,
        page=page,
        sites=query["sites"],
        problems=problems,
        counties=listing.counties(db.session, project_id, user_scope()),
        list_endpoint="sites.project",
        list_ids={"project_id": project_id},
        default_hotline=current_app.config["HOTLINE"],
    ), (400 if problems else 200)


# -- creating and editing projects ------------------------------------------------------


def _form_values(project: Project | None, cities) -> dict:
    """What the form shows: the posted fields, or the project's settings, or defaults."""
    if request.method == "POST":
        return request.form.to_dict()
    if project is None:
        only_city = str(cities[0].city.id) if len(cities) == 1 else ""
        return {"year": str(date.today().year), "region_id": only_city, "starter": "general"}
    values = {
        "name": project.name,
        "year": str(project.year),
        "region_id": str(project.region_id),
        "description": project.description,
        "hotline": project.hotline,
        "status": project.status,
    }
    for target in project.targets:
        values[f"{TARGET_PREFIX}{target.region_id}"] = str(target.site_count)
    return values


def _form_page(project: Project | None, errors: dict | None = None):
    cities = project_services.owning_cities(db.session, user_scope())
    errors = errors or {}
    return render_template(
        "sites/project_form.html",
        project=project,
        values=_form_values(project, cities),
        errors=errors,
        target_errors=target_errors(errors),
        cities=cities,
        starters=STARTER_CHOICES,
        statuses=PROJECT_STATUSES,
        target_prefix=TARGET_PREFIX,
        default_hotline=current_app.config["HOTLINE"],
    )


@bp.route("/projects/new", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def new_project():
    """Create a project: its city, targets and a questionnaire from a starter template."""
    created, reply = submitted(
        new_project_schema,
        partial(_form_page, None),
        partial(project_services.add_project, db.session, current_actor(), user_scope()),
    )
    if reply:
        return reply
    flash(f"已创建项目“{created.name}”。接下来请添加点位。", "info")
    return redirect(url_for(".project", project_id=created.id))


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def edit_project(project_id):
    """Change a project's settings, targets or status (进行中 / 已结束)."""
    project = project_to_set_up(project_id)
    changes, reply = submitted(
        project_change_schema,
        partial(_form_page, project),
        partial(
            project_services.change_project, db.session, current_actor(), user_scope(), project
        ),
        lock=project,
    )
    if reply:
        return reply
    # Cached form pages show the project's name and state: this process drops them now,
    # others within FORM_CACHE_SECONDS; a submission always reads the state afresh.
    cache = form_pages()
    for token in project_services.live_tokens(db.session, project):
        cache.discard(token)
    if not changes:
        flash("没有改动。", "info")
    elif project.is_finished:
        flash(f"已保存。项目“{project.name}”已结束：评价链接显示“本次评价已结束”。", "info")
    else:
        flash(f"已保存项目“{project.name}”。", "info")
    return redirect(url_for(".project", project_id=project.id))


# -- QR codes and posters ---------------------------------------------------------------


@bp.get("/sites/<int:site_id>/qr.<any(png, svg):fmt>")
@role_required(*SETUP_ROLES)
def qr_code(site_id, fmt):
    """The site's bare QR symbol."""
    site = _live_site(site_id)
    if warning := _loopback_check(site.project_id):
        return warning
    data, content_type = qr_symbol(current_app.config["PUBLIC_BASE_URL"], site.token, fmt)
    return data, 200, {"Content-Type": content_type}


@bp.get("/sites/<int:site_id>/poster.<any(png, pdf):fmt>")
@role_required(*SETUP_ROLES)
def site_poster(site_id, fmt):
    """One site's poster, A5 or A4."""
    site, size = _live_site(site_id), _size()
    if warning := _loopback_check(site.project_id):
        return warning
    try:
        content = _content(site)
        data = poster.png_bytes(content, size) if fmt == "png" else poster.pdf_bytes(content, size)
    except MissingGlyphError as err:
        flash(f"“{site.name}”的海报字体缺少这些字：{err.characters}，请修改名称。", "error")
        return redirect(url_for(".project", project_id=site.project_id))
    name = f"{site.token}-{site.name}-{size}.{fmt}"
    mimetype = "image/png" if fmt == "png" else "application/pdf"
    return downloads.download(io.BytesIO(data), name, mimetype)


@bp.route("/projects/<int:project_id>/posters.<any(pdf, zip):fmt>", methods=["GET", "POST"])
@role_required(*SETUP_ROLES)
def project_posters(project_id, fmt):
    """A project's posters for the print shop, one PDF (a site per page) or a ZIP of PNGs,
    drawn in the background: the GET asks (with the loopback warning when it applies), the
    POST starts the job and goes to its progress page."""
    project, size = project_to_set_up(project_id), _size()
    config = current_app.config
    try:
        contents = print_batch(db.session, project_id, config["PUBLIC_BASE_URL"], config["HOTLINE"])
    except MissingGlyphError as err:
        flash(f"海报字体缺少这些字：{err.characters}，请先修改相关名称。", "error")
        return redirect(url_for(".project", project_id=project_id))
    if not contents:  # an empty PDF or ZIP would look like a broken download
        flash(NO_SITES, "error")
        return redirect(url_for(".project", project_id=project_id))
    title = posters_title(project, fmt, size)
    if request.method == "GET":
        return render_template(
            "sites/posters_job.html",
            project=project,
            title=title,
            count=len(contents),
            loopback=is_loopback_url(config["PUBLIC_BASE_URL"]),
        )
    params = {"project_id": project_id, "fmt": fmt, "size": size}
    params |= {"base_url": config["PUBLIC_BASE_URL"], "hotline": config["HOTLINE"]}
    job = queue_of(current_app).start(db.session, acting_user(), POSTERS_JOB, params, title)
    return redirect(url_for("jobs.job", job_id=job.id))


@bp.get("/sites/<int:site_id>/rotate")
@role_required(*SETUP_ROLES)
def confirm_rotate(site_id):
    """Ask before retiring a site's QR code: the posters already up stop working."""
    site = _live_site(site_id)
    return render_template(
        "sites/rotate.html",
        site=site,
        link=survey_url(current_app.config["PUBLIC_BASE_URL"], site.token),
        answers=site_answers(db.session, site.id),
    )


@bp.post("/sites/<int:site_id>/rotate")
@role_required(*SETUP_ROLES)
def rotate(site_id):
    """Retire the site's QR code and issue a new one (its poster was stolen or moved);
    posted from the confirmation page."""
    site = _live_site(site_id)
    with write_transaction(db.session, site):
        retired, new = site_editing.rotate_site_token(db.session, current_actor(), site)
    for token in retired:
        form_pages().discard(token)
    flash(
        f"“{site.name}”已换新二维码（点位码 {new.token}），旧二维码已停用，请打印新海报。", "info"
    )
    return redirect(url_for(".project", project_id=site.project_id))
