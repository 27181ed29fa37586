"""Setting up projects in the browser: create and edit a project, its owning city, its
per-county targets and its status. A city user works only within their scope; every change
is written to the audit log by the acting user."""

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from survey.accounts.services import Actor, record
from survey.form_posts import FieldError
from survey.questionnaires.services import create_questionnaire
from survey.questionnaires.starters import STARTERS, starter_questions
from survey.regions.models import Region
from survey.regions.scope import Scope
from survey.sites.checklists import starter_checklist
from survey.sites.models import PROJECT_STATUSES, Project, ProjectTarget, Site, SiteToken

#: Starter questionnaires offered when a project is created, as stored → as shown.
STARTER_CHOICES = {kind: name for kind, (name, _questions) in STARTERS.items()}
#: A project's own settings, as its form names them and the model stores them.
SETTINGS = ("name", "year", "description", "hotline")


class ProjectError(FieldError):
    """A project that cannot be saved as asked."""


@dataclass(frozen=True)
class CityCounties:
    """An owning city the user may pick, with the counties whose targets it takes."""

    city: Region
    counties: list[Region]


def owned_projects(session: Session, scope: Scope) -> list[Project]:
    """The projects owned by a city in ``scope`` (all for admins), newest year first, with
    their owning region and targets loaded."""
    query = (
        select(Project)
        .where(scope.where(Project.region_id))
        .options(joinedload(Project.region), selectinload(Project.targets))
        .order_by(Project.year.desc(), Project.id)
    )
    return list(session.scalars(query))


def owning_cities(session: Session, scope: Scope) -> list[CityCounties]:
    """The cities in ``scope`` a project may belong to, each with its counties, by name."""
    cities = list(
        session.scalars(
            select(Region)
            .where(Region.level == "city", scope.where(Region.id))
            .order_by(Region.name, Region.id)
        )
    )
    counties: dict[int, list[Region]] = {city.id: [] for city in cities}
    query = (
        select(Region)
        .where(Region.level == "county", Region.parent_id.in_(list(counties)))
        .order_by(Region.id)
    )
    for county in session.scalars(query):
        counties[county.parent_id].append(county)
    return [CityCounties(city, counties[city.id]) for city in cities]


def live_tokens(session: Session, project: Project) -> list[str]:
    """The live link tokens of the project's sites (their cached form pages must go when
    the project changes)."""
    query = (
        select(SiteToken.token)
        .join(Site, SiteToken.site_id == Site.id)
        .where(Site.project_id == project.id, SiteToken.retired_at.is_(None))
    )
    return list(session.scalars(query))


def _owning_city(session: Session, scope: Scope, region_id: int) -> Region:
    region = session.get(Region, region_id)
    # Another city outside the user's scope reads as unknown: the form never offered it.
    if region is None or region.level != "city" or not scope.covers(region.id):
        raise ProjectError("region_id", "请选择项目所属的市（只能选本人负责的市）。")
    return region


def _target_counts(session: Session, city: Region, targets: dict[int, int]) -> dict[int, int]:
    """County id → count for the counties of ``city`` given a count above 0. Raises
    ProjectError for a count given to a region that is not one of the city's counties."""
    counties = {
        county.id: county
        for county in session.scalars(
            select(Region).where(Region.parent_id == city.id, Region.level == "county")
        )
    }
    stray = [region_id for region_id, n in targets.items() if region_id not in counties and n]
    if stray:
        raise ProjectError(
            "targets",
            f"填写了不属于{city.name}的县（市、区）的目标数，请只填{city.name}下各县（市、区）的。",
        )
    return {region_id: n for region_id, n in targets.items() if n and region_id in counties}


def _describe_targets(session: Session, counts: dict[int, int]) -> str:
    if not counts:
        return "无"
    query = select(Region.id, Region.name).where(Region.id.in_(list(counts)))
    names = {region_id: name for region_id, name in session.execute(query)}
    return "、".join(f"{names[region_id]} {n}" for region_id, n in sorted(counts.items()))


def add_project(session: Session, actor: Actor, scope: Scope, values: dict) -> Project:
    """A new, active project with the ``values`` new_project_schema loads: its SETTINGS,
    owned by the city ``region_id`` in ``scope``, answered with a new questionnaire made from
    the ``starter`` template, with the visit checklist of the same kind and a target per
    county given a count above 0 in ``targets`` (county id → count).

    Raises ProjectError for a city outside ``scope``, an unknown starter or a target of a
    region that is not one of the city's counties. Never commits.
    """
    city = _owning_city(session, scope, values["region_id"])
    name, year, starter = values["name"], values["year"], values["starter"]
    if starter not in STARTERS:
        raise ProjectError("starter", "请选择问卷模板。")
    counts = _target_counts(session, city, values["targets"])
    questionnaire = create_questionnaire(session, f"{name[:98]}问卷", starter_questions(starter))
    project = Project(
        region=city,
        status="active",
        questionnaire=questionnaire,
        targets=[ProjectTarget(region_id=r, site_count=n) for r, n in sorted(counts.items())],
        **{key: values[key] for key in SETTINGS},
    )
    session.add(project)
    starter_checklist(session, project, starter, actor.user)
    session.flush()
    record(
        session,
        "project_created",
        actor,
        (
            f"{name}（项目 {project.id}）：{year}年，{city.name}，问卷模板 "
            f"{STARTER_CHOICES[starter]}，目标 {_describe_targets(session, counts)}"
        ),
    )
    return project


def change_project(
    session: Session, actor: Actor, scope: Scope, project: Project, values: dict
) -> list[str]:
    """Save the ``values`` project_change_schema loads: the project's SETTINGS, owning city
    (``region_id``), ``status`` and ``targets``; returns what changed, as shown in the audit
    log (nothing logged when nothing changed).

    The owning city can change only while the project has no site (its sites lie in the old
    city's counties). A finished project keeps its data; its links say the survey is over.
    Raises ProjectError. Never commits.
    """
    city = _owning_city(session, scope, values["region_id"])
    name, year, description = values["name"], values["year"], values["description"]
    hotline, status = values["hotline"], values["status"]
    if city.id != project.region_id and project.sites:
        raise ProjectError("region_id", "项目已有点位，不能更改所属的市。")
    if status not in PROJECT_STATUSES:
        raise ProjectError("status", "请选择项目状态。")
    counts = _target_counts(session, city, values["targets"])
    before = {t.region_id: t.site_count for t in project.targets}
    changes = []
    for label, old, new in (
        ("名称", project.name, name),
        ("年度", project.year, year),
        ("所属", project.region.name, city.name),
        ("服务热线", project.hotline or "（默认）", hotline or "（默认）"),
        ("状态", project.status_label, PROJECT_STATUSES[status]),
    ):
        if old != new:
            changes.append(f"{label}：{old} → {new}")
    if project.description != description:
        changes.append("项目说明")
    if before != counts:
        old_targets = _describe_targets(session, before)
        changes.append(f"目标：{old_targets} → {_describe_targets(session, counts)}")
    for key in SETTINGS:
        setattr(project, key, values[key])
    project.region, project.status = city, status
    if before != counts:
        kept = [target for target in project.targets if target.region_id in counts]
        for target in kept:
            target.site_count = counts[target.region_id]
        added = [
            ProjectTarget(region_id=r, site_count=n) for r, n in counts.items() if r not in before
        ]
        project.targets = kept + added  # the others go: delete-orphan
    session.flush()
    if changes:
        detail = f"{name}（项目 {project.id}）：" + "；".join(changes)
        record(session, "project_changed", actor, detail)
    return changes
