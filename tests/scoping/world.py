"""The world the region-scoping matrix runs in: two cities of one province, two counties
each, a project per city, and in every county one of each record a staff route can name by
id (sites, answers plain and flagged, roster entries, staged imports, batches, calls, home
visits, visits with photos and interviews, recordings), made through the pages wherever a
page makes them. Built once per backend (``tests/scoping/test_region_scoping.py``).

Regions are named by key: ``A`` and ``B`` the cities, ``A1`` … ``B2`` their counties.
"""

import io
from dataclasses import dataclass, field

from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from survey.accounts.models import User
from survey.accounts.services import hash_password
from survey.api.models import ApiToken
from survey.checks.models import CallTask, HomeVisit, Resident, VisitPhoto
from survey.db import db, write_transaction
from survey.progress.models import MilestoneRecord
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.services import create_questionnaire
from survey.rectification.models import Case, CaseStep, StepPhoto
from survey.rectification.sweep import sweep_cases
from survey.regions.models import Region
from survey.responses import answers_store
from survey.responses.models import Recording, Response
from survey.sites.models import Project, ProjectTarget, Site, SiteToken
from survey.sites.tokens import issue_token
from tests.checks.conftest import MORNING, Clock, jpeg_with_gps, phone, roster_csv
from tests.helpers import PASSWORD, answer, csrf_of, log_in
from tests.sites.site_helpers import site_csv

#: The region key of the province both cities lie in.
PROVINCE = "P"
CITIES = {"A": "丽水市", "B": "温州市"}
COUNTIES = {"A1": "莲都区", "A2": "青田县", "B1": "鹿城区", "B2": "瓯海区"}
PROJECTS = {"A": "丽水康养联合体项目", "B": "温州照料中心项目"}
#: The main site of each county: the names the matrix looks for in pages it must not show.
SITES = {
    "A1": "紫金街道康养联合体",
    "A2": "鹤城街道康养联合体",
    "B1": "五马街道照料中心",
    "B2": "梧田街道照料中心",
}
#: user name → (role, region key). The matrix logs in as the first five; the county users of
#: A2 and B2 make their counties' records.
USERS = {
    "admin": ("admin", None),
    "zhejiang": ("city", PROVINCE),  # a province-level city user: both cities
    "lishui": ("city", "A"),
    "wenzhou": ("city", "B"),
    "liandu": ("county", "A1"),
    "lucheng": ("county", "B1"),
    "qingtian": ("county", "A2"),
    "ouhai": ("county", "B2"),
}
#: Who records for each county (and the spare records of each staff user).
COUNTY_USERS = {"A1": "liandu", "A2": "qingtian", "B1": "lucheng", "B2": "ouhai"}
CITY_USERS = {"A": "lishui", "B": "wenzhou"}
STAFF_USERS = ("lishui", "wenzhou", "liandu", "lucheng")
SETUP_USERS = ("admin", "lishui", "wenzhou")
RECORDERS = ("admin", "lishui", "wenzhou", "liandu", "lucheng")


def city_of(key: str) -> str:
    """``A`` for ``A``, ``A1`` and ``A2``."""
    return key[0]


def region_of(username: str) -> str | None:
    return USERS[username][1]


class Staff:
    """A test client logged in as one user, posting forms with its CSRF token."""

    def __init__(self, app, username: str):
        self.username = username
        self.client: FlaskClient = app.test_client()
        if username != "anonymous":
            log_in(self.client, username, PASSWORD)
            self.csrf = csrf_of(self.client.get("/account/password").data)
        else:
            self.csrf = csrf_of(self.client.get("/login").data)

    def get(self, url: str):
        return self.client.get(url)

    def post(self, url: str, data: dict | None = None):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})})

    def post_files(self, url: str, fields: dict):
        """A multipart POST; ``fields`` maps names to values or ``(bytes, filename)``."""
        values = MultiDict([("csrf_token", self.csrf)])
        for name, value in fields.items():
            if isinstance(value, tuple):
                value = FileStorage(io.BytesIO(value[0]), filename=value[1])
            values.add(name, value)
        boundary, body = encode_multipart(values)
        return self.client.post(
            url, data=body, content_type=f"multipart/form-data; boundary={boundary}"
        )


def _id_at_end(reply) -> int:
    assert reply.status_code in (302, 303), reply.get_data(as_text=True)[:1000]
    return int(reply.headers["Location"].rstrip("/").rsplit("/", 1)[1].split("?")[0])


@dataclass
class World:
    """Ids of the records, by the region key (or user name) they belong to."""

    regions: dict[str, int] = field(default_factory=dict)
    projects: dict[str, int] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)
    residents: dict[str, int] = field(default_factory=dict)
    batches: dict[str, int] = field(default_factory=dict)  # counties' and cities' batches
    tasks: dict[str, int] = field(default_factory=dict)
    home_visits: dict[str, int] = field(default_factory=dict)
    visits: dict[str, int] = field(default_factory=dict)
    photos: dict[str, int] = field(default_factory=dict)
    recordings: dict[str, int] = field(default_factory=dict)  # A, A1, … (the region's own)
    flagged: dict[str, int] = field(default_factory=dict)
    #: The names and phone numbers on each county's roster.
    people: dict[str, list[str]] = field(default_factory=dict)
    #: Staged uploads by user name: three each (to show, to confirm, to cancel).
    roster_imports: dict[str, list[int]] = field(default_factory=dict)
    site_imports: dict[str, list[int]] = field(default_factory=dict)
    #: Each county's 整改单 (verified and rectified) and the photo of its 整改.
    cases: dict[str, int] = field(default_factory=dict)
    case_photos: dict[str, int] = field(default_factory=dict)
    #: Each county's milestone record (20 %, waiting) of its main site and the record's photo.
    progress_records: dict[str, int] = field(default_factory=dict)
    progress_files: dict[str, int] = field(default_factory=dict)
    #: Each setting-up user's finished background job (a project's posters).
    jobs: dict[str, list[int]] = field(default_factory=dict)
    #: Records a user's own POST may use up, by user name.
    spare_residents: dict[str, int] = field(default_factory=dict)
    spare_visits: dict[str, int] = field(default_factory=dict)
    spare_recordings: dict[str, int] = field(default_factory=dict)
    #: A live site and a retired one per city, to retire and to enable again.
    live_spares: dict[str, int] = field(default_factory=dict)
    retired_spares: dict[str, int] = field(default_factory=dict)
    spare_user: int = 0
    spare_region: int = 0
    #: An API token of city A, for the admins' token pages.
    api_token: int = 0


def _base(world: World) -> None:
    """Regions, projects, sites, users and recordings, written directly."""
    session = db.session
    province = Region(name="浙江省", level="province")
    session.add(province)
    regions = {}
    for key, name in CITIES.items():
        regions[key] = Region(name=name, level="city", parent=province)
    for key, name in COUNTIES.items():
        regions[key] = Region(name=name, level="county", parent=regions[city_of(key)])
    spare_region = Region(name="空置区", level="county", parent=regions["A"])
    session.add_all([*regions.values(), spare_region])
    projects = {}
    for key, name in PROJECTS.items():
        questionnaire = create_questionnaire(session, f"{name}问卷", DEFAULT_QUESTIONS)
        projects[key] = Project(
            name=name,
            year=2026,
            region=regions[key],
            questionnaire=questionnaire,
            open_from_start=True,
        )
        session.add(projects[key])
    sites = {}
    for key, name in SITES.items():
        project = projects[city_of(key)]
        project.targets.append(ProjectTarget(region=regions[key], site_count=3))
        sites[key] = Site(project=project, region=regions[key], name=name, address=f"{name}路1号")
        issue_token(session, sites[key])
    spares = {}
    for key in CITIES:
        county = regions[f"{key}1"]
        project = projects[key]
        live = Site(project=project, region=county, name=f"{COUNTIES[f'{key}1']}备用点位甲")
        retired = Site(project=project, region=county, name=f"{COUNTIES[f'{key}1']}备用点位乙")
        issue_token(session, live)
        session.add(retired)  # no live link: retired
        spares[key] = (live, retired)
    session.add_all(sites.values())
    users = {}
    for username, (role, key) in USERS.items():
        users[username] = User(
            username=username,
            role=role,
            password_hash=hash_password(PASSWORD),
            must_change_password=False,
            region=province if key == PROVINCE else regions.get(key),
        )
    spare_user = User(username="spare", role="county", password_hash=hash_password(PASSWORD))
    session.add_all([*users.values(), spare_user])
    session.flush()
    # Recordings: each region's own (the city's is played where a county has none), and a
    # spare in each recorder's region to delete.
    for key, region in regions.items():
        version = projects[city_of(key)].questionnaire.current_version
        world.recordings[key] = _recording(session, version, region, "overall").id
    for username in RECORDERS:
        key = region_of(username) or "A"
        version = projects[city_of(key)].questionnaire.current_version
        world.spare_recordings[username] = _recording(
            session, version, regions[key], "attitude" if username != "admin" else "thanks"
        ).id
    session.flush()
    world.regions = {key: r.id for key, r in regions.items()}
    world.projects = {key: p.id for key, p in projects.items()}
    world.sites = {key: s.id for key, s in sites.items()}
    world.live_spares = {key: live.id for key, (live, _) in spares.items()}
    world.retired_spares = {key: retired.id for key, (_, retired) in spares.items()}
    world.spare_user, world.spare_region = spare_user.id, spare_region.id
    token = ApiToken(
        name="省民生实事系统",
        region=regions["A"],
        secret_digest="0" * 64,
        created_by=users["admin"],
    )
    session.add(token)
    session.flush()
    world.api_token = token.id


def _recording(session, version, region, key) -> Recording:
    found = Recording(version=version, region_id=region.id, key=key, data=b"\0" * 64, duration_ms=1)
    session.add(found)
    session.flush()
    return found


def token_of(site_id: int) -> str:
    return db.session.scalars(select(SiteToken.token).where(SiteToken.site_id == site_id)).first()


def _answers(app, world: World) -> None:
    """A resident's answer at every site through the form, and a flagged one beside it."""
    client = app.test_client()
    with app.app_context():
        tokens = {key: token_of(site_id) for key, site_id in world.sites.items()}
    for key, token in tokens.items():
        reply = answer(client, token, overall="2", comment=f"{SITES[key]}的评价")
        assert reply.status_code == 303, reply.get_data(as_text=True)[:500]
    with app.app_context(), write_transaction(db.session):
        session = db.session
        flagged = {}
        for key, site_id in world.sites.items():
            flagged[key] = Response(
                site_id=site_id,
                version_id=session.get(Site, site_id).project.questionnaire.current_version.id,
                channel="qr",
                overall=1,
                comment=f"{SITES[key]}的可疑评价",
                flag="pending",
                flag_reasons="burst",
            )
        answers_store.add_all(session, list(flagged.values()))
        world.flagged |= {key: response.id for key, response in flagged.items()}


def _roster(staff: Staff, world: World, project: str, rows, keep_staged=3) -> list[int]:
    """Import ``rows`` into the project's roster; leave ``keep_staged`` uploads staged."""
    url = f"/checks/projects/{world.projects[project]}/roster/import"
    reply = staff.post_files(url, {"file": (roster_csv(rows), "roster.csv")})
    assert staff.post(reply.headers["Location"] + "/confirm").status_code == 302
    staged = []
    for _ in range(keep_staged):
        reply = staff.post_files(url, {"file": (roster_csv(rows[:1]), "roster.csv")})
        staged.append(_id_at_end(reply))
    return staged


def _county_records(app, world: World, key: str, clients: dict) -> None:
    """Roster, a batch, calls (one heard badly: a home visit; one answered), a visit with a
    photo and an interview, made by the county's own user."""
    staff = clients[COUNTY_USERS[key]]
    with app.app_context():
        token = token_of(world.sites[key])
    base = {"A1": 1000, "A2": 2000, "B1": 3000, "B2": 4000}[key]
    rows = [(f"居民{base + i}", phone(base + i), token, "") for i in range(12)]
    world.people[key] = [text for row in rows for text in row[:2]]
    staged = _roster(staff, world, city_of(key), rows)
    if staff.username in STAFF_USERS:
        world.roster_imports[staff.username] = staged
    project_id = world.projects[city_of(key)]
    reply = staff.post(f"/checks/projects/{project_id}/samples", {"mode": "count", "size": "3"})
    world.batches[key] = _id_at_end(reply)
    with app.app_context():
        tasks = db.session.scalars(
            select(CallTask.id).where(CallTask.batch_id == world.batches[key]).order_by(CallTask.id)
        ).all()
    world.tasks[key] = tasks[0]
    staff.post(f"/checks/tasks/{tasks[1]}/attempts", {"outcome": "hearing"})
    reply = staff.post(
        f"/checks/tasks/{tasks[2]}/attempts", {"outcome": "completed", "q.overall": "4"}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
    site_id = world.sites[key]
    reply = staff.post_files(
        f"/checks/sites/{site_id}/visits/new",
        {
            "visited_on": "2026-11-20",
            "inspectors": "李明",
            "result.0": "pass",
            "result.2": "pass",
            "photos": (jpeg_with_gps(), "p.jpg"),
        },
    )
    world.visits[key] = _id_at_end(reply)
    reply = staff.post(f"/checks/visits/{world.visits[key]}/interviews", {"q.overall": "5"})
    assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
    with app.app_context():
        session = db.session
        world.photos[key] = session.scalar(
            select(VisitPhoto.id).where(VisitPhoto.visit_id == world.visits[key])
        )
        world.home_visits[key] = session.scalar(
            select(HomeVisit.id).where(HomeVisit.call_task_id == tasks[1])
        )
        world.residents[key] = session.scalar(
            select(Resident.id).where(Resident.site_id == site_id).order_by(Resident.id.desc())
        )


def _spares(app, world: World, clients: dict) -> None:
    """Records each staff user's own POSTs may use up: a roster entry and a visit."""
    for username in STAFF_USERS:
        staff = clients[username]
        key = region_of(username)
        site_id = world.sites[key if len(key) == 2 else f"{key}1"]
        reply = staff.post_files(
            f"/checks/sites/{site_id}/visits/new",
            {"visited_on": "2026-11-21", "inspectors": "王芳", "result.0": "pass"},
        )
        world.spare_visits[username] = _id_at_end(reply)
        called = CallTask.resident_id.is_not(None)
        with app.app_context():
            world.spare_residents[username] = db.session.scalar(
                select(Resident.id)
                .where(
                    Resident.site_id == site_id,
                    Resident.id.not_in(world.spare_residents.values()),
                    Resident.id.not_in(select(CallTask.resident_id).where(called)),
                )
                .order_by(Resident.id)
            )


def _city_records(app, world: World, clients: dict) -> None:
    """Each city's own batch (reaching both its counties) and staged roster uploads."""
    for key, username in CITY_USERS.items():
        staff = clients[username]
        project_id = world.projects[key]
        reply = staff.post(
            f"/checks/projects/{project_id}/samples", {"mode": "count", "size": "4", "seed": "m"}
        )
        world.batches[key] = _id_at_end(reply)
        with app.app_context():  # a county user sees their part of it
            reached = db.session.scalars(
                select(Site.region_id)
                .join(CallTask, CallTask.site_id == Site.id)
                .where(CallTask.batch_id == world.batches[key])
            ).all()
            token = token_of(world.sites[f"{key}2"])
        assert {world.regions[f"{key}1"], world.regions[f"{key}2"]} <= set(reached)
        base = 9000 if key == "A" else 9050
        rows = [(f"居民{key}{i}", phone(base + i), token, "") for i in range(2)]
        url = f"/checks/projects/{project_id}/roster/import"
        staged = []
        for _ in range(3):
            reply = staff.post_files(url, {"file": (roster_csv(rows), "roster.csv")})
            staged.append(_id_at_end(reply))
        world.roster_imports[username] = staged


def _site_imports(world: World, clients: dict) -> None:
    """Three staged site lists per user who sets projects up (the admin's for city A)."""
    for username in SETUP_USERS:
        key = region_of(username) or "A"
        county = COUNTIES[f"{key}1"]
        url = f"/admin/projects/{world.projects[key]}/sites/import"
        staged = []
        for i in range(3):
            content = site_csv([(county, f"导入点位{username}{i}", "", "乡镇级")])
            reply = clients[username].post_files(url, {"file": (content, "sites.csv")})
            staged.append(_id_at_end(reply))
        world.site_imports[username] = staged


def _cases(app, world: World, clients: dict) -> None:
    """A bad answer at each county's site, its case opened by the sweep, then verified and
    rectified with a photo by the county's user."""
    with app.app_context(), write_transaction(db.session):
        for key in COUNTIES:
            site = db.session.get(Site, world.sites[key])
            version = site.project.questionnaire.current_version
            row = {"site_id": site.id, "version_id": version.id, "channel": "qr", "overall": 1}
            answers_store.import_responses(db.session, [row | {"created_at": MORNING}])
    sweep_cases(app)
    with app.app_context():
        for case in db.session.scalars(select(Case)):
            key = next(k for k in COUNTIES if world.sites[k] == case.site_id)
            world.cases[key] = case.id
    for key, case_id in world.cases.items():
        staff = clients[COUNTY_USERS[key]]
        assert staff.post(f"/cases/{case_id}/verify", {"finding": "属实"}).status_code == 302
        done = {"done": "已整改", "photos": (jpeg_with_gps(), "after.jpg")}
        assert staff.post_files(f"/cases/{case_id}/rectify", done).status_code == 302
        with app.app_context():
            world.case_photos[key] = db.session.scalar(
                select(StepPhoto.id).join(CaseStep).where(CaseStep.case_id == case_id)
            )


def _progress(app, world: World, clients: dict) -> None:
    """Each county's user records its main site's first milestone with a photo (20 % of a
    康养联合体, 25 % of a 照料中心)."""
    for key in COUNTIES:
        url = f"/progress/sites/{world.sites[key]}"
        first = "20" if city_of(key) == "A" else "25"
        fields = {
            "percent": first,
            "reached_on": "2026-03-01",
            "photos": (jpeg_with_gps(), "a.jpg"),
        }
        reply = clients[COUNTY_USERS[key]].post_files(f"{url}/records", fields)
        assert reply.status_code == 302, reply.get_data(as_text=True)[-3000:]
        with app.app_context():
            found = db.session.scalars(
                select(MilestoneRecord).where(MilestoneRecord.site_id == world.sites[key])
            ).one()
            world.progress_records[key] = found.id
            world.progress_files[key] = found.files[0].id


def _jobs(world: World, clients: dict) -> None:
    """A finished posters job per user who sets projects up (the admin's for city A)."""
    for username in SETUP_USERS:
        url = f"/admin/projects/{world.projects[region_of(username) or 'A']}/posters.pdf"
        world.jobs[username] = [_id_at_end(clients[username].post(url))]


def build(app) -> World:
    """Build the world in ``app``'s (empty) database; returns its ids."""
    app.extensions["clock"] = Clock(MORNING)
    world = World()
    with app.app_context(), write_transaction(db.session):
        _base(world)
    _answers(app, world)
    clients = {name: Staff(app, name) for name in USERS}
    for key in COUNTIES:
        _county_records(app, world, key, clients)
    _city_records(app, world, clients)
    _spares(app, world, clients)
    _site_imports(world, clients)
    _jobs(world, clients)
    _cases(app, world, clients)
    _progress(app, world, clients)
    # An admin's work names the site it was done to; its audit line has no region.
    for key in ("A1", "B1"):
        assert clients["admin"].post(f"/admin/sites/{world.sites[key]}/rotate").status_code == 302
    return world
