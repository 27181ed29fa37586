"""``flask sites``: the survey link of every site, for spreadsheets and print shops."""

import click
from flask import current_app
from flask.cli import with_appcontext

from survey.db import db
from survey.sites.models import Project
from survey.sites.services import list_sites, survey_url


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
