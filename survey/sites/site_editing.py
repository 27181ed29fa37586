"""Adding, changing, retiring and re-enabling a project's sites one by one.

A new or re-enabled site gets its link token at once, so its poster can be printed right
away; a retired site's link stops working. Every change is written to the audit log by the
acting user. Services never commit.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.services import Actor, record
from survey.db import now_utc
from survey.form_posts import FieldError
from survey.regions.models import Region
from survey.regions.scope import Scope, region_and_below
from survey.sites import hooks
from survey.sites.models import SITE_LEVELS, Project, Site, SiteToken
from survey.sites.tokens import issue_token, rotate_token

#: A site's own fields, as its form names them and the model stores them (the county aside).
FIELDS = ("name", "address", "level", "contact")


class SiteError(FieldError):
    """A site change that cannot be made."""


def project_counties(session: Session, project: Project, scope: Scope) -> list[Region]:
    """The counties the project's sites may lie in: the county-level regions under its
    owning region (a city's counties; a province's cities' counties), within ``scope``,
    by name."""
    under = region_and_below(project.region_id)  # the region itself when it is a county
    query = select(Region).where(Region.id.in_(under), Region.level == "county")
    found = session.scalars(query)
    return sorted((r for r in found if scope.covers(r.id)), key=lambda r: (r.name, r.id))


def _county(session: Session, project: Project, scope: Scope, region_id: int) -> Region:
    for county in project_counties(session, project, scope):
        if county.id == region_id:
            return county
    raise SiteError("region_id", f"请选择{project.region.name}下属的县（市、区）。")


def same_name(
    session: Session, project_id: int, region_id: int, name: str, other_than: int | None = None
) -> Site | None:
    """The project's site of this name in this county (retired ones too: the database
    holds one name per county), other than site ``other_than``."""
    query = select(Site).where(
        Site.project_id == project_id, Site.region_id == region_id, Site.name == name
    )
    if other_than is not None:
        query = query.where(Site.id != other_than)
    return session.scalars(query).first()


def _refuse_taken(session: Session, project_id: int, county: Region, name: str, other_than=None):
    taken = same_name(session, project_id, county.id, name, other_than)
    if taken is not None:
        retired = "（已停用）" if not taken.active else ""
        raise SiteError(
            "name", f"{county.name}已有名为“{name}”的点位{retired}，同一县内点位名称不能重复。"
        )


def _describe(site: Site, county: Region) -> str:
    return f"{site.project.name}：{county.name} · {site.name}（点位 {site.id}）"


def add_site(session: Session, actor: Actor, scope: Scope, project: Project, values: dict) -> Site:
    """A new active site of ``project`` with its live token, audited: the ``values``
    site_schema loads, its county ``region_id`` and its FIELDS.

    Raises SiteError for a county that is not one of the project's (within ``scope``) or a
    name the county already has in the project.
    """
    county = _county(session, project, scope, values["region_id"])
    _refuse_taken(session, project.id, county, values["name"])
    site = Site(project=project, region=county, **{key: values[key] for key in FIELDS})
    session.add(site)
    token = issue_token(session, site)
    session.flush()
    detail = f"{_describe(site, county)}，{site.level_label}，点位码 {token.token}"
    record(session, "site_created", actor, detail)
    return site


def change_site(session: Session, actor: Actor, scope: Scope, site: Site, values: dict) -> bool:
    """Change a site's county (``values["region_id"]``) or FIELDS to the ``values``
    site_schema loads; its link stays the same. Returns whether its poster's text (name or
    county) changed.

    Raises SiteError for a county that is not one of the project's, a name the county
    already has, or a move to another county once the site has a roster (its entries are
    counted, and scoped, by the county).
    """
    county = _county(session, site.project, scope, values["region_id"])
    _refuse_taken(session, site.project_id, county, values["name"], other_than=site.id)
    if county.id != site.region_id:
        refusal = hooks.move_refusal(session, site)
        if refusal is not None:
            raise SiteError("region_id", refusal)
    before = _shown(site)
    site.region = county
    for key in FIELDS:
        setattr(site, key, values[key])
    after = _shown(site)
    changes = [
        f"{label}“{old}”→“{new}”"
        for (label, old), (_, new) in zip(before, after, strict=True)
        if old != new
    ]
    if changes:
        detail = f"{_describe(site, county)}：{'；'.join(changes)}"
        record(session, "site_changed", actor, detail)
    return before[:2] != after[:2]  # the county and the name are on the poster


def _shown(site: Site) -> list[tuple[str, str]]:
    """What the audit log compares before and after a change, as people read it."""
    return [
        ("县（市、区）", site.region.name),
        ("名称", site.name),
        ("地址", site.address),
        ("级别", SITE_LEVELS[site.level]),
        ("联系人", site.contact),
    ]


def retire_site(session: Session, actor: Actor, site: Site) -> list[str]:
    """Retire an active site: it leaves the lists of active sites and its link stops
    working; its answers and records stay. Returns the retired tokens (the caller drops
    their cached form pages after committing).

    Raises SiteError when the site is retired already.
    """
    if not site.active:
        raise SiteError("site", f"“{site.name}”已经停用。")
    # Read the live token inside the write transaction: it may have been rotated since.
    live = select(SiteToken).where(SiteToken.site_id == site.id, SiteToken.retired_at.is_(None))
    retired = []
    for token in session.scalars(live):
        token.retired_at = now_utc()
        retired.append(token.token)
    site.active = False
    detail = f"{_describe(site, site.region)}，停用点位码 {'、'.join(retired) or '无'}"
    record(session, "site_retired", actor, detail)
    return retired


def enable_site(session: Session, actor: Actor, site: Site) -> SiteToken:
    """Make a retired site active again with a fresh token (its old posters stay invalid:
    print a new one). Returns the new token.

    Raises SiteError when the site is active already.
    """
    if site.active:
        raise SiteError("site", f"“{site.name}”正在使用，无需启用。")
    site.active = True
    token = rotate_token(session, site)  # retires a live token left over, if any
    session.flush()
    detail = f"{_describe(site, site.region)}，新点位码 {token.token}"
    record(session, "site_enabled", actor, detail)
    return token


def rotate_site_token(session: Session, actor: Actor, site: Site) -> tuple[list[str], SiteToken]:
    """Retire the site's live QR code and issue a new one (its poster was stolen or moved),
    logged as ``actor``'s. Returns the retired codes and the new token. Call
    inside the write transaction, with ``site`` locked (two clicks rotate one after the
    other)."""
    retired = [t.token for t in site.tokens if t.is_live]
    new = rotate_token(session, site)
    detail = f"{site.name}（点位 {site.id}）：{'、'.join(retired)} → {new.token}"
    record(session, "token_rotated", actor, detail)
    return retired, new
