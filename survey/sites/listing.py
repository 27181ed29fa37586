"""Long staff lists (a project's sites, the roster, a batch's call tasks, the visits): one
page at a time, filtered by county and by a site's name or code. Every list filters and
pages here, so a site is found the same way on each of them. Never by a phone number:
these filters travel in URLs, and URLs end up in access logs."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from survey.regions.models import Region
from survey.regions.scope import Scope
from survey.sites.models import Site, SiteToken
from survey.sites.tokens import normalize_token

#: Rows per page of a list whose rows are one line of text (roster, call tasks, visits).
PER_PAGE = 100
#: Sites per page of a project's site list: each row carries its link, six downloads and two
#: forms, and a 2,000-site project made a 2.4 MB page.
SITES_PER_PAGE = 50


@dataclass(frozen=True)
class SiteFilter:
    """Which sites a list shows: one county (its id) or all, and part of a site's name (in
    any case) or one of its codes (the code under the QR, current or retired, in any case),
    or any."""

    county_id: int | None = None
    text: str = ""

    def where(self) -> ColumnElement[bool]:
        """A WHERE condition on ``Site`` (the query selects or joins it)."""
        conditions = []
        if self.county_id is not None:
            conditions.append(Site.region_id == self.county_id)
        if self.text:
            by_name = Site.name.icontains(self.text, autoescape=True)
            code = normalize_token(self.text)
            by_code = exists().where(SiteToken.site_id == Site.id, SiteToken.token == code)
            conditions.append(by_name | by_code if code else by_name)
        return and_(true(), *conditions)

    @property
    def active(self) -> bool:
        """Whether the list is narrowed at all."""
        return self.county_id is not None or bool(self.text)

    @property
    def args(self) -> dict:
        """The filter as URL query parameters, those given only (the pager links keep it)."""
        given = {"county": self.county_id, "q": self.text}
        return {key: value for key, value in given.items() if value}


#: Every site: no filter.
ALL_SITES = SiteFilter()


@dataclass(frozen=True)
class Page:
    """One page of a list: its rows, which page of how many, and the rows on every page."""

    items: list
    number: int
    total: int
    per_page: int

    @property
    def pages(self) -> int:
        return _page_count(self.total, self.per_page)


def _page_count(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def page_of(session: Session, query: Select, number: int, per_page: int = PER_PAGE) -> Page:
    """Page ``number`` of ``query`` (ordered, its loader options set), ``per_page`` rows to
    a page. A page past the last answers the last one (a list shrinks under a bookmarked
    link)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = min(number, _page_count(total, per_page))
    rows = session.scalars(query.limit(per_page).offset((number - 1) * per_page))
    return Page(list(rows), number, total, per_page)


def counties(session: Session, project_id: int, scope: Scope) -> list[Region]:
    """The counties within ``scope`` where the project has sites, by name: a list's county
    choices."""
    return list(
        session.scalars(
            select(Region)
            .where(
                exists().where(
                    Site.region_id == Region.id,
                    Site.project_id == project_id,
                    scope.where(Site.region_id),
                )
            )
            .order_by(Region.name, Region.id)
        )
    )


def site_page(session: Session, project_id: int, sites: SiteFilter, number: int) -> Page:
    """A page of the project's sites within ``sites``, by county and id, county and tokens
    loaded: the admin project page's site list."""
    query = (
        select(Site)
        .where(Site.project_id == project_id, sites.where())
        .options(joinedload(Site.region), selectinload(Site.tokens))
        .order_by(Site.region_id, Site.id)
    )
    return page_of(session, query, number, SITES_PER_PAGE)
