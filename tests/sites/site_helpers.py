"""A small world for the site pages: one project of 丽水市 with sites in 莲都区 and 青田县, a
project of 温州市, a user of each kind; posting forms and files with their CSRF token."""

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select

from survey.db import db, write_transaction
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.services import create_questionnaire
from survey.regions.models import Region
from survey.sites.models import Project, Site
from tests.helpers import PASSWORD, SiteRef


@dataclass
class World:
    liandu: SiteRef  # 莲都区, project of 丽水市
    qingtian: SiteRef  # 青田县, same project
    project_id: int
    counties: dict[str, int]  # name → region id
    wenzhou_project_id: int
    lucheng: int  # a site of 温州市's project, in 鹿城区


def make_world(app, make_site, make_user) -> World:
    """Build the world; users ``admin``, ``lishui`` and ``wenzhou`` (city), ``liandu``
    (county)."""
    liandu = make_site("紫金街道康养联合体", county="莲都区")
    qingtian = make_site("鹤城街道康养联合体", county="青田县")
    with app.app_context():
        session = db.session
        with write_transaction(session):
            city = Region(name="温州市", level="city")
            county = Region(name="鹿城区", level="county", parent=city)
            questionnaire = create_questionnaire(session, "问卷", DEFAULT_QUESTIONS)
            project = Project(
                name="照料中心",
                year=2025,
                region=city,
                questionnaire=questionnaire,
                open_from_start=True,
            )
            site = Site(project=project, region=county, name="五马街道照料中心")
            session.add(site)
        wenzhou_project_id, lucheng = project.id, site.id
        counties = {r.name: r.id for r in session.scalars(select(Region))}
    make_user("admin", "admin", PASSWORD)
    make_user("lishui", "city", PASSWORD, region="丽水市")
    make_user("wenzhou", "city", PASSWORD, region="温州市")
    make_user("liandu", "county", PASSWORD, region="莲都区")
    return World(liandu, qingtian, liandu.project_id, counties, wenzhou_project_id, lucheng)


def site_csv(rows, encoding="utf-8", header=("县（市、区）", "点位名称", "地址", "级别")) -> bytes:
    """A site list as Excel saves a CSV."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def sites_of(app, project_id: int) -> dict[str, Site]:
    """The project's sites by name, tokens loaded, read in a fresh app context."""
    with app.app_context():
        sites = db.session.scalars(select(Site).where(Site.project_id == project_id)).all()
        for site in sites:
            site.tokens  # noqa: B018 - load them before the session goes
            site.region  # noqa: B018
        return {site.name: site for site in sites}
