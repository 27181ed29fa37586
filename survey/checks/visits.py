"""Unannounced visits (随机暗访): picking sites, the checklist, photos and interviews, and
the home-visit list of residents who could not be surveyed by phone."""

import random
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from survey.accounts.models import User
from survey.accounts.services import Actor, record
from survey.checks.models import CallTask, HomeVisit, Visit, VisitPhoto
from survey.checks.photos import CleanPhoto
from survey.checks.roster import mask_name
from survey.phones import mask_phone
from survey.regions.scope import Scope
from survey.responses import answers_store
from survey.responses.services import submit_response
from survey.sites.checklists import checklist_items, checklist_number
from survey.sites.listing import Page, SiteFilter, page_of
from survey.sites.models import Site

#: Sites offered for recording a visit at once (a project may have thousands: filter).
SITES_SHOWN = 50


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


class VisitRefused(ValueError):
    """The visit cannot be recorded as asked; the message says why, for the inspector."""


def record_visit(
    session: Session,
    site: Site,
    actor: Actor,
    entry: dict,
    photos: list[CleanPhoto],
    home_visit: HomeVisit | None = None,
) -> Visit:
    """A visit with ``entry``'s ``visited_on``, ``inspectors`` and ``findings``, and the
    project's current checklist, each item's result from ``entry["results"]`` (item index →
    ``pass``, ``fail`` or ``unverified``; an item not in it was not verified); its
    ``draw_seed`` when the site was drawn at random. A ``home_visit`` of the same site is
    closed by it. Raises VisitRefused for a home visit already done, and when
    ``entry["checklist_version"]``, the checklist version the form showed, is no longer the
    current one (the results would land on other items' wording). Logged as ``actor``'s."""
    results = entry.get("results", {})
    version = site.project.current_checklist
    shown_version = entry.get("checklist_version")
    if shown_version is not None and shown_version != checklist_number(site.project):
        raise VisitRefused("检查项刚刚更新了，请按下面新的检查项重新选择结果后再保存。")
    checklist = [
        {"item": item["text"], "required": item["required"], "result": results.get(i, "unverified")}
        for i, item in enumerate(checklist_items(site.project))
    ]
    visit = Visit(
        site=site,
        checklist=checklist,
        checklist_version=version,
        created_by=actor.user,
        draw_seed=entry.get("draw_seed") or None,
        photos=[
            VisitPhoto(content_type=p.content_type, data=p.data, width=p.width, height=p.height)
            for p in photos
        ],
        **{field: entry[field] for field in ("visited_on", "inspectors", "findings")},
    )
    session.add(visit)
    if home_visit is not None:
        if home_visit.site_id != site.id:
            raise VisitRefused("这位服务对象不在这个点位。")
        if not home_visit.is_open:
            raise VisitRefused("这位服务对象的上门走访已经录入过了。")
        home_visit.visit = visit
    session.flush()
    how = f"，上门走访（电话抽查任务 {home_visit.call_task_id}）" if home_visit else ""
    detail = f"暗访 {visit.id}：{site.name}，{visit.visited_on}，{len(photos)} 张照片{how}"
    record(session, "visit_recorded", actor, detail)
    return visit


def add_interview(
    session: Session, actor: Actor, visit: Visit, questions: list, answers: dict, comment: str = ""
) -> int:
    """Store a resident's answers given during the visit (channel ``visit``), logged as
    ``actor``'s; returns the response id."""
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
    detail = f"暗访 {visit.id}：{visit.site.name}"
    record(session, "interview_recorded", actor, detail)
    return submission.response_id


def may_delete(visit: Visit, user: User) -> bool:
    """Who may delete a visit: whoever recorded it, and city users (a county must not be
    able to erase the city's inspection of its own sites)."""
    return visit.created_by_id == user.id or user.role == "city"


def delete_visit(session: Session, actor: Actor, visit: Visit) -> None:
    """Delete a visit with its photos and interviews, taking the interviews out of the
    rollup counts (``answers_store.remove``); a home visit it closed is open again. Logged
    as ``actor``'s."""
    detail = f"暗访 {visit.id}：{visit.site.name}，{visit.visited_on}"
    record(session, "visit_deleted", actor, detail)
    answers_store.remove(session, visit.interviews)
    session.execute(update(HomeVisit).where(HomeVisit.visit_id == visit.id).values(visit_id=None))
    session.delete(visit)


# -- the list of visits ----------------------------------------------------------------


def visit_page(
    session: Session, project_id: int, scope: Scope, sites: SiteFilter, number: int
) -> Page:
    """A page of the project's visits within ``scope`` and ``sites``, newest first."""
    query = (
        select(Visit)
        .join(Site, Visit.site_id == Site.id)
        .where(Site.project_id == project_id, scope.where(Site.region_id), sites.where())
        .options(selectinload(Visit.photos).load_only(VisitPhoto.id), selectinload(Visit.site))
        .order_by(Visit.visited_on.desc(), Visit.id.desc())
    )
    return page_of(session, query, number)


def sites_to_visit(session: Session, project_id: int, scope: Scope, sites: SiteFilter) -> Page:
    """The first SITES_SHOWN of the project's active sites within ``scope`` and ``sites``,
    by county and name, and how many there are: those a visit may be recorded for."""
    query = (
        select(Site)
        .where(
            Site.project_id == project_id, Site.active, scope.where(Site.region_id), sites.where()
        )
        .options(selectinload(Site.region))
        .order_by(Site.region_id, Site.name)
    )
    return page_of(session, query, 1, SITES_SHOWN)


# -- home visits -----------------------------------------------------------------------


def schedule_home_visit(session: Session, task: CallTask) -> HomeVisit:
    """Put the resident of a call task that cannot be done by phone on the home-visit list
    (once per task)."""
    found = session.scalars(select(HomeVisit).where(HomeVisit.call_task_id == task.id)).first()
    if found is None:
        found = HomeVisit(call_task=task, site_id=task.site_id)
        session.add(found)
    return found


@dataclass
class HomeVisitRow:
    """A resident waiting for a home visit, as the list shows them."""

    home_visit: HomeVisit
    name: str
    masked_phone: str
    note: str
    asked_at: datetime

    @property
    def masked_name(self) -> str:
        """The list shows ``王**``; the full name and note only on the form for this visit."""
        return mask_name(self.name)


def open_home_visits(session: Session, project_id: int, scope: Scope) -> list[HomeVisit]:
    """The project's home visits within ``scope`` still to be made, oldest first."""
    return list(
        session.scalars(
            select(HomeVisit)
            .join(Site, HomeVisit.site_id == Site.id)
            .where(
                Site.project_id == project_id,
                scope.where(Site.region_id),
                HomeVisit.visit_id.is_(None),
            )
            .options(
                selectinload(HomeVisit.site).selectinload(Site.region),
                selectinload(HomeVisit.call_task).selectinload(CallTask.resident),
            )
            .order_by(HomeVisit.created_at, HomeVisit.id)
        )
    )


def home_visit_row(home_visit: HomeVisit, cipher) -> HomeVisitRow | None:
    """The resident to visit, name and note decrypted, number masked; None when they were
    removed from the roster on their request (nobody to visit)."""
    resident = home_visit.call_task.resident
    if resident is None:
        return None
    return HomeVisitRow(
        home_visit,
        cipher.decrypt(resident.name_token),
        mask_phone(cipher.decrypt(resident.phone_token)),
        cipher.decrypt(resident.note_token) if resident.note_token else "",
        home_visit.created_at,
    )


def home_visit_rows(home_visits: list[HomeVisit], cipher) -> list[HomeVisitRow]:
    """The residents still to visit (``home_visit_row`` of each, those on the roster)."""
    rows = (home_visit_row(home_visit, cipher) for home_visit in home_visits)
    return [row for row in rows if row is not None]
