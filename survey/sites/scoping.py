"""Region scoping applied to projects and sites: which of them a staff member may see.

A project is its city's; a county user still sees the city's projects that have a site in
their county. Anything outside the scope is NotFound (404), as in ``survey.regions.scope``.
"""

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from survey.accounts.access import user_scope
from survey.db import db
from survey.regions.scope import Scope, get_in_scope
from survey.sites.models import Project, Site


def _project_visible(scope: Scope):
    """A project is visible when it is its city's and the city is in scope, or when one of
    its sites lies in scope (a county user sees the city's projects that reach them)."""
    has_site = exists().where(Site.project_id == Project.id, scope.where(Site.region_id))
    return or_(scope.where(Project.region_id), has_site)


def projects_in_scope(session: Session, scope: Scope) -> list[Project]:
    """The projects a user may work on, newest year first."""
    query = select(Project).where(_project_visible(scope)).order_by(Project.year.desc(), Project.id)
    return list(session.scalars(query))


def project_in_scope(session: Session, scope: Scope, project_id: int) -> Project:
    """The project, or NotFound (404) when it does not exist or is not visible."""
    query = select(Project).where(Project.id == project_id, _project_visible(scope))
    project = session.scalars(query).first()
    if project is None:
        raise NotFound()
    return project


def project_to_set_up(project_id: int) -> Project:
    """The project, or 404 when it does not exist or its city is outside the user's scope."""
    return get_in_scope(db.session, user_scope(), Project, project_id, lambda p: p.region_id)


def site_to_set_up(site_id: int) -> Site:
    """The site, or 404 when it does not exist or its project is outside the user's scope."""
    return get_in_scope(db.session, user_scope(), Site, site_id, lambda s: s.project.region_id)
