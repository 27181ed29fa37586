"""Resident submission benchmark: the app under gunicorn against raw-WSGI baselines.

Run from the repository root::

    .venv/bin/python bench/submit.py              # 10 s per scenario, 32 connections
    .venv/bin/python bench/submit.py --smoke      # 2 s, 4 connections (CI)
    .venv/bin/python bench/submit.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

In one invocation, with one temporary directory and the same gunicorn settings (2 sync
workers on 127.0.0.1) and the same wrk settings for every scenario, it measures:

* ``form GET``: ``GET /s/<token>`` of the app, over every demo site;
* ``raw static GET``: a plain WSGI function returning a static HTML page as large as the
  app's form page (its size is read from the app before the baseline starts);
* ``submission POST``: ``POST /s/<token>`` of the app, each with its own signed nonce
  and device cookie (a phone of its own: the answers are counted, not flagged as stuffing);
* ``raw insert POST``: a plain WSGI function that parses the same bodies and inserts one
  row with ``sqlite3`` under the app's durability settings (WAL, ``synchronous=FULL``,
  busy timeout, ``BEGIN IMMEDIATE`` ... ``COMMIT``), answering 303; on PostgreSQL
  (``--database-url``, a database whose name says ``bench``: it is wiped first, and the
  app is served on it) with ``psycopg``, one transaction per row, into a table of the
  same database.

It prints requests/s, p50/p99 and errors per scenario, the app/baseline ratios against their
targets (the form GET; a resident's cycle, one GET and one POST, as issue 16 measures it: the
two rates combined as ``1 / (1/GET + 1/POST)`` for the app and for the baselines), and checks
that the rows stored equal the submissions acknowledged with a 303.
Exits non-zero on any error or a row-count mismatch. Results: docs/PERFORMANCE.md.

The two baseline WSGI apps live in this module (``static_app``, ``insert_app``) and are served
by gunicorn as ``bench.submit:static_app`` and ``bench.submit:insert_app``.
"""

import argparse
import contextlib
import functools
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from sqlalchemy import create_engine, make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
WRK = "/usr/bin/wrk"
GUNICORN_WORKERS = 2
#: Seconds after the measuring window during which wrk sends nothing new, so that every
#: request sent inside the window is answered before wrk exits.
DRAIN_SECONDS = 3
#: Seconds between starting wrk and the common start of its threads (file loading happens
#: in between, one thread after the other).
LEAD_SECONDS = 0.5
WRK_TIMEOUT = "5s"
SECRET_KEY = "bench-submit-secret-key-not-for-production-use-0123456789abcdef"
#: A Fernet key, as PostgreSQL deployments must set one (nothing here is encrypted).
FIELD_KEY = "q2GvW8mW3bJ5kC6b0k2mN7r1s9tX4yZ6aB8cD0eF2gE="
#: The baseline page's size: the driver sets it to the form page's (5 KB when run alone).
STATIC_PAGE_BYTES = int(os.environ.get("BENCH_STATIC_BYTES", 5 * 1024))
#: Targets (issue 16; they were 0.5× and 0.4×): app throughput as a share of its baseline,
#: for the form GET and for a resident's whole cycle, one GET and one POST.
GET_TARGET = 0.6
CYCLE_TARGET = 0.5
SCORES = [5, 4, 5, 3, 4, 5, 2, 4, 5, 1]
COMMENTS = ["服务很好，谢谢工作人员", "饭菜可以再软一点", "活动室希望晚上也开放"]

# --------------------------------------------------------------------------------------------
# Baseline WSGI apps (imported by the gunicorn workers; keep this part free of app imports).
# --------------------------------------------------------------------------------------------


def _static_page(size: int) -> bytes:
    """A plain HTML page of exactly ``size`` bytes, about as much markup as the form."""
    head = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>满意度评价</title></head><body><main><h1>居家养老服务照料中心</h1>"
    )
    tail = "</main></body></html>\n"
    item = (
        '<p class="q">总的来说，您对这里的服务满意吗？<label><input type="radio">满意</label></p>'
    )
    body = head
    while len((body + item + tail).encode()) <= size:
        body += item
    page = (body + tail).encode()
    return page.replace(b"</main>", b" " * (size - len(page)) + b"</main>", 1)


STATIC_PAGE = _static_page(STATIC_PAGE_BYTES)


def static_app(environ, start_response):
    """Raw WSGI baseline for the form GET: the same static page for every request."""
    start_response(
        "200 OK",
        [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(STATIC_PAGE))),
            ("Cache-Control", "no-store"),
        ],
    )
    return [STATIC_PAGE]


@functools.cache
def _insert_connection() -> sqlite3.Connection:
    """This worker's connection to the baseline database, with the app's durability settings."""
    conn = sqlite3.connect(os.environ["BENCH_INSERT_DB"], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA busy_timeout={int(os.environ.get('BENCH_BUSY_TIMEOUT_MS', '10000'))}")
    return conn


_thread_local = threading.local()


def _postgresql_connection():
    """This worker thread's connection to the PostgreSQL baseline (``BENCH_INSERT_URL``):
    one per thread, as gthread workers (bench/load.py) serve several requests at once."""
    import psycopg  # only the PostgreSQL baseline needs it

    if getattr(_thread_local, "postgresql", None) is None:
        _thread_local.postgresql = psycopg.connect(os.environ["BENCH_INSERT_URL"])
    return _thread_local.postgresql


def _insert(row: tuple) -> None:
    """Store one baseline row (nonce, overall, comment, created_at) in its own transaction."""
    if "BENCH_INSERT_URL" in os.environ:
        conn = _postgresql_connection()
        with conn.transaction():
            conn.execute(
                "INSERT INTO bench_submissions (nonce, overall, comment, created_at)"
                " VALUES (%s, %s, %s, %s)",
                row,
            )
        return
    conn = _insert_connection()
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT INTO bench_submissions (nonce, overall, comment, created_at)"
            " VALUES (?, ?, ?, ?)",
            row,
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def insert_app(environ, start_response):
    """Raw WSGI baseline for the submission POST: parse the form, insert one row, answer 303."""
    if environ["REQUEST_METHOD"] != "POST":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]
    length = int(environ.get("CONTENT_LENGTH") or 0)
    form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8"))
    nonce = form.get("nonce", [""])[0]
    overall = form.get("q.overall", [""])[0]
    if not nonce or overall not in ("1", "2", "3", "4", "5"):
        start_response("400 Bad Request", [("Content-Type", "text/plain"), ("Content-Length", "0")])
        return [b""]
    _insert((nonce, int(overall), form.get("comment", [""])[0], datetime.now(UTC).isoformat()))
    start_response(
        "303 See Other",
        [("Location", "/thanks"), ("Content-Type", "text/plain"), ("Content-Length", "0")],
    )
    return [b""]


def create_insert_table(url: str) -> None:
    """Create the baseline's one table, nonce unique like the app's form_nonces."""
    engine = create_engine(url, poolclass=NullPool)
    key = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        conn.exec_driver_sql(
            f"CREATE TABLE bench_submissions (id {key}, nonce TEXT NOT NULL UNIQUE,"
            " overall INTEGER NOT NULL, comment TEXT NOT NULL, created_at TEXT NOT NULL)"
        )
    engine.dispose()


# --------------------------------------------------------------------------------------------
# wrk driver script
# --------------------------------------------------------------------------------------------

#: One request per line of a file. GET lines are paths (cycled); POST lines are
#: "path<TAB>body" and each is sent at most once (thread i takes lines i, i+n, i+2n, ...).
#: All threads start at one CLOCK_MONOTONIC instant and share one deadline; after it nothing
#: new is sent (delay() parks the connection) so that every request sent in the window is
#: answered before wrk exits. With one thread this is exact: a sync gunicorn worker that picks
#: up a parked (silent) connection blocks on it, but parked connections always queue behind the
#: in-flight ones because one event loop sees connections in the order they were established.
LUA_SCRIPT = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec_t;
int clock_gettime(int clk_id, bench_timespec_t *tp);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec_t")
local function now()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

local PARK_MS = 3600000
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local mode, start_at, deadline, expect
local paths, bodies, cookies = {}, {}, {}
local pos, reserved = 0, 0
local armed, running = false, false
local headers = {}
sent, ok, bad, in_window, exhausted, late_ms, bad_status = 0, 0, 0, 0, 0, 0, "-"
-- "cycle": a resident opens the form (GET) and answers it (POST), think time 0; both count
posted, next_get = 0, true

function init(args)
  mode = args[1]
  start_at = tonumber(args[3])
  deadline = start_at + tonumber(args[4])
  local nthreads = tonumber(args[5])
  expect = tonumber(args[6])
  local i = 0
  for line in io.lines(args[2]) do
    if i % nthreads == tid then
      local tab = string.find(line, "\t", 1, true)
      if tab then
        local second = string.find(line, "\t", tab + 1, true)
        paths[#paths + 1] = string.sub(line, 1, tab - 1)
        bodies[#bodies + 1] = string.sub(line, tab + 1, second - 1)
        cookies[#cookies + 1] = string.sub(line, second + 1)
      else
        paths[#paths + 1] = line
      end
    end
    i = i + 1
  end
  if mode ~= "get" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
end

function delay()
  local t = now()
  armed = true
  if t >= deadline then
    return PARK_MS
  end
  if mode ~= "get" then
    -- in a cycle every other request is a GET: two requests per nonce
    if reserved >= (mode == "cycle" and 2 or 1) * #paths then
      exhausted = 1
      return PARK_MS
    end
    reserved = reserved + 1
  end
  if t < start_at then
    return math.ceil((start_at - t) * 1000)
  end
  return 0
end

local function build(i)
  if mode ~= "get" then
    headers["Cookie"] = cookies[i]
    return wrk.format("POST", paths[i], headers, bodies[i])
  end
  return wrk.format("GET", paths[i])
end

function request()
  if not armed then
    -- wrk's dry run that checks the script (before any delay()): never sent, uses nothing
    return build(1)
  end
  if not running then
    running = true
    late_ms = math.max(0, (now() - start_at) * 1000)
  end
  sent = sent + 1
  if mode == "cycle" and next_get then
    next_get = false
    return wrk.format("GET", paths[math.min(pos + 1, #paths)])
  end
  next_get = true
  if mode ~= "get" then
    pos = pos + 1
    if pos > #paths then
      exhausted = 1
      return wrk.format("GET", "/bench-nonce-pool-exhausted")
    end
    return build(pos)
  end
  pos = pos % #paths + 1
  return build(pos)
end

function response(status, hdrs, body)
  if status == 303 then
    posted = posted + 1
  end
  if mode == "cycle" and (status == 200 or status == 303) then
    status = expect  -- the form, or the answer to it
  end
  if status == expect then
    ok = ok + 1
    if now() <= deadline then
      in_window = in_window + 1
    end
  else
    bad = bad + 1
    bad_status = tostring(status)
  end
end

function done(summary, latency, requests)
  local total = {sent = 0, ok = 0, bad = 0, in_window = 0, exhausted = 0, posted = 0}
  local status, late = "-", 0
  for _, thread in ipairs(threads) do
    for key, value in pairs(total) do
      total[key] = value + thread:get(key)
    end
    if thread:get("bad_status") ~= "-" then
      status = thread:get("bad_status")
    end
    late = math.max(late, thread:get("late_ms"))
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH sent=%d ok=%d bad=%d in_window=%d exhausted=%d posted=%d bad_status=%s late_ms=%d"
      .. " completed=%d connect=%d read=%d write=%d timeout=%d http_errors=%d"
      .. " p50_us=%d p99_us=%d mean_us=%d max_us=%d\n",
    total.sent, total.ok, total.bad, total.in_window, total.exhausted, total.posted, status, late,
    summary.requests, e.connect, e.read, e.write, e.timeout, e.status,
    math.floor(latency:percentile(50)), math.floor(latency:percentile(99)),
    math.floor(latency.mean), math.floor(latency.max)))
end
"""

# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


class BenchError(Exception):
    """The benchmark could not run (a server did not start, wrk failed, ...)."""


@dataclass
class Result:
    """What one wrk run measured."""

    name: str
    window: float
    stats: dict

    @property
    def rps(self) -> float:
        """Requests answered as expected inside the window, per second."""
        return self.stats["in_window"] / self.window

    @property
    def socket_errors(self) -> int:
        """Connect, read, write and timeout errors reported by wrk."""
        return sum(self.stats[k] for k in ("connect", "read", "write", "timeout"))

    @property
    def unanswered(self) -> int:
        """Requests sent that got no response before wrk stopped."""
        return self.stats["sent"] - self.stats["ok"] - self.stats["bad"]

    @property
    def errors(self) -> int:
        """Everything that is not the expected answer, plus an exhausted nonce pool."""
        return (
            self.stats["bad"]
            + self.socket_errors
            + max(self.unanswered, 0)
            + self.stats["exhausted"]
        )


class Server:
    """A gunicorn serving one WSGI app on 127.0.0.1 at a free port, in its own session."""

    def __init__(
        self, name: str, app: str, env: dict, tmp: Path, probe: str, workers: list | None = None
    ):
        """Remember how to start it; ``probe`` is the path polled until it answers;
        ``workers``: gunicorn's worker options (default: GUNICORN_WORKERS sync workers)."""
        self.name, self.app, self.env, self.tmp, self.probe = name, app, env, tmp, probe
        self.workers = workers or ["--workers", str(GUNICORN_WORKERS), "--worker-class", "sync"]
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = tmp / f"gunicorn-{name}.log"

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, gunicorn: str) -> None:
        """Start gunicorn and wait until it answers; retry on a port taken meanwhile."""
        for _ in range(3):
            self.port = free_port()
            cmd = [
                gunicorn,
                *self.workers,
                "--bind", f"127.0.0.1:{self.port}",
                "--chdir", str(ROOT),
                "--worker-tmp-dir", str(self.tmp),
                "--no-control-socket",
                "--graceful-timeout", "5",
                "--log-level", "warning",
                self.app,
            ]  # fmt: skip
            with open(self.log, "ab") as log:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready(30):
                return
            self.stop()
        raise BenchError(f"gunicorn for {self.name} did not start; log:\n{tail(self.log)}")

    def _wait_ready(self, seconds: float) -> bool:
        """Poll the probe path until it answers; False if gunicorn exits or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(self.base + self.probe, timeout=2) as reply:
                    reply.read()
                return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                time.sleep(0.1)
        return False

    def stop(self) -> None:
        """Stop gunicorn (SIGTERM to the master, SIGKILL to its session if it lingers)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def server_environment(database_url: str, **extra: str) -> dict:
    """The environment of the app and of the raw baselines: the app on ``database_url``;
    on PostgreSQL the raw insert goes to the same database (``BENCH_INSERT_URL``)."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
        extra = {"BENCH_INSERT_URL": libpq} | extra
    return dict(
        os.environ,
        DATABASE_URL=database_url,
        SECRET_KEY=SECRET_KEY,
        FIELD_ENCRYPTION_KEY=FIELD_KEY,
        PUBLIC_BASE_URL="http://127.0.0.1:5000",
        PYTHONDONTWRITEBYTECODE="1",
        # Every phone here shares 127.0.0.1; the stuffing checks run, but their burst limit
        # is lifted so that the answers take the common path: counted in the rollups.
        STUFFING_BURST="1000000000",
        **extra,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def find_gunicorn() -> str:
    """The gunicorn next to this Python, else the project's venv one, else the one on PATH."""
    for candidate in (Path(sys.executable).parent / "gunicorn", ROOT / ".venv/bin/gunicorn"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("gunicorn")
    if not found:
        raise BenchError("gunicorn not found; install requirements.txt into .venv")
    return found


def flask_cli(env: dict, *args: str) -> None:
    """Run ``flask --app wsgi <args>`` against the benchmark database."""
    flask = Path(sys.executable).parent / "flask"
    cmd = [str(flask) if flask.exists() else "flask", "--app", "wsgi", *args]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def site_targets(database_url: str) -> list[tuple[str, int, list]]:
    """(token, current questionnaire version id, questions) of every live demo site."""
    from survey import create_app
    from survey.db import db
    from survey.sites.tokens import list_sites

    app = create_app(
        {"DATABASE_URL": database_url, "SECRET_KEY": SECRET_KEY, "FIELD_ENCRYPTION_KEY": FIELD_KEY}
    )
    with app.app_context():
        targets = []
        for site in list_sites(db.session):
            if not site.active or not site.token:
                continue
            version = site.project.questionnaire.current_version
            questions = [(q.key, q.kind, len(q.options or [])) for q in version.questions]
            targets.append((site.token, version.id, questions))
        db.engine.dispose()
    return targets


def post_body(i: int, nonce: str, questions: list) -> str:
    """The urlencoded body a resident's browser sends: every choice answered, some comments."""
    fields = [("nonce", nonce)]
    for key, kind, n_options in questions:
        if key == "overall":
            fields.append(("q.overall", str(SCORES[i % len(SCORES)])))
        elif kind == "choice" and n_options:
            fields.append((f"q.{key}", str((i // 3) % n_options)))
    fields.append(("comment", COMMENTS[i % len(COMMENTS)] if i % 4 == 0 else ""))
    return urlencode(fields)


def write_posts(path: Path, targets: list, count: int, offset: int = 0) -> None:
    """Write ``count`` POST lines with freshly minted nonces, round-robin over the sites,
    each from a phone of its own: path, body and the device cookie the form set."""
    from survey.responses import nonces

    with open(path, "w") as out:
        for i in range(offset, offset + count):
            token, version_id, questions = targets[i % len(targets)]
            nonce = nonces.issue(SECRET_KEY, token, version_id)
            out.write(f"/s/{token}\t{post_body(i, nonce, questions)}\tsid={i:032x}\n")


def warm_up(server: Server, paths: list[str], posts: Path | None = None) -> None:
    """A few sequential requests, so both workers have loaded templates and connections."""
    for path in paths:
        with urllib.request.urlopen(server.base + path, timeout=10) as reply:
            reply.read()
    if posts is None:
        return
    opener = urllib.request.build_opener(NoRedirect)
    for line in posts.read_text().splitlines():
        path, body, cookie = line.split("\t")
        request = urllib.request.Request(
            server.base + path, data=body.encode(), headers={"Cookie": cookie}, method="POST"
        )
        try:
            with opener.open(request, timeout=10) as reply:
                status = reply.status
        except urllib.error.HTTPError as err:
            status = err.code
        if status != 303:
            raise BenchError(f"warm-up POST {path} answered {status}, expected 303")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let urllib report a 303 instead of following it."""

    def redirect_request(self, *args, **kwargs):
        """Never follow."""
        return None


def run_wrk(name: str, url: str, mode: str, lines: Path, expect: int, args, tmp: Path) -> Result:
    """Drive ``url`` with wrk for the window plus the drain and return what it measured."""
    threads = min(args.threads, args.connections)
    start_at = time.clock_gettime(time.CLOCK_MONOTONIC) + LEAD_SECONDS
    cmd = [
        WRK,
        "-t", str(threads),
        "-c", str(args.connections),
        "-d", f"{math.ceil(LEAD_SECONDS + args.duration + DRAIN_SECONDS)}s",
        "--timeout", WRK_TIMEOUT,
        "-s", str(tmp / "bench.lua"),
        url, mode, str(lines), f"{start_at:.6f}", str(args.duration), str(threads), str(expect),
    ]  # fmt: skip
    limit = args.duration + DRAIN_SECONDS + 60
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, cwd=tmp)
    found = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not found:
        raise BenchError(f"wrk failed for {name}:\n{done.stdout}\n{done.stderr}")
    stats = {}
    for token in found[-1].split()[1:]:
        key, _, value = token.partition("=")
        stats[key] = value if key == "bad_status" else int(float(value))
    return Result(name, args.duration, stats)


def count_rows(url: str, *tables: str) -> dict[str, int]:
    """Row counts of ``tables`` in the database at ``url``."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {t: conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in tables}
    finally:
        engine.dispose()


def count_flagged(url: str) -> int:
    """Answers stored flagged as suspected stuffing in the app's database."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT count(*) FROM responses WHERE flag IS NOT NULL"
            ).scalar()
    finally:
        engine.dispose()


def ratio_line(label: str, app_rps: float, base_rps: float, target: float | None = None) -> str:
    """One line comparing app and baseline throughput, with the target when it has one."""
    ratio = app_rps / base_rps if base_rps else 0.0
    line = f"  {label:<40} {ratio:5.2f}x"
    if target is not None:
        line += f"   target >= {target:.2f}x  {'PASS' if ratio >= target else 'MISS'}"
    return line


def cycles(get: Result, post: Result) -> float:
    """Residents served per second, each with one GET and one POST: the two measured rates
    combined, as one process would serve them one after the other."""
    return 1 / (1 / get.rps + 1 / post.rps) if get.rps and post.rps else 0.0


def report(results: list[Result], checks: list[tuple[str, bool]], info: dict) -> str:
    """The printed summary: the table, the ratios and the consistency checks."""
    by_name = {r.name: r for r in results}
    app_cycles = cycles(by_name["form GET"], by_name["submission POST"])
    raw_cycles = cycles(by_name["raw static GET"], by_name["raw insert POST"])
    out = [
        "",
        f"wrk: {info['connections']} connections, {info['threads']} threads, "
        f"{info['duration']:g} s window (+{DRAIN_SECONDS} s drain); "
        f"gunicorn: {GUNICORN_WORKERS} sync workers; {os.cpu_count()} CPUs",
        "",
        f"  {'scenario':<22} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'answered':>9} "
        f"{'errors':>7}",
    ]
    for r in results:
        out.append(
            f"  {r.name:<22} {r.rps:9.1f} {r.stats['p50_us'] / 1000:8.1f} "
            f"{r.stats['p99_us'] / 1000:8.1f} {r.stats['ok']:9d} {r.errors:7d}"
        )
    for r in results:
        if r.errors:
            out.append(
                f"  ! {r.name}: bad status {r.stats['bad']} (last {r.stats['bad_status']}), "
                f"connect {r.stats['connect']}, read {r.stats['read']}, "
                f"write {r.stats['write']}, timeout {r.stats['timeout']}, "
                f"unanswered {r.unanswered}, "
                f"nonce pool exhausted {r.stats['exhausted']} (raise --nonces)"
            )
    out += [
        "",
        "Ratios app/baseline (same run):",
        ratio_line("form GET / raw static GET", by_name["form GET"].rps,
                   by_name["raw static GET"].rps, GET_TARGET),
        ratio_line("GET + POST cycle / raw cycle", app_cycles, raw_cycles, CYCLE_TARGET),
        ratio_line("(submission POST / raw insert POST)", by_name["submission POST"].rps,
                   by_name["raw insert POST"].rps),
        "",
        f"Submissions/s: {by_name['submission POST'].rps:.1f} "
        f"(raw insert: {by_name['raw insert POST'].rps:.1f}); "
        f"cycles/s: {app_cycles:.1f} (raw: {raw_cycles:.1f}); "
        f"nonces used {info['nonces_used']} of {info['nonces']}",
        "",
        "Checks:",
    ]  # fmt: skip
    out += [f"  [{'ok' if passed else 'FAIL'}] {text}" for text, passed in checks]
    return "\n".join(out)


def parse_args(argv=None):
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument(
        "--threads", type=int, default=1, help="wrk threads (1 keeps the drain exact)"
    )
    parser.add_argument(
        "--nonces", type=int, default=0, help="POST bodies to mint (default: 5000 per second)"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run: 2 s, 4 connections")
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL, wiped first (default: SQLite)"
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.duration, args.connections = 2, 4
    if args.duration <= 0 or args.connections < 1 or args.threads < 1:
        parser.error("--duration, --connections and --threads must be positive")
    if not args.nonces:
        args.nonces = max(5000, int(5000 * args.duration))
    return args


def run(args, tmp: Path, servers: list[Server]) -> int:
    """Prepare the databases and inputs, serve, measure, check; the exit status."""
    from bench import databases
    from survey import config

    database_url = args.database_url or f"sqlite:///{tmp / 'app.db'}"
    if refused := databases.refusal(database_url):
        raise BenchError(refused)
    on_postgresql = make_url(database_url).get_backend_name() == "postgresql"
    # The raw insert's table: in a file of its own on SQLite (its own write lock), beside
    # the app's tables on PostgreSQL.
    insert_url = database_url if on_postgresql else f"sqlite:///{tmp / 'baseline.db'}"
    env = server_environment(
        database_url,
        BENCH_BUSY_TIMEOUT_MS=str(config.SQLITE_BUSY_TIMEOUT_MS),
        **({} if on_postgresql else {"BENCH_INSERT_DB": make_url(insert_url).database}),
    )
    print(f"temporary directory: {tmp}")
    print(
        f"creating the schema and the demo data ({make_url(database_url).get_backend_name()}) ...",
        flush=True,
    )
    databases.wipe(database_url)
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "demo-data")
    create_insert_table(insert_url)

    targets = site_targets(database_url)
    if not targets:
        raise BenchError("the demo data has no live sites")
    print(f"minting {args.nonces} nonces over {len(targets)} sites ...", flush=True)
    posts, warm_posts, gets = tmp / "posts.tsv", tmp / "warm-posts.tsv", tmp / "gets.txt"
    write_posts(posts, targets, args.nonces)
    write_posts(warm_posts, targets, 2 * GUNICORN_WORKERS, offset=args.nonces)
    gets.write_text("".join(f"/s/{token}\n" for token, _, _ in targets))
    (tmp / "bench.lua").write_text(LUA_SCRIPT)

    gunicorn = find_gunicorn()
    app = Server("app", "wsgi:app", env, tmp, "/healthz")
    servers.append(app)
    app.start(gunicorn)
    form_paths = [f"/s/{token}" for token, _, _ in targets[:8]]
    warm_up(app, form_paths, warm_posts)
    with urllib.request.urlopen(app.base + form_paths[0], timeout=10) as reply:
        page = reply.read()
    # The raw page is as large as the form (the issue's "a raw WSGI page of the same size").
    baseline_env = env | {"BENCH_STATIC_BYTES": str(len(page))}
    static = Server("static", "bench.submit:static_app", baseline_env, tmp, "/")
    insert = Server("insert", "bench.submit:insert_app", baseline_env, tmp, "/")
    for server in (static, insert):
        servers.append(server)
        server.start(gunicorn)
    warm_up(static, ["/"] * 8)
    warm_up(insert, ["/"] * 8)
    print(
        f"servers up (app :{app.port}, static :{static.port}, insert :{insert.port}); "
        f"form page and static page {len(page)} B",
        flush=True,
    )

    before = count_rows(database_url, "responses", "form_nonces", "answers")
    flagged_before = count_flagged(database_url)  # the warm-up's may be: sent right after minting
    scenarios = [
        ("raw static GET", static.base + "/", "get", gets, 200),
        ("form GET", app.base + "/", "get", gets, 200),
        ("raw insert POST", insert.base + "/", "post", posts, 303),
        ("submission POST", app.base + "/", "post", posts, 303),
    ]
    results = []
    for name, url, mode, lines, expect in scenarios:
        print(f"running {name} ...", flush=True)
        results.append(run_wrk(name, url, mode, lines, expect, args, tmp))
    after = count_rows(database_url, "responses", "form_nonces", "answers")
    baseline_rows = count_rows(insert_url, "bench_submissions")["bench_submissions"]
    flagged = count_flagged(database_url) - flagged_before
    for server in (app, static, insert):
        server.stop()

    by_name = {r.name: r for r in results}
    post, raw = by_name["submission POST"], by_name["raw insert POST"]
    new = {t: after[t] - before[t] for t in after}
    checks = [(f"{r.name}: 0 errors (got {r.errors})", r.errors == 0) for r in results]
    checks += [
        (
            f"responses: {before['responses']} before (demo + warm-up), {after['responses']} "
            f"after, {new['responses']} new == {post.stats['ok']} acknowledged (303)",
            new["responses"] == post.stats["ok"],
        ),
        (
            f"form_nonces: {before['form_nonces']} before, {after['form_nonces']} after, "
            f"{new['form_nonces']} new == {post.stats['ok']} acknowledged",
            new["form_nonces"] == post.stats["ok"],
        ),
        (
            f"raw insert baseline: {baseline_rows} rows == {raw.stats['ok']} acknowledged",
            baseline_rows == raw.stats["ok"],
        ),
        (
            f"flagged as stuffing while measured: {flagged} (the common path counts every one)",
            flagged == 0,
        ),
    ]
    info = {
        "connections": args.connections,
        "threads": min(args.threads, args.connections),
        "duration": args.duration,
        "nonces": args.nonces,
        "nonces_used": max(post.stats["sent"], raw.stats["sent"]),
    }
    print(report(results, checks, info))
    print(f"\nnew answer rows: {new['answers']}")
    return 0 if all(passed for _, passed in checks) else 1


def main(argv=None) -> int:
    """Entry point."""
    return drive("submit", run, parse_args(argv))


def drive(name: str, run_it, args) -> int:
    """Check wrk, ``run_it(args, tmp, servers)`` in a temporary directory, and always stop
    the servers it started; the exit status (bench/submit.py and bench/load.py)."""
    if not os.access(WRK, os.X_OK):
        print(
            f"{WRK} not found. Install it with: sudo apt-get install wrk (Debian/Ubuntu)",
            file=sys.stderr,
        )
        return 2
    sys.path.insert(0, str(ROOT))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    servers: list[Server] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
        try:
            return run_it(args, Path(tmp), servers)
        except BenchError as err:
            print(f"benchmark failed: {err}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        finally:
            for server in servers:
                server.stop()
            print(f"total time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
