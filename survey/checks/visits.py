"""Unannounced visits (随机暗访): picking sites, the checklist, photos and interviews."""

import random
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from survey.accounts.models import User
from survey.accounts.scope import Scope
from survey.checks.models import Visit, VisitPhoto
from survey.checks.photos import CleanPhoto
from survey.responses.services import submit_response
from survey.sites.models import Project, Site
from survey.stats import rollups

#: What a visit checks when the project names no acceptance standard of its own.
GENERAL_CHECKLIST = [
    "场所正常开放，标识标牌清楚",
    "服务人员在岗",
    "收费标准、服务标准和服务流程公示",
    "服务记录完整",
    "环境整洁，设施设备安全可用",
]


def checklist_for(project: Project) -> list[str]:
    """The items a visit to one of the project's sites checks."""
    return list(project.checklist or GENERAL_CHECKLIST)


def sites_in_scope(session: Session, project_id: int, scope: Scope) -> list[Site]:
    """The project's active sites within ``scope``, by county and name."""
    return list(
        session.scalars(
            select(Site)
            .where(Site.project_id == project_id, Site.active, scope.where(Site.region_id))
            .order_by(Site.region_id, Site.name)
        )
    )


def draw_sites(
    session: Session, project_id: int, scope: Scope, count: int, seed: str
) -> list[Site]:
    """``count`` sites picked at random; the same seed picks the same sites again."""
    sites = sites_in_scope(session, project_id, scope)
    chosen = random.Random(seed).sample(sorted(sites, key=lambda s: s.id), min(count, len(sites)))
    return sorted(chosen, key=lambda s: (s.region_id, s.name))


def record_visit(
    session: Session,
    site: Site,
    user: User,
    *,
    visited_on: date,
    inspectors: str,
    passed: set[int],
    findings: str,
    photos: list[CleanPhoto],
    draw_seed: str | None = None,
) -> Visit:
    """A visit with its checklist (``passed``: indices of the items found in order)."""
    visit = Visit(
        site=site,
        visited_on=visited_on,
        inspectors=inspectors,
        checklist=[
            {"item": item, "ok": i in passed} for i, item in enumerate(checklist_for(site.project))
        ],
        findings=findings,
        draw_seed=draw_seed,
        created_by=user,
        photos=[
            VisitPhoto(content_type=p.content_type, data=p.data, width=p.width, height=p.height)
            for p in photos
        ],
    )
    session.add(visit)
    session.flush()
    return visit


def add_interview(
    session: Session, visit: Visit, questions: list, answers: dict, comment: str = ""
) -> int:
    """Store a resident's answers given during the visit (channel ``visit``); returns the
    response id."""
    submission = submit_response(
        session,
        visit.site_id,
        questions[0].version_id,
        questions,
        channel="visit",
        answers=answers,
        comment=comment,
        visit_id=visit.id,
    )
    return submission.response_id


def may_delete(visit: Visit, user: User) -> bool:
    """Who may delete a visit: whoever recorded it, and city users (a county must not be
    able to erase the city's inspection of its own sites)."""
    return visit.created_by_id == user.id or user.role == "city"


def delete_visit(session: Session, visit: Visit) -> None:
    """Delete a visit with its photos and interviews, taking the interviews out of the
    rollup counts in the same transaction."""
    rollups.uncount(session, visit.interviews)
    session.delete(visit)


def visits_of(session: Session, project_id: int, scope: Scope) -> list[Visit]:
    """The project's visits within ``scope``, newest first."""
    return list(
        session.scalars(
            select(Visit)
            .join(Site, Visit.site_id == Site.id)
            .where(Site.project_id == project_id, scope.where(Site.region_id))
            .options(selectinload(Visit.photos).load_only(VisitPhoto.id))
            .order_by(Visit.visited_on.desc(), Visit.id.desc())
        )
    )
