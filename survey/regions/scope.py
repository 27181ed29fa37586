"""Region scoping: which regions a staff member may see. Every staff query goes through it.

A county user sees their county, a city user the city and its counties, an admin everything.
A record outside the scope is treated as if it did not exist (404), so a county user learns
nothing about another county's records, not even that they exist.
"""

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound

from survey.db import in_ids
from survey.regions.models import Region


@dataclass(frozen=True)
class Scope:
    """The regions visible to one user; ``region_ids`` None means every region."""

    region_ids: frozenset[int] | None

    def where(self, region_column) -> ColumnElement[bool]:
        """A WHERE condition keeping rows whose ``region_column`` is in scope."""
        if self.region_ids is None:
            return true()
        return in_ids(region_column, self.region_ids)

    def covers(self, region_id: int | None) -> bool:
        return self.region_ids is None or region_id in self.region_ids

    def require(self, region_id: int | None) -> None:
        """Raise NotFound (404) unless ``region_id`` is in scope."""
        if not self.covers(region_id):
            raise NotFound()


EVERYTHING = Scope(None)


def scope_of(session: Session, user) -> Scope:
    """The scope of ``user`` (a staff member, ``accounts.models.User``): admins everything,
    city users their region and every region under it (a city's counties; a province's
    cities and their counties), county users their county. A city or county user without a
    region sees nothing."""
    if user.role == "admin":
        return EVERYTHING
    if user.region_id is None:
        return Scope(frozenset())
    if user.role == "county":
        return Scope(frozenset({user.region_id}))
    return Scope(frozenset(session.scalars(region_and_below(user.region_id))))


def region_scope(session: Session, region: Region) -> Scope:
    """What a city or county user of ``region`` sees (an API token's scope): a county
    alone, or a city or province with every region under it."""
    if region.level == "county":
        return Scope(frozenset({region.id}))
    return Scope(frozenset(session.scalars(region_and_below(region.id))))


def region_and_below(region_id: int) -> Select:
    """A SELECT of the region's id and the ids of every region under it, in one read
    (UNION, not UNION ALL: it ends even if a region were ever its own ancestor)."""
    tree = select(Region.id).where(Region.id == region_id).cte("tree", recursive=True)
    tree = tree.union(select(Region.id).where(Region.parent_id == tree.c.id))
    return select(tree.c.id)


def get_in_scope(session: Session, scope: Scope, model, ident, region_of):
    """``session.get(model, ident)``, or NotFound (404) when it does not exist or
    ``region_of(obj)`` — the region it belongs to — is outside ``scope``."""
    obj = session.get(model, ident)
    if obj is None:
        raise NotFound()
    scope.require(region_of(obj))
    return obj
