"""Fixtures: an app per test on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.

The schema is built once per backend by running the migrations (so they are tested too);
each test starts from empty tables.
"""

import json
import os
import re
import threading
from dataclasses import dataclass

import flask_migrate
import pytest
from flask.testing import FlaskClient
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, inspect, text
from werkzeug.serving import make_server

from survey import create_app
from survey.accounts.models import User
from survey.accounts.services import hash_password
from survey.db import db, write_transaction
from survey.responses.defaults import DEFAULT_QUESTIONS
from survey.responses.services import create_questionnaire
from survey.sites.models import Project, Region, Site
from survey.sites.services import issue_token
from tests.browser import CHROMIUM, CHROMIUM_ARGS

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
SECRET = "test-secret-key"
FIELD_KEY = "q2GvW8mW3bJ5kC6b0k2mN7r1s9tX4yZ6aB8cD0eF2gE="


def _reset_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _settings(url: str) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": "http://survey.test",
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        # Tests post many answers from one address at once; tests/responses/test_stuffing.py
        # turns the checks on.
        "STUFFING_CHECKS": False,
    }


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        _reset_postgresql(url)
    app = create_app(_settings(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))


class BufferedClient(FlaskClient):
    """A test client that reads every reply whole: a download sent from a temporary file
    and left unread would be closed only by the garbage collector (a ResourceWarning)."""

    def open(self, *args, buffered=True, **kwargs):
        return super().open(*args, buffered=buffered, **kwargs)


@pytest.fixture
def app(database_url):
    """The app on an empty database."""
    app = create_app(_settings(database_url))
    app.test_client_class = BufferedClient
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 by a threaded server; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """One headless Chromium for every browser test of the session (tests/browser.py)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


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


@pytest.fixture
def make_site(app):
    """Create a site (with its project, regions and default questionnaire) and return a SiteRef.

    Sites made with the same ``project`` name share one project.
    """
    return site_maker(app)


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
                        name=project, year=2022, region=city, questionnaire=questionnaire
                    )
                site = Site(project=proj, region=region, name=name, **kw)
                session.add(site)
                token = issue_token(session, site).token
            return SiteRef(site.id, token, proj.id, site.name, proj.name)

    return make


@pytest.fixture
def count(app):
    """count(Model, **filters): rows in the database now, read in a fresh app context."""

    def count(model, **filters):
        with app.app_context():
            query = db.select(func.count()).select_from(model).filter_by(**filters)
            return db.session.scalar(query)

    return count


CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def csrf_of(page: bytes) -> str:
    """The CSRF token in a rendered staff page."""
    return CSRF.search(page.decode()).group(1)


@pytest.fixture
def make_user(app):
    """make_user(username, role="admin", password=..., one_time=False, region=None) → the
    password; ``region`` names the user's city or county (made by ``make_site`` first)."""
    return user_maker(app)


def user_maker(app):
    """``make_user`` for ``app`` (for fixtures of a wider scope)."""

    def make(
        username="admin",
        role="admin",
        password="correct horse battery",
        one_time=False,
        region=None,
    ):
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


@pytest.fixture
def admin(client, make_user):
    """The test client, logged in as an admin."""
    return log_in(client, "admin", make_user())


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
