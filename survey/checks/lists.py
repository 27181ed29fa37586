"""Long staff lists (the roster, a batch's call tasks): filtered by county and by a site's
name or code, one page at a time. Never by a phone number: these filters travel in URLs,
and URLs end up in access logs."""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, select, true
from sqlalchemy.orm import Session

from survey.accounts.scope import Scope
from survey.sites.models import Region, Site, SiteToken

#: Rows per page.
PER_PAGE = 100


@dataclass(frozen=True)
class SiteFilter:
    """Which sites a list shows: one county (its id) or all, and part of a site's name or
    one of its codes (the code under the QR, current or retired), or any."""

    county_id: int | None = None
    text: str = ""

    def where(self) -> ColumnElement[bool]:
        """A WHERE condition on ``Site`` (the query joins it)."""
        conditions = []
        if self.county_id is not None:
            conditions.append(Site.region_id == self.county_id)
        if self.text:
            token = SiteToken.token == self.text.upper()
            code = exists().where(SiteToken.site_id == Site.id, token)
            conditions.append(Site.name.contains(self.text, autoescape=True) | code)
        return and_(true(), *conditions)

    @property
    def active(self) -> bool:
        return self.county_id is not None or bool(self.text)


#: Every site: no filter.
ALL_SITES = SiteFilter()


@dataclass(frozen=True)
class Page:
    """Where a list stands: this page of how many, and the total rows."""

    number: int
    total: int
    per_page: int = PER_PAGE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page


def counties(session: Session, project_id: int, scope: Scope) -> list[Region]:
    """The counties within ``scope`` where the project has sites: a list's county choices."""
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
            .order_by(Region.name)
        )
    )
