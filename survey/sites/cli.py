"""``flask sites`` and ``flask posters``: survey links and posters for the print shop."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from qr.fonts import MissingGlyphError
from qr.poster import PAGE_SIZES, write_pdf
from survey.db import db
from survey.sites.models import Project
from survey.sites.posters import print_batch, rendered_pngs
from survey.sites.tokens import is_loopback_url, list_sites, survey_url


def _cell(text: str) -> str:
    """A value that cannot break the TSV's rows or columns."""
    return " ".join(text.split())


@click.command("sites")
@with_appcontext
@click.option("--project", "project_id", type=int, help="Only this project's sites.")
def sites_command(project_id):
    """Print a TSV of project, county, site and survey URL."""
    if project_id is not None and db.session.get(Project, project_id) is None:
        raise click.ClickException(f"没有编号为 {project_id} 的项目。")
    base = current_app.config["PUBLIC_BASE_URL"]
    click.echo("project\tcounty\tsite\turl")
    for site in list_sites(db.session, project_id):
        url = survey_url(base, site.token) if site.token else ""
        click.echo("\t".join([_cell(site.project.name), site.region.name, _cell(site.name), url]))


@click.command("posters")
@click.option("--project", "project_id", type=int, required=True, help="The project's number.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Folder to write into (created if missing).",
)
@click.option(
    "--format", "fmt", type=click.Choice(["pdf", "png"]), default="pdf", show_default=True
)
@click.option("--size", type=click.Choice(list(PAGE_SIZES)), default="A5", show_default=True)
@with_appcontext
def posters_command(project_id, out_dir, fmt, size):
    """Write a project's posters: one multi-page PDF, or one PNG per site."""
    project = db.session.get(Project, project_id)
    if project is None:
        raise click.ClickException(f"没有编号为 {project_id} 的项目。")
    config = current_app.config
    if is_loopback_url(config["PUBLIC_BASE_URL"]):
        click.echo(
            f"注意：PUBLIC_BASE_URL 是本机地址 {config['PUBLIC_BASE_URL']}，"
            "群众的手机扫码打不开，这些海报不要张贴。",
            err=True,
        )
    try:
        contents = print_batch(db.session, project_id, config["PUBLIC_BASE_URL"], config["HOTLINE"])
        db.session.close()  # the rendering below needs no database
        out_dir.mkdir(parents=True, exist_ok=True)
        if fmt == "pdf":
            path = out_dir / f"project-{project_id}-posters-{size}.pdf"
            write_pdf(contents, path, size)
            click.echo(f"已写入 {len(contents)} 页：{path}")
        else:
            for name, data in rendered_pngs(contents, size):
                (out_dir / name).write_bytes(data)
            click.echo(f"已写入 {len(contents)} 张海报到 {out_dir}")
    except MissingGlyphError as err:
        raise click.ClickException(
            f"海报字体缺少这些字：{err.characters}，请修改相关名称。"
        ) from err
