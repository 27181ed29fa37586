"""The region-scoping matrix: every route of the app (``tests/scoping/table.py``) tried by an
admin, a province-level city user, a city user of each city, a county user of a county in
each city, and an anonymous visitor, against the records of two counties in each of two
cities.

A user's own records open (no 401, 403, 404 or 5xx); anybody else's are 403 or 404 (a
POST changes nothing in the database); and no reply, own or refused, names a site, site
code, project, county, user or roster entry outside the user's regions. A route missing
from the table fails ``test_every_route_is_in_the_table``.
"""

import hashlib
import io
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from qr import poster
from survey import create_app
from survey.db import db
from survey.sites.models import Project, Site, SiteToken
from survey.stats import reports
from tests.helpers import BufferedClient, app_settings, empty_tables
from tests.scoping.table import ROUTES, Probe, Route
from tests.scoping.world import CITIES, COUNTIES, PROVINCE, USERS, Staff, World, build, city_of

#: The users the matrix logs in as (the county users of A2 and B2 only make records).
TRIED = ("admin", "zhejiang", "lishui", "wenzhou", "liandu", "lucheng", "anonymous")
REGION_KEYS = (*CITIES, *COUNTIES)


class Matrix:
    """The app, its world, and a logged-in client per user (made when first needed)."""

    def __init__(self, app, world: World):
        self.app, self.world = app, world
        self._staff: dict[str, Staff] = {}

    def staff(self, username: str) -> Staff:
        if username not in self._staff:
            self._staff[username] = Staff(self.app, username)
        return self._staff[username]

    def markers(self) -> dict[str, set[str]]:
        """What names each region in a reply: a county's site names and site codes (every
        token, retired ones too), its roster's names and numbers; a city's name, project
        names and county names; each region's user names."""
        found: dict[str, set[str]] = {key: set() for key in REGION_KEYS}
        for key, people in self.world.people.items():
            found[key].update(people)
        for username, (_role, key) in USERS.items():
            if key in found:
                found[key].add(username)
        with self.app.app_context():
            session = db.session
            keys = {region_id: key for key, region_id in self.world.regions.items()}
            for site in session.scalars(select(Site)):
                found[keys[site.region_id]].add(site.name)
            rows = session.execute(select(SiteToken.token, Site.region_id).join(Site))
            for token, region_id in rows:
                found[keys[region_id]].add(token)
            for project in session.scalars(select(Project)):
                found[keys[project.region_id]].add(project.name)
            db.session.remove()
        for key, name in CITIES.items():
            found[key] |= {name} | {n for k, n in COUNTIES.items() if city_of(k) == key}
        return found

    def fingerprint(self) -> dict[str, str]:
        """A digest of every table's rows, by table name."""
        digests = {}
        with self.app.app_context():
            for table in db.metadata.sorted_tables:
                rows = sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
                digests[table.name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
            db.session.remove()
        return digests


def _as_text(content) -> bytes:
    return repr(content).encode()


def _drawn_as_text(monkeypatch) -> None:
    """Posters and report PDFs written as the text of what they show: drawing them takes a
    second each (tests/qr and tests/stats test the drawing), and text is what the matrix
    searches for names outside the reader's regions."""
    monkeypatch.setattr(poster, "pdf_bytes", lambda content, size="A5": _as_text(content))
    monkeypatch.setattr(
        poster, "write_pdf", lambda contents, out, size="A5": out.write(_as_text(contents))
    )
    monkeypatch.setattr(reports, "pdf_bytes", _as_text)


@pytest.fixture(scope="module")
def matrix(database_url):
    """One world per backend for the whole module (building it takes seconds)."""
    app = create_app(app_settings(database_url))
    app.test_client_class = BufferedClient
    with pytest.MonkeyPatch.context() as monkeypatch:
        _drawn_as_text(monkeypatch)
        yield Matrix(app, build(app))
    with app.app_context():
        db.session.remove()
        empty_tables()
        db.engine.dispose()


def _role(username: str) -> str | None:
    return USERS[username][0] if username != "anonymous" else None


def sees(username: str, owner: str, route: Route) -> bool:
    """Whether ``username`` may open ``owner``'s records on ``route`` (their role allowed)."""
    role = _role(username)
    if route.kind == "admin_only":
        return role == "admin"
    if role not in route.roles:
        return False
    if owner in USERS:  # a staged upload is its uploader's alone, even to admins
        return owner == username
    if role == "admin" or owner == "":
        return True
    region = USERS[username][1]
    if role == "city":
        return region == PROVINCE or city_of(owner) == region
    return owner == region or (route.county_sees_city and owner == city_of(region))


def outside(username: str) -> tuple[str, ...]:
    """The region keys whose names ``username`` must never be shown."""
    role = _role(username)
    if role is None:
        return REGION_KEYS
    region = USERS[username][1]
    if role == "admin" or region == PROVINCE:
        return ()
    if role == "city":
        return tuple(k for k in REGION_KEYS if city_of(k) != region)
    return tuple(k for k in REGION_KEYS if k != region and k != city_of(region))


def _text(reply) -> str:
    """Everything a reply shows: its body (a workbook's cells read out), where it redirects
    and the name of the file it downloads."""
    body = reply.get_data()
    parts = [body.decode(errors="replace")]
    if "spreadsheetml" in reply.content_type:
        book = load_workbook(io.BytesIO(body), read_only=True)
        parts += [
            str(v) for sheet in book for row in sheet.iter_rows(values_only=True) for v in row
        ]
        book.close()
    for header in ("Location", "Content-Disposition"):
        parts.append(unquote(reply.headers.get(header, "")))
    return "\n".join(parts)


def _send(staff: Staff, probe: Probe):
    if probe.method == "GET":
        return staff.get(probe.url)
    return staff.post(probe.url, probe.data)


def _refused(reply, username: str) -> bool:
    if username == "anonymous":
        login = reply.status_code == 302 and "/login" in reply.headers.get("Location", "")
        return login or reply.status_code in (401, 403, 404)
    return reply.status_code in (403, 404)


def _opened(reply) -> bool:
    if reply.status_code >= 500 or reply.status_code in (401, 403, 404):
        return False
    return not (reply.status_code == 302 and "/login" in reply.headers.get("Location", ""))


def _cases():
    for endpoint, route in ROUTES.items():
        if route.kind == "public":
            continue
        for username in TRIED:
            yield pytest.param(endpoint, username, id=f"{endpoint}-{username}")


@pytest.mark.parametrize(("endpoint", "username"), list(_cases()))
def test_a_route_keeps_to_the_users_regions(matrix, endpoint, username):
    route = ROUTES[endpoint]
    world = matrix.world
    staff = matrix.staff(username)
    own_posts = route.own(world, username) if route.own and sees(username, "", route) else None
    mine, others = [], []
    for probe in route.probes(world):
        if not sees(username, probe.owner, route):
            others.append(probe)
        elif not (own_posts is not None and probe.method == "POST"):
            mine.append(probe)
    mine += own_posts or []
    markers = matrix.markers()
    forbidden = {name for key in outside(username) for name in markers[key]}
    problems = []

    def check(probe, reply, expected_open):
        shown = _text(reply)
        if expected_open and not _opened(reply):
            problems.append(f"{probe.method} {probe.url}: {reply.status_code}, expected it open")
        if not expected_open and not _refused(reply, username):
            problems.append(f"{probe.method} {probe.url}: {reply.status_code}, expected 403/404")
        leaked = sorted(name for name in forbidden if name in shown)
        if leaked:
            problems.append(f"{probe.method} {probe.url}: shows {leaked}")

    posts = [probe for probe in others if probe.method == "POST"]
    before = matrix.fingerprint() if posts else None
    for probe in others:
        check(probe, _send(staff, probe), expected_open=False)
    if posts:
        after = matrix.fingerprint()
        changed = sorted(name for name in before if before[name] != after[name])
        if changed:
            problems.append(f"refused POSTs changed the tables {changed}")
    for probe in mine:
        check(probe, _send(staff, probe), expected_open=True)
    assert not problems, "\n".join(problems)


def test_every_route_is_in_the_table(matrix):
    """A new route fails here until tests/scoping/table.py says how to scope it."""
    endpoints = {rule.endpoint for rule in matrix.app.url_map.iter_rules()}
    missing = sorted(endpoints - ROUTES.keys())
    assert not missing, (
        f"routes without a line in ROUTES of tests/scoping/table.py: {missing}. Add each with "
        "public(why), logged_in(...), admin_only(...), lists(...) or scoped(...) and probes "
        "of a record in every region (see that module's docstring)."
    )
    stale = sorted(ROUTES.keys() - endpoints)
    assert not stale, f"tests/scoping/table.py names routes that are gone: {stale}"


def test_every_route_in_the_table_is_tried(matrix):
    """An entry without probes would pass without trying anything."""
    untried = [
        endpoint
        for endpoint, route in ROUTES.items()
        if route.kind != "public" and not route.why and not route.probes(matrix.world)
    ]
    assert not untried


def test_a_scoped_route_is_tried_in_every_region(matrix):
    """A scoped route's probes reach every city (and, for records of a county, every county)."""
    for endpoint, route in ROUTES.items():
        if route.kind != "scoped":
            continue
        owners = {probe.owner for probe in route.probes(matrix.world)}
        if owners & USERS.keys():
            continue  # staged uploads: by user, tried above
        assert {city_of(owner) for owner in owners} == set(CITIES), endpoint


def test_a_city_notice_is_not_read_on_another_citys_calls(matrix):
    text = "温州市电话抽查告知语：您好，这里是温州市民政局。"
    reply = matrix.staff("wenzhou").post("/checks/notice", {"body": text})
    assert reply.status_code == 302
    call = matrix.staff("liandu").get(f"/checks/tasks/{matrix.world.tasks['A1']}")
    assert call.status_code == 200
    assert text not in call.get_data(as_text=True)
