"""Fixtures: an app per test on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set.

The schema is built once per backend by running the migrations (so they are tested too);
each test starts from empty tables. What the fixtures build with is in ``tests/helpers.py``.
"""

import os
import threading

import flask_migrate
import pytest
from argon2 import PasswordHasher
from flask import Flask
from jinja2 import BytecodeCache
from playwright.sync_api import sync_playwright
from sqlalchemy import create_engine, func, text
from sqlalchemy.engine import make_url
from werkzeug.routing.rules import Rule
from werkzeug.serving import make_server

from survey import create_app
from survey.accounts import services as accounts_services
from survey.db import db
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.helpers import BufferedClient, app_settings, empty_tables, log_in, site_maker, user_maker

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])

# Every test builds its own app, and Werkzeug generates and compiles Python code for each of
# its ~140 URL rules on the way: two thirds of create_app's time, a sixth of the whole suite.
# The generated function takes the rule as an argument and closes over nothing (it reads the
# rule's converters when called), so one compiled for the same rule text, parts and defaults
# serves every app of the run. No library does this; production builds its app once.
_compile_builder = Rule._compile_builder
_builders = {}


def _cached_builder(self, append_unknown=True):
    defaults = sorted((name, repr(value)) for name, value in (self.defaults or {}).items())
    key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(self, append_unknown)
    return _builders[key]


Rule._compile_builder = _cached_builder


class _SharedBytecode(BytecodeCache):
    """Jinja's compiled templates, shared by every app of the run: each new app has its own
    environment and would parse and compile every template it renders again (a fifth of a
    staff page test). Jinja keys each entry by the template's name and source checksum."""

    def __init__(self):
        self.codes = {}

    def load_bytecode(self, bucket):
        if (code := self.codes.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.codes[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedBytecode()}

#: The app's password hasher (OWASP's argon2id: 19 MiB, 2 passes; tests/accounts check it).
PRODUCTION_HASHER = accounts_services._hasher
# Tests log in thousands of times: argon2id at its cheapest (the same algorithm and code
# path) instead of 30 ms a hash. Servers the tests start (tests/servers.py) hash as in
# production.
accounts_services._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs two workers) each worker gets a PostgreSQL
    database and a Redis database of its own: ``test_gw0``, ``test_gw1``… beside
    TEST_DATABASE_URL's, and Redis databases counting down from TEST_REDIS_URL's (15). The
    names derived from them (``_e2e``, ``_migrations``) follow."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return
    index = int(worker.removeprefix("gw"))
    redis = make_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    own_redis = redis.set(database=str(int(redis.database or 0) - index))
    os.environ["TEST_REDIS_URL"] = own_redis.render_as_string(hide_password=False)
    if url := os.environ.get("TEST_DATABASE_URL"):
        base = make_url(url)
        own = base.set(database=f"{base.database}_{worker}")
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
        admin.dispose()
        os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)


#: Markers of the slow modules, slowest kind first (see pytest_collection_modifyitems).
SLOW_FIRST = ("bench", "services", "browser")


@pytest.hookimpl(trylast=True)  # after tests/e2e/conftest.py marks its tests `browser`
def pytest_collection_modifyitems(items):
    """Modules that start servers, benchmarks or Chromium run first, so that neither xdist
    worker is left with one of them at the end while the other has nothing to do: with
    ``--dist loadfile`` the workers take whole modules in collection order, and these
    (collected last, as tests/test_*.py sort after the folders) made the last minutes of a
    run one worker's. A module keeps its place among modules of its kind, and its tests their
    order."""
    weight = {}
    for item in items:
        kinds = [SLOW_FIRST.index(m.name) for m in item.iter_markers() if m.name in SLOW_FIRST]
        key = item.nodeid.split("::", 1)[0]
        weight[key] = min([weight.get(key, len(SLOW_FIRST)), *kinds])
    items.sort(key=lambda item: weight[item.nodeid.split("::", 1)[0]])


def _reset_postgresql(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = os.environ["TEST_DATABASE_URL"]
        _reset_postgresql(url)
    app = create_app(app_settings(url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def app(database_url):
    """The app on an empty database."""
    app = create_app(app_settings(database_url))
    app.test_client_class = BufferedClient
    yield app
    with app.app_context():
        db.session.remove()
        empty_tables()
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


@pytest.fixture
def make_site(app):
    """Create a site (with its project, regions and default questionnaire) and return a SiteRef.

    Sites made with the same ``project`` name share one project.
    """
    return site_maker(app)


@pytest.fixture
def count(app):
    """count(Model, **filters): rows in the database now, read in a fresh app context."""

    def count(model, **filters):
        with app.app_context():
            query = db.select(func.count()).select_from(model).filter_by(**filters)
            return db.session.scalar(query)

    return count


@pytest.fixture
def make_user(app):
    """make_user(username, role="admin", password=..., one_time=False, region=None) → the
    password; ``region`` names the user's city or county (made by ``make_site`` first)."""
    return user_maker(app)


@pytest.fixture
def admin(client, make_user):
    """The test client, logged in as an admin."""
    return log_in(client, "admin", make_user())
