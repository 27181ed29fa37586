"""Building the demo: regions, the two seed projects, their sites, and weeks of answers."""

import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from survey.accounts.models import User
from survey.accounts.services import create_user, reset_one_time_password
from survey.db import now_utc
from survey.demo.content import COMMENTS, LISHUI, PLACES, STREETS, WENZHOU
from survey.progress.models import MilestoneRecord
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.services import create_questionnaire
from survey.rectification.services import open_none_before_now
from survey.regions.models import Region
from survey.responses import answers_store
from survey.responses.models import Answer, Response
from survey.sites.checklists import starter_checklist
from survey.sites.models import Project, ProjectTarget, Site
from survey.sites.tokens import issue_token

#: The demo's staff: (user name, role, region name) — one of each role.
DEMO_USERS = [
    ("admin", "admin", None),
    ("zhejiang", "city", "浙江省"),
    ("lishui", "city", "丽水市"),
    ("liandu", "county", "莲都区"),
]
#: Both demo cities lie in it; its user sees both demo projects.
PROVINCE = "浙江省"
DEMO_DAYS = 42
#: How often each overall score (5 … 1) is given at an ordinary site and a struggling one.
USUAL_SCORES = [46, 34, 12, 5, 3]
STRUGGLING_SCORES = [15, 25, 25, 20, 15]


def _region(session: Session, name: str, level: str, parent: Region | None) -> Region:
    found = session.scalars(
        select(Region).where(Region.name == name, Region.parent == parent)
    ).first()
    if found is None:
        found = Region(name=name, level=level, parent=parent)
        session.add(found)
    return found


def site_names(seed: dict, county: str, count: int, rng: random.Random):
    """(name, level) for ``count`` sites in ``county``: a county-level one first for
    康养联合体, the rest named after towns and communities."""
    towns = seed["towns"][county]
    for i in range(count):
        if seed["kind"] == "康养联合体":
            if i == 0:
                yield f"{county}社会福利中心康养联合体", "city_county"
            else:
                yield f"{towns[i % len(towns)]}康养联合体", "township"
        else:
            town = towns[i % len(towns)]
            unit = "村" if town.endswith(("镇", "乡")) else "社区"
            place = PLACES[(i * 7 + rng.randrange(3)) % len(PLACES)]
            name = town if town.endswith("社区") else f"{town}{place}{unit}"
            yield f"{name}居家养老服务照料中心", "township"


def _add_project(session: Session, seed: dict, rng: random.Random) -> Project | None:
    exists = session.scalars(
        select(Project).where(Project.name == seed["project"], Project.year == seed["year"])
    ).first()
    if exists is not None:
        return None
    province = _region(session, PROVINCE, "province", None)
    city = _region(session, seed["city"], "city", province)
    questionnaire = create_questionnaire(session, f"{seed['kind']}满意度问卷", DEFAULT_QUESTIONS)
    # Its sites are answered already (the demo's weeks of answers): open from the start.
    project = Project(
        name=seed["project"],
        year=seed["year"],
        region=city,
        questionnaire=questionnaire,
        open_from_start=True,
    )
    session.add(project)
    starter_checklist(session, project, seed["checklist"])
    for county_name, count in seed["targets"].items():
        county = _region(session, county_name, "county", city)
        project.targets.append(ProjectTarget(region=county, site_count=count))
        for name, level in site_names(seed, county_name, count, rng):
            address = f"{seed['city']}{county_name}{rng.choice(STREETS)}{rng.randint(1, 300)}号"
            site = Site(project=project, region=county, name=name, level=level, address=address)
            session.add(site)
            issue_token(session, site)
    session.flush()
    return project


def _schedule(progress: dict, county: str, first: bool) -> dict:
    if county != progress["late_county"]:
        return progress["others"]
    return progress["on_track"] if first else progress["behind"]


def _add_progress(session: Session, project: Project, progress: dict) -> int:
    """The sites' milestone records, confirmed on the seed's days of the project's year
    (at 10:00 in Shanghai): one county falls behind time progress. How many."""
    records, seen = [], set()
    for site in project.sites:
        county = site.region.name
        schedule = _schedule(progress, county, county not in seen)
        seen.add(county)
        for percent, (month, day) in schedule.items():
            at = datetime(project.year, month, day, 2, 0, tzinfo=UTC)
            records.append(
                MilestoneRecord(
                    project_id=project.id,
                    site=site,
                    region_id=site.region_id,
                    percent=percent,
                    state="confirmed",
                    reached_on=at.date(),
                    note="",
                    recorded_at=at,
                    decided_at=at,
                    reason="",
                )
            )
        site.completed = 100 in schedule
    session.add_all(records)
    return len(records)


def _add_responses(session: Session, project: Project, rng: random.Random) -> int:
    """A few weeks of plausible answers for every site of ``project``; returns how many."""
    version = project.questionnaire.current_version
    questions = {q.key: q for q in version.questions}
    now = now_utc()
    responses = []
    for site in project.sites:
        weights = STRUGGLING_SCORES if rng.random() < 0.08 else USUAL_SCORES
        for _ in range(rng.randint(12, 50)):
            overall = rng.choices([5, 4, 3, 2, 1], weights)[0]
            channel = rng.choices(["qr", "phone", "visit"], [80, 15, 5])[0]
            created = now - timedelta(days=rng.uniform(0, DEMO_DAYS))
            response = Response(
                site=site,
                version=version,
                channel=channel,
                overall=overall,
                created_at=created,
                comment=rng.choice(COMMENTS[overall]) if rng.random() < 0.15 else "",
                device_id=f"{rng.getrandbits(128):032x}" if channel == "qr" else None,
            )
            response.answers.append(Answer(question=questions["overall"], choice=overall))
            for key in ("attitude", "facilities", "services"):
                if rng.random() < 0.6:
                    good = overall >= 4 or rng.random() < 0.3
                    choice = 0 if good else rng.choice([1, 2])
                    response.answers.append(Answer(question=questions[key], choice=choice))
            responses.append(response)
    answers_store.add_all(session, responses)
    return len(responses)


def load_demo(session: Session, seed: int = 2022) -> dict:
    """Create the demo projects (once) and make sure the demo staff can log in.

    Returns what was done: project names added, responses added, and a new one-time
    password for each demo user who has not chosen their own yet.
    """
    rng = random.Random(seed)
    added, responses = [], 0
    for content in (LISHUI, WENZHOU):
        project = _add_project(session, content, rng)
        if project is not None:
            added.append(project.name)
            responses += _add_responses(session, project, rng)
            _add_progress(session, project, content["progress"])
    if responses:  # the demo's months of answers are history: no 整改单 for them
        open_none_before_now(session)

    passwords = {}
    for username, role, region_name in DEMO_USERS:
        user = session.scalars(select(User).where(User.username == username)).first()
        if user is None:
            region = session.scalars(select(Region).where(Region.name == region_name)).first()
            _, passwords[username] = create_user(session, username, role, region)
        elif user.must_change_password:
            passwords[username] = reset_one_time_password(user)
    session.flush()
    return {"projects": added, "responses": responses, "passwords": passwords}
