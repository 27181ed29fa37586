"""Admin pages for projects and sites: links, QR codes, posters, token rotation."""

import io
import tempfile

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from marshmallow import ValidationError

from qr import poster, symbol
from qr.fonts import MissingGlyphError
from survey.accounts.access import role_required
from survey.accounts.services import record
from survey.db import begin_write, db
from survey.responses.page_cache import form_pages
from survey.sites.models import Project, Site
from survey.sites.posters import poster_content, print_batch, write_png_zip
from survey.sites.schemas import poster_query_schema
from survey.sites.services import (
    list_projects,
    list_sites,
    printed_url,
    rotate_token,
    survey_url,
)

bp = Blueprint("sites", __name__, url_prefix="/admin")


def _size() -> str:
    try:
        return poster_query_schema.load(request.args.to_dict())["size"]
    except ValidationError:
        abort(400)


def _live_site(site_id: int) -> Site:
    site = db.get_or_404(Site, site_id)
    if not site.token:
        abort(404)
    return site


def _file_name(name: str) -> str:
    """A download name without line breaks or slashes (it travels in a header)."""
    return " ".join(name.split()).replace("/", "_").replace("\\", "_")


def _content(site: Site) -> poster.PosterContent:
    config = current_app.config
    return poster_content(site, config["PUBLIC_BASE_URL"], config["HOTLINE"])


def _spooled(write, download_name: str, mimetype: str):
    """Send what ``write(file)`` writes, spooled through a temporary file, never all in memory
    at once for large batches."""
    spool = tempfile.TemporaryFile()
    write(spool)
    spool.seek(0)
    return send_file(spool, mimetype=mimetype, as_attachment=True, download_name=download_name)


@bp.get("/")
@role_required("admin")
def projects():
    """Every project, with links to its sites."""
    return render_template("sites/projects.html", projects=list_projects(db.session))


@bp.get("/projects/<int:project_id>")
@role_required("admin")
def project(project_id):
    """A project's sites with their links and downloads."""
    project = db.get_or_404(Project, project_id)
    base = current_app.config["PUBLIC_BASE_URL"]
    rows = [
        (site, survey_url(base, site.token) if site.token else "")
        for site in list_sites(db.session, project_id)
    ]
    return render_template("sites/project.html", project=project, rows=rows)


@bp.get("/sites/<int:site_id>/qr.<any(png, svg):fmt>")
@role_required("admin")
def qr_code(site_id, fmt):
    """The site's bare QR symbol."""
    site = _live_site(site_id)
    url = printed_url(current_app.config["PUBLIC_BASE_URL"], site.token)
    if fmt == "svg":
        return symbol.svg(url), 200, {"Content-Type": "image/svg+xml; charset=utf-8"}
    return symbol.png(url), 200, {"Content-Type": "image/png"}


@bp.get("/sites/<int:site_id>/poster.<any(png, pdf):fmt>")
@role_required("admin")
def site_poster(site_id, fmt):
    """One site's poster, A5 or A4."""
    site, size = _live_site(site_id), _size()
    try:
        content = _content(site)
        data = poster.png_bytes(content, size) if fmt == "png" else poster.pdf_bytes(content, size)
    except MissingGlyphError as err:
        flash(f"“{site.name}”的海报字体缺少这些字：{err.characters}，请修改名称。", "error")
        return redirect(url_for(".project", project_id=site.project_id))
    name = _file_name(f"{site.token}-{site.name}-{size}.{fmt}")
    mimetype = "image/png" if fmt == "png" else "application/pdf"
    return send_file(io.BytesIO(data), mimetype=mimetype, download_name=name, as_attachment=True)


@bp.get("/projects/<int:project_id>/posters.<any(pdf, zip):fmt>")
@role_required("admin")
def project_posters(project_id, fmt):
    """A project's posters for the print shop: one PDF (a site per page) or a ZIP of PNGs."""
    project, size = db.get_or_404(Project, project_id), _size()
    config = current_app.config
    try:
        contents = print_batch(db.session, project_id, config["PUBLIC_BASE_URL"], config["HOTLINE"])
    except MissingGlyphError as err:
        flash(f"海报字体缺少这些字：{err.characters}，请先修改相关名称。", "error")
        return redirect(url_for(".project", project_id=project_id))
    name = _file_name(f"{project.name}-海报-{size}.{fmt}")
    if fmt == "pdf":
        return _spooled(lambda f: poster.write_pdf(contents, f, size), name, "application/pdf")
    return _spooled(lambda f: write_png_zip(contents, f, size), name, "application/zip")


@bp.post("/sites/<int:site_id>/rotate")
@role_required("admin")
def rotate(site_id):
    """Retire the site's QR code and issue a new one (its poster was stolen or moved)."""
    site = _live_site(site_id)
    begin_write(db.session)
    retired = [t.token for t in site.tokens if t.is_live]
    new = rotate_token(db.session, site)
    record(
        db.session,
        "token_rotated",
        user=current_user._get_current_object(),
        detail=f"{site.name}（点位 {site.id}）：{'、'.join(retired)} → {new.token}",
        ip=request.remote_addr or "",
    )
    db.session.commit()
    for token in retired:
        form_pages().discard(token)
    flash(
        f"“{site.name}”已换新二维码（点位码 {new.token}），旧二维码已停用，请打印新海报。", "info"
    )
    return redirect(url_for(".project", project_id=site.project_id))
