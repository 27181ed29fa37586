"""What tests share: settings, builders of sites and users, logging in, reading pages.

Fixtures live in ``tests/conftest.py``; they and the tests take these from here, so no test
module imports another's helpers.
"""

import io
import json
import os
import re
import socket
import tempfile
from collections import Counter
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from survey.accounts.models import User
from survey.accounts.services import Actor, hash_password
from survey.api.tokens import create_token
from survey.db import db, write_transaction
from survey.questionnaires.defaults import DEFAULT_QUESTIONS
from survey.questionnaires.services import create_questionnaire
from survey.regions.models import Region
from survey.responses import answers_store
from survey.responses.models import Response
from survey.responses.rollup_models import ALL_TIME, LEVELS, ResponseRollup
from survey.responses.rollups import local_day
from survey.sites.models import Project, Site
from survey.sites.tokens import issue_token

SECRET = "test-secret-key"
FIELD_KEY = "q2GvW8mW3bJ5kC6b0k2mN7r1s9tX4yZ6aB8cD0eF2gE="
#: The password of every user the tests make, unless a test says otherwise.
PASSWORD = "correct horse battery"
#: A page every logged-in user may open (to read a CSRF token from).
TOKEN_PAGE = "/account/password"
#: Where the tests' background jobs leave their files: one folder per test process.
JOBS_DIR = os.path.join(tempfile.gettempdir(), f"survey-test-jobs-{os.getpid()}")


def app_settings(url: str) -> dict:
    """The app settings of the tests for the database at ``url``."""
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": "http://survey.test",
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        # Tests post many answers from one address at once; tests/responses/test_stuffing.py
        # turns the checks on.
        "STUFFING_CHECKS": False,
        # tests/test_observability.py turns it on: elsewhere its lines would be noise.
        "REQUEST_LOG": False,
        # A job runs inside the request that asks for it (tests/jobs/ run real workers).
        "JOBS_IMMEDIATE": True,
        "JOBS_DIR": JOBS_DIR,
    }


#: Every sequence of the schema back to 1, as TRUNCATE … RESTART IDENTITY would.
_RESTART_SEQUENCES = (
    "SELECT setval(c.oid, 1, false) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


def empty_tables() -> None:
    """Every table emptied, children first. On PostgreSQL plain DELETEs in one round trip:
    TRUNCATE makes new files for every table and took 65–460 ms a test, these 3–14 ms."""
    deletes = [f"DELETE FROM {t.name}" for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("; ".join([*deletes, _RESTART_SEQUENCES]))
        else:
            for delete in deletes:
                conn.execute(text(delete))


class BufferedClient(FlaskClient):
    """A test client that reads every reply whole: a download sent from a temporary file
    and left unread would be closed only by the garbage collector (a ResourceWarning)."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@dataclass
class SiteRef:
    """What tests need of a site, usable outside the app context that made it."""

    id: int
    token: str
    project_id: int
    name: str
    project_name: str


def _first(model, **filters):
    return db.session.scalars(db.select(model).filter_by(**filters)).first()


def site_maker(app):
    """``make_site`` for ``app`` (for fixtures of a wider scope)."""

    def make(name="紫金街道康养联合体", project="2022年建成康养联合体20家", county="莲都区", **kw):
        with app.app_context():
            session = db.session
            with write_transaction(session):
                city = _first(Region, name="丽水市") or Region(name="丽水市", level="city")
                region = _first(Region, name=county)
                if region is None:
                    region = Region(name=county, level="county", parent=city)
                    session.add(region)
                proj = _first(Project, name=project)
                if proj is None:
                    questionnaire = create_questionnaire(session, "问卷", DEFAULT_QUESTIONS)
                    proj = Project(
                        name=project,
                        year=2022,
                        region=city,
                        questionnaire=questionnaire,
                        open_from_start=True,  # answered at once, as every project before 进度
                    )
                site = Site(project=proj, region=region, name=name, **kw)
                session.add(site)
                token = issue_token(session, site).token
            return SiteRef(site.id, token, proj.id, site.name, proj.name)

    return make


def user_maker(app):
    """``make_user`` for ``app`` (for fixtures of a wider scope)."""

    def make(username="admin", role="admin", password=PASSWORD, one_time=False, region=None):
        with app.app_context(), write_transaction(db.session):
            db.session.add(
                User(
                    username=username,
                    role=role,
                    password_hash=hash_password(password),
                    must_change_password=one_time,
                    region=_first(Region, name=region) if region else None,
                )
            )
        return password

    return make


def make_token(app, region: str, name: str = "省民生实事系统", webhook_url: str | None = None):
    """An API token reading ``region`` (a name), made by a new admin as the token page
    does; its secret, or (secret, webhook secret) with ``webhook_url``."""
    with app.app_context(), write_transaction(db.session):
        admin = _first(User, username="token-admin")
        if admin is None:
            admin = User(username="token-admin", role="admin", password_hash="x")
            db.session.add(admin)
        values = {"name": name, "region_id": _first(Region, name=region).id}
        made = create_token(
            db.session,
            Actor(admin, "127.0.0.1"),
            app.extensions["field_cipher"],
            values | {"webhook_url": webhook_url},
        )
    return (made.secret, made.webhook_secret) if webhook_url else made.secret


def log_in(client, username: str, password: str):
    """Log ``client`` in; returns it."""
    token = csrf_of(client.get("/login").data)
    reply = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.data.decode()[:500]
    return client


def same_session_clients(app, client, n: int) -> list:
    """``n`` new test clients carrying ``client``'s session: one user's double clicks."""
    cookie = client.get_cookie("session")
    clients = []
    for _ in range(n):
        twin = app.test_client()
        twin.set_cookie("session", cookie.value)
        clients.append(twin)
    return clients


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_of(page: bytes) -> str:
    """The CSRF token in a rendered staff page."""
    return CSRF.search(page.decode()).group(1)


def login_form(client, username: str, password: str, next_url: str = ""):
    """POST the login form; the reply (a 302 when it worked)."""
    token = csrf_of(client.get("/login").data)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post(f"/login{next_url}", data=data)


def change_password(client, current: str, new: str, confirm: str | None = None):
    """POST the password form of the logged-in user; the reply."""
    token = csrf_of(client.get(TOKEN_PAGE).data)
    data = {"current": current, "new": new, "confirm": confirm or new, "csrf_token": token}
    return client.post(TOKEN_PAGE, data=data)


def first_login(app, runner, username: str, role: str, region: str):
    """Create a user with ``flask create-user`` and log in the first time, setting a new
    password; the logged-in client."""
    result = runner.invoke(args=["create-user", username, "--role", role, "--region", region])
    assert result.exit_code == 0, result.output
    one_time = result.output.split("一次性密码：")[1][:14]
    client = app.test_client()
    token = csrf_of(client.get("/login").data)
    reply = client.post(
        "/login", data={"username": username, "password": one_time, "csrf_token": token}
    )
    assert reply.headers["Location"] == "/account/password"
    token = csrf_of(client.get("/account/password").data)
    new = {"current": one_time, "new": "a new long password", "confirm": "a new long password"}
    reply = client.post("/account/password", data=new | {"csrf_token": token})
    assert reply.status_code == 302 and reply.headers["Location"] == "/checks/"
    return client


def staff_client(app, username: str, password: str = PASSWORD):
    """A new test client logged in as ``username``."""
    return log_in(app.test_client(), username, password)


def post(client, url, data=None, page=TOKEN_PAGE, **kwargs):
    """POST a staff form with the CSRF token taken from ``page``."""
    token = csrf_of(client.get(page).data)
    return client.post(url, data={"csrf_token": token, **(data or {})}, **kwargs)


def job_download(client, url: str):
    """Ask for a background job at ``url`` as its page does (GET, then POST with its CSRF
    token), follow to the job's page and download the file; the download's reply. Jobs run
    inside the request in the tests (JOBS_IMMEDIATE)."""
    started = post(client, url, page=url)
    assert started.status_code == 302, started.get_data(as_text=True)[:500]
    job_page = started.headers["Location"]
    assert "已完成" in client.get(job_page).get_data(as_text=True)
    return client.get(f"{job_page}/download")


def post_files(client, url, fields: dict, page=TOKEN_PAGE):
    """A multipart POST with the CSRF token; ``fields`` maps names to values or to
    ``(bytes, filename)``. Encoded in memory: the test client would spool a large body to a
    temporary file and never close it."""
    token = csrf_of(client.get(page).data)
    values = MultiDict([("csrf_token", token)])
    for name, value in fields.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(io.BytesIO(item[0]), filename=item[1])
            values.add(name, item)
    boundary, body = encode_multipart(values)
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


NONCE = re.compile(r'name="nonce" value="([^"]+)"')


def nonce_of(page: bytes | str) -> str:
    """The nonce hidden in a rendered resident form."""
    text = page.decode() if isinstance(page, bytes) else page
    return NONCE.search(text).group(1)


def open_form(client, token: str) -> str:
    """GET the resident form and return its nonce."""
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    return nonce_of(page.data)


def answer(client, token: str, nonce: str | None = None, **fields):
    """POST the resident form with ``fields`` (``overall=5`` becomes ``q.overall=5``)."""
    nonce = nonce if nonce is not None else open_form(client, token)
    data = {"nonce": nonce}
    for key, value in fields.items():
        data[key if key == "comment" else f"q.{key}"] = value
    return client.post(f"/s/{token}", data=data)


def redis_answers(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """Whether a Redis server listens there (tests that share counts through it skip
    without one)."""
    try:
        socket.create_connection((host, port), timeout=0.5).close()
    except OSError:
        return False
    return True


def _as_text(value) -> str:
    """A stored value as a person would search it: bytes decoded, JSON text parsed (SQLite
    keeps JSON with non-ASCII characters escaped)."""
    if isinstance(value, bytes | memoryview):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, ensure_ascii=False, default=str)


def database_text(app) -> str:
    """Every value of every table in the database as text: to assert that something is
    stored nowhere in the clear."""
    parts = []
    with app.app_context(), db.engine.connect() as conn:
        for table in inspect(conn).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                parts.extend(_as_text(value) for value in row)
    return "\n".join(parts)


def raw_counts(session) -> Counter:
    """What the rollup cells should hold, recounted from the responses (in an app context):
    ``{(grain, site, period start, channel, proxy, level): n}``."""
    counts = Counter()
    rows = session.execute(
        select(
            Response.site_id,
            Response.created_at,
            Response.channel,
            Response.proxy,
            Response.overall,
        ).where(Response.flag.is_(None) | (Response.flag == "restored"))
    )
    for site_id, created_at, channel, proxy, level in rows:
        day = local_day(created_at)
        for grain, start in (("day", day), ("month", day.replace(day=1)), ("all", ALL_TIME)):
            counts[(grain, site_id, start, channel, proxy, level)] += 1
    return counts


def rolled_counts(session) -> Counter:
    """What the rollup cells hold once every answer stored is counted in them (as every
    reader sees them: ``answers_store.rolled_up``), keyed like ``raw_counts``."""
    answers_store.rolled_up(session)
    counts = Counter()
    for r in session.scalars(select(ResponseRollup)):
        for level in LEVELS:
            if n := getattr(r, f"count_{level}"):
                counts[(r.grain, r.site_id, r.day, r.channel, r.proxy, level)] = n
    return counts
