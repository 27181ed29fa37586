"""End-to-end: staff and residents in Debian's Chromium against the app served by gunicorn.

The Flask test client is neither a browser nor a server: it posts only the fields a test
names and never encodes headers the way gunicorn must. So each module here gets its own
database (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), set up as a new bureau does
(``flask db upgrade`` and ``flask demo-data``, whose one-time passwords the tests read), and
its own gunicorn in a subprocess; one Chromium serves the whole session. The two commands run
once per backend, into a template each module's database is copied from. A server error
logged by gunicorn fails the test that caused it.
"""

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.browser import CHROMIUM
from tests.servers import (
    DEMO_PASSWORD,
    SERVER_ERROR,
    Gunicorn,
    Worker,
    flask_command,
    free_port,
    run_sql,
    server_environment,
)

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
#: The password every demo user sets at the forced change after the first login.
NEW_PASSWORD = "e2e-Passwort-2026"

NO_CHROMIUM = pytest.mark.skip(
    reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
)


def pytest_collection_modifyitems(items):
    """Every test in this folder drives Chromium (a conftest's ``pytestmark`` marks nothing)."""
    here = Path(__file__).parent
    missing = not (os.path.exists(CHROMIUM) or shutil.which("chromium"))
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(NO_CHROMIUM)


@dataclass
class Server:
    """The app served by gunicorn, with its database and the demo staff's passwords."""

    url: str
    database_url: str
    log: Path
    passwords: dict[str, str]
    changed: set = field(default_factory=set)

    def sql(self, statement: str, **params) -> list:
        """Run one SQL statement on the server's database (checks and set-up only)."""
        return run_sql(self.database_url, statement, **params)

    def errors(self) -> list[str]:
        """The server-side failures logged so far."""
        return [line for line in self.log.read_text().splitlines() if SERVER_ERROR.search(line)]


@dataclass
class Template:
    """A database set up as a new bureau does, which each module's database is copied from,
    with the one-time passwords ``flask demo-data`` printed for it."""

    backend: str
    database_url: str
    passwords: dict[str, str]

    def copy(self, tmp: Path) -> str:
        """A new database with the template's content; its URL."""
        if self.backend == "sqlite":
            source = Path(make_url(self.database_url).database)
            target = tmp / "e2e.db"
            # With the write-ahead log, if the last command left one (nobody has it open).
            for suffix in ("", "-wal"):
                if Path(f"{source}{suffix}").exists():
                    shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
            return f"sqlite:///{target}"
        url = make_url(self.database_url)
        name = url.database.removesuffix("_template")
        _run_sql(
            url,
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}" TEMPLATE "{url.database}"',
        )
        return url.set(database=name).render_as_string(hide_password=False)


def _run_sql(url, *statements: str) -> None:
    """Run statements outside a transaction (CREATE DATABASE) on the server of ``url``."""
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for statement in statements:
            conn.execute(text(statement))
    admin.dispose()


def _empty_database(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'template.db'}"
    # A database of its own beside the unit tests' one, so neither empties the other's tables.
    url = make_url(os.environ["TEST_DATABASE_URL"])
    name = f"{url.database}_e2e_template"
    _run_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    """template(backend) → the Template of that backend, made at its first use."""
    made = {}

    def template(backend: str) -> Template:
        if backend not in made:
            database_url = _empty_database(backend, tmp_path_factory.mktemp("template"))
            env = server_environment(database_url, "http://127.0.0.1:5000")
            flask_command(env, "db", "upgrade")
            passwords = dict(DEMO_PASSWORD.findall(flask_command(env, "demo-data")))
            made[backend] = Template(backend, database_url, passwords)
        return made[backend]

    return template


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory, templates):
    """A copy of the migrated database with the demo data, served by gunicorn (2 workers), and
    a background-job worker as ``make run`` starts (its queue file and files in the module's
    folder); a module's ``SERVER_ENVIRONMENT`` dict adds to or overrides their environment."""
    tmp = tmp_path_factory.mktemp("e2e")
    template = templates(request.param)
    database_url = template.copy(tmp)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = server_environment(database_url, url)
    env |= {"JOBS_DIR": str(tmp / "jobs"), "JOBS_QUEUE_FILE": str(tmp / "jobs-queue.db")}
    env |= getattr(request.module, "SERVER_ENVIRONMENT", {})
    gunicorn = Gunicorn(env, tmp / "gunicorn.log", port)
    worker = Worker(env, tmp / "gunicorn.log")
    try:
        gunicorn.start()
        worker.start()
        yield Server(url, database_url, gunicorn.log, dict(template.passwords))
    finally:
        worker.stop()
        gunicorn.stop()


@pytest.fixture(autouse=True)
def no_server_errors(request):
    """Fail a test during which the server logged a failed request."""
    if "server" not in request.fixturenames:
        yield
        return
    server = request.getfixturevalue("server")
    before = len(server.errors())
    yield
    new = server.errors()[before:]
    assert not new, "the server logged errors:\n" + "\n".join(new)


@pytest.fixture
def browse(chromium):
    """browse(**context options) → a new page in a fresh context (its own cookies); a desk
    computer's window unless told otherwise. Every context is closed after the test."""
    contexts = []

    def open_page(**options):
        settings = {"viewport": {"width": 1280, "height": 900}, "locale": "zh-CN"}
        context = chromium.new_context(accept_downloads=True, **(settings | options))
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def log_in(page, server: Server, username: str) -> None:
    """Log in as a demo user, setting their own password at the first login as they must."""
    page.goto(f"{server.url}/login")
    page.fill("#username", username)
    changed = username in server.changed
    page.fill("#password", NEW_PASSWORD if changed else server.passwords[username])
    # Each click waits for the page it leads to (a load state alone may be the old page's).
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    if not changed:
        assert "您用的是一次性密码" in page.locator("main").inner_text()
        page.fill("#current", server.passwords[username])
        page.fill("#new", NEW_PASSWORD)
        page.fill("#confirm", NEW_PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="保存新密码").click()
        server.changed.add(username)
    assert "/login" not in page.url and "/account/password" not in page.url, page.url


@pytest.fixture
def staff(browse, server):
    """staff(username) → a page logged in as that demo user (admin, zhejiang, lishui, liandu)."""

    def open_as(username: str):
        page = browse()
        log_in(page, server, username)
        return page

    return open_as


def download(page, click) -> tuple[str, bytes]:
    """Click what starts a download; (the file name the browser saves it as, its bytes)."""
    with page.expect_download() as started:
        click()
    done = started.value
    assert done.failure() is None, done.failure()
    return done.suggested_filename, Path(done.path()).read_bytes()
