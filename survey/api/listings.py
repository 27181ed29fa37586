"""What other systems read of a project, as queries for ``pages.rows_page``: its answers,
phone spot-checks, visits and sites in the reader's scope; and its alerts. Nothing here
reads a resident's name, number, device or address."""

from collections.abc import Callable
from datetime import date

from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from survey.checks.models import CallTask, Visit
from survey.rectification.models import Case
from survey.regions.scope import Scope
from survey.responses.models import Answer, Response
from survey.sites.models import Project, Site
from survey.sites.tokens import printed_url
from survey.stats import summaries

_PLACE = joinedload(Site.region)


def _sites_of(project: Project, scope: Scope):
    """A condition on Site: the project's sites in scope."""
    return and_(Site.project_id == project.id, scope.where(Site.region_id))


def _of_project(model, project: Project, scope: Scope, *options) -> Select:
    """``model``'s rows (of a site: ``model.site``) at the project's sites in scope, their
    site and county loaded with ``options``."""
    return (
        select(model)
        .join(model.site)
        .where(_sites_of(project, scope))
        .options(joinedload(model.site).options(_PLACE), *options)
    )


def answers(project: Project, scope: Scope) -> Select:
    """The project's answers in scope, every channel, flagged ones too (they say so)."""
    return _of_project(
        Response, project, scope, selectinload(Response.answers).joinedload(Answer.question)
    )


def cases(project: Project, scope: Scope) -> Select:
    """The project's 整改单 of the counties in scope."""
    return (
        select(Case)
        .where(Case.project_id == project.id, scope.where(Case.region_id))
        .options(joinedload(Case.site), joinedload(Case.region), selectinload(Case.answers))
    )


def calls(project: Project, scope: Scope) -> Select:
    """The project's call tasks in scope with their attempts."""
    return _of_project(CallTask, project, scope, selectinload(CallTask.attempts))


def visits(project: Project, scope: Scope) -> Select:
    """The project's unannounced and home visits in scope."""
    return _of_project(Visit, project, scope, selectinload(Visit.photos))


def sites(project: Project, scope: Scope) -> Select:
    """The project's sites in scope with their tokens."""
    return select(Site).where(_sites_of(project, scope)).options(_PLACE, selectinload(Site.tokens))


def with_links(page: dict, base_url: str, qr_url: Callable[[str, str], str]) -> dict:
    """A page of sites as SiteLinkSchema dumps them: each with the link its QR code holds
    (on ``base_url``, PUBLIC_BASE_URL) and ``qr_url(token, "png" | "svg")``; none for a
    retired site."""

    def linked(site: Site) -> dict:
        token = site.token
        links = {"code": None, "printed_url": None, "qr_png_url": None, "qr_svg_url": None}
        if token is not None:
            links = {
                "code": token,
                "printed_url": printed_url(base_url, token),
                "qr_png_url": qr_url(token, "png"),
                "qr_svg_url": qr_url(token, "svg"),
            }
        return {"site": site, **links}

    return page | {"items": [linked(site) for site in page["items"]]}


def alerts(session: Session, scope: Scope, project: Project, month: date) -> list:
    """The project's alerts in scope as the dashboard shows them without filters
    (``summaries.alerts``), drops looked for in ``month``."""
    return summaries.alerts(session, scope, project, summaries.Filters(), month)
