"""Real servers for the tests that need them: the app under gunicorn, and PostgreSQL and
Redis servers of a test's own, which it may stop and start (an outage) without touching the
machine's shared ones that the rest of the suite uses at the same time.

Also an HTTP client for the served app with the Flask test client's interface that
``tests/helpers.py`` uses (``get``/``post``, replies with ``status_code``, ``headers`` and
``data``), so the same helpers log in and answer over a real socket.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from tests.helpers import FIELD_KEY, SECRET, change_password, login_form

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
#: What the logs of a request that failed on the server look like (Flask's and gunicorn's).
SERVER_ERROR = re.compile(r"Traceback|Exception on |Error handling request")
#: The one-time passwords ``flask demo-data`` prints, by user name.
DEMO_PASSWORD = re.compile(r" (\w+)(?:（[^）]*）)?，一次性密码：(\S+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(database_url: str, base: str) -> dict:
    """The environment of a served app on ``database_url`` (no Redis unless added)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_APP")}
    return env | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
        "PUBLIC_BASE_URL": base,
        # Calls may be logged whenever the suite runs; the half-day rule still holds.
        "CALLING_HOURS": "00:00-24:00",
        # Every login comes from 127.0.0.1: a module logs in more often than an office does.
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "LOGIN_ADDRESS_RATE_LIMIT": "1000 per minute",
        "PYTHONUNBUFFERED": "1",
    }


def flask_command(env: dict, *args: str) -> str:
    """Run ``flask <args>`` as an operator would; what it printed."""
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_sql(database_url: str, statement: str, **params) -> list:
    """Run one SQL statement on a served app's database, committed; its rows (checks and
    set-up only: the tests' own connection, not the app's)."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else []
    finally:
        engine.dispose()


def answers_health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


class Gunicorn:
    """The app served by gunicorn (2 sync workers) in a subprocess, logging to ``log``."""

    def __init__(self, env: dict, log: Path, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env, self.log = env, log
        self.process = None

    def start(self) -> "Gunicorn":
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "--workers", "2", "--bind", f"127.0.0.1:{self.port}"]
                + ["wsgi:app"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            if answers_health(self.url):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def errors(self) -> list[str]:
        """The server-side failures logged so far."""
        return [line for line in self.log.read_text().splitlines() if SERVER_ERROR.search(line)]


class Worker:
    """``flask jobs worker`` in a subprocess, as ``make run`` and deploy/ start it, logging to
    ``log``; ``kill`` is ``kill -9``."""

    def __init__(self, env: dict, log: Path):
        self.env, self.log = env, log
        self.process = None

    def start(self) -> "Worker":
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [str(BIN / "flask"), "--app", "wsgi", "jobs", "worker"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is cleaned up (a crash, the OOM killer)."""
        self.process.kill()
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the ``postgres`` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


#: Why a test that needs a PostgreSQL server of its own cannot run here, or None.
NO_OWN_POSTGRES = (
    "needs PostgreSQL's initdb (Debian: postgresql) to run a server of the test's own"
    if _postgres_bin() is None
    else None
)
#: Why a test that needs a Redis server of its own cannot run here, or None.
NO_OWN_REDIS = (
    "needs redis-server (Debian: redis-server) to run a server of the test's own"
    if shutil.which("redis-server") is None
    else None
)


class OwnPostgres:
    """A PostgreSQL server of the test's own (trust logins, 127.0.0.1 only): stopping it is
    an outage of the database, nobody else's. Its files are in a folder of its own under
    the system's temporary folder (pytest's are closed to the ``postgres`` user); ``remove``
    deletes them."""

    def __init__(self):
        self.bin = _postgres_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="survey-postgres-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        subprocess.run(
            _as_postgres([str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"])
            + ["-A", "trust", "--no-sync"],
            check=True,
            capture_output=True,
        )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", *args]),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}"
        self._ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        """Stop at once, as a crash or a restart does: open connections are cut."""
        self._ctl("-m", "immediate", "stop")

    def remove(self) -> None:
        """Stop it if it runs, and delete its files."""
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate"])
            + ["stop"],
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


class OwnRedis:
    """A Redis server of the test's own on a free port, keeping nothing on disk."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _answers_on(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def _machine_cluster() -> tuple[str, str] | None:
    """The version and name of the machine's PostgreSQL cluster on port 5432 (Debian's
    ``pg_lsclusters``), or None."""
    if shutil.which("pg_lsclusters") is None:
        return None
    listed = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True)
    for line in listed.stdout.splitlines():
        version, name, port, *_ = line.split()
        if port == "5432":
            return version, name
    return None


#: Why the outage tests cannot stop the machine's own PostgreSQL and Redis here, or None.
NO_MACHINE_SERVICES = (
    "stops the machine's shared PostgreSQL and Redis, which every other test uses: runs alone "
    "after the suite when OUTAGE_MACHINE_SERVICES=1 (.ci/run sets it)"
    if os.environ.get("OUTAGE_MACHINE_SERVICES") != "1"
    else "needs Debian's pg_ctlcluster and a cluster on 5432, and redis-server"
    if _machine_cluster() is None or shutil.which("redis-server") is None
    else None
)


class MachinePostgres:
    """The machine's own PostgreSQL server (Debian's cluster on 5432), stopped and started
    with ``pg_ctlcluster`` as an operator would; the test's data in a database of its own."""

    def __init__(self, database: str = "test_outages"):
        self.version, self.name = _machine_cluster()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        self.database = database
        self._admin(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)', f'CREATE DATABASE "{database}"'
        )

    def _admin(self, *statements: str) -> None:
        engine = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
        )
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
        engine.dispose()

    def _ctl(self, *args: str) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, *args], check=True)

    def start(self) -> None:
        if not _answers_on(5432):
            self._ctl("start")

    def stop(self) -> None:
        """Stop at once (``-m immediate``), as a crash does: open connections are cut."""
        self._ctl("stop", "-m", "immediate")

    def remove(self) -> None:
        """Start it if a failed test left it stopped, and drop the test's database."""
        self.start()
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


class MachineRedis:
    """The machine's own Redis server on 6379 (it keeps nothing on disk), shut down and
    started again with the same settings; the test's keys in database 9."""

    url = "redis://127.0.0.1:6379/9"

    def start(self) -> None:
        if _answers_on(6379):
            return
        subprocess.run(
            ["redis-server", "--port", "6379", "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no", "--daemonize", "yes", "--dir", tempfile.gettempdir()],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _answers_on(6379):
            if time.monotonic() > deadline:
                raise RuntimeError("the machine's redis-server did not start again")
            time.sleep(0.05)

    def stop(self) -> None:
        subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True)
        while _answers_on(6379):
            time.sleep(0.05)


@dataclass
class Reply:
    """What the helpers read of a reply, as the Flask test client gives it."""

    status_code: int
    headers: dict
    data: bytes

    def get_data(self, as_text: bool = False):
        return self.data.decode() if as_text else self.data


class HttpClient:
    """A browser-like client of a served app: keeps cookies, follows no redirect."""

    def __init__(self, base: str):
        self.base = base
        self.session = requests.Session()

    def _reply(self, reply: requests.Response) -> Reply:
        return Reply(reply.status_code, reply.headers, reply.content)

    def get(self, path: str) -> Reply:
        return self._reply(self.session.get(self.base + path, allow_redirects=False, timeout=30))

    def post(self, path: str, data: dict | None = None) -> Reply:
        reply = self.session.post(self.base + path, data=data, allow_redirects=False, timeout=30)
        return self._reply(reply)


class Stack:
    """``instances`` gunicorn servers of the app on one PostgreSQL and one Redis server (of
    the test's own unless ``machine``: the machine's shared ones), set up as a new bureau
    does (``db upgrade``, ``demo-data``)."""

    def __init__(
        self, folder: Path, instances: int = 1, settings: dict | None = None, machine=False
    ):
        self.postgres = MachinePostgres() if machine else OwnPostgres()
        self.redis = MachineRedis() if machine else OwnRedis()
        self.apps: list[Gunicorn] = []
        try:
            self.postgres.start()
            self.redis.start()
            ports = [free_port() for _ in range(instances)]
            env = server_environment(self.postgres.url, f"http://127.0.0.1:{ports[0]}")
            env |= {"REDIS_URL": self.redis.url} | (settings or {})
            self.env = env
            flask_command(env, "db", "upgrade")
            self.passwords = dict(DEMO_PASSWORD.findall(flask_command(env, "demo-data")))
            for number, port in enumerate(ports):
                self.apps.append(Gunicorn(env, folder / f"gunicorn{number}.log", port).start())
        except BaseException:
            self.close()
            raise

    @property
    def app(self) -> Gunicorn:
        return self.apps[0]

    def sql(self, statement: str, **params) -> list:
        """The rows of one statement on the stack's database (checks and set-up only)."""
        return run_sql(self.postgres.url, statement, **params)

    def live_tokens(self, count: int) -> list[str]:
        live = "SELECT token FROM site_tokens WHERE retired_at IS NULL ORDER BY token LIMIT :n"
        return [token for (token,) in self.sql(live, n=count)]

    def answers_with(self, comment: str) -> list:
        """The stored answers with this comment: (flag, flag reasons) each."""
        return self.sql("SELECT flag, flag_reasons FROM responses WHERE comment = :c", c=comment)

    def staff(self, username: str, new_password: str, app: Gunicorn | None = None) -> HttpClient:
        """A client of ``app`` (the first) logged in as ``username``, who has set their own
        password as the first login asks."""
        client = HttpClient((app or self.app).url)
        one_time = self.passwords[username]
        assert login_form(client, username, one_time).status_code == 302
        assert change_password(client, one_time, new_password).status_code == 302
        return client

    def close(self) -> None:
        for app in self.apps:
            app.stop()
        if isinstance(self.redis, MachineRedis):
            self.redis.start()  # never leave the machine's Redis stopped
        else:
            self.redis.stop()
        self.postgres.remove()
