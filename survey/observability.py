"""What operators watch: one JSON log line per request, and Prometheus metrics at /metrics.

Both are taken in a WSGI layer around everything, so the residents' forms and answers served
before Flask (survey.responses.before_flask) count too. A log line names the route
(``/s/<token>``), never the path (it holds a site's code), the client, the query or a cookie.

The metrics are prometheus_client's. gunicorn runs several processes: set
``PROMETHEUS_MULTIPROC_DIR`` to an empty folder the workers may write (emptied before each
start; README) and every scrape adds up all workers' counts; without it a scrape sees the
one process that answers it. ``/metrics`` answers only the networks in ``METRICS_ALLOW``
(loopback by default); anyone else gets 404.
"""

import atexit
import ipaddress
import json
import os
import threading
import time
from collections.abc import Callable
from functools import lru_cache

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from werkzeug.exceptions import HTTPException

REQUEST_SECONDS = Histogram(
    "survey_request_seconds",
    "Time to answer a request, by method, route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ANSWERS = Counter(
    "survey_answers_total",
    "Residents' answers taken, by outcome (created, updated: the same phone again, duplicate).",
    ["outcome"],
)
FLAGGED = Counter("survey_flagged_answers_total", "Answers stored flagged as suspected stuffing.")
DATABASE_ERRORS = Counter(
    "survey_database_errors_total",
    "Requests answered 503 because the database could not answer (down, or SQLite busy).",
    ["kind"],
)
JOB_QUEUE_DEPTH = Gauge(
    "survey_job_queue_depth",
    "Background jobs waiting (queued) and running, read from the database at each scrape.",
    ["state"],
    multiprocess_mode="mostrecent",
)
#: Called before each scrape to set the gauges read then (registered by their packages).
_BEFORE_SCRAPE: list[Callable[[], None]] = []

#: What a route is called when no rule matches the path.
UNMATCHED = "<unmatched>"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

bp = Blueprint("metrics", __name__)


def before_scrape(read: Callable[[], None]) -> None:
    """Call ``read()`` before each scrape (create_app registers each once)."""
    if read not in _BEFORE_SCRAPE:
        _BEFORE_SCRAPE.append(read)


def count_answer(outcome: str, flagged: bool) -> None:
    ANSWERS.labels(outcome).inc()
    if flagged:
        FLAGGED.inc()


class RequestLog:
    """The request log: JSON lines on standard error (file descriptor 2), written in batches
    of up to ``most`` lines and at least once a ``seconds``. One write per line cost the
    cached resident form a fifth of its rate under gunicorn (bench/submit.py: 0.67× → 0.52×
    of the raw page); a batch is one write. Written here because the logging module's
    buffering handler flushes only by count, and formatting records costs as much again.
    A process killed with SIGKILL loses at most the last second of lines."""

    def __init__(self, most: int = 256, seconds: float = 1.0, fd: int = 2):
        self.most, self.seconds, self.fd = most, seconds, fd
        self.pending: list[str] = []
        self.lock = threading.Lock()
        self.second, self.stamp = 0, ""
        self._start_flushing()
        atexit.register(self.flush)
        # A process forked from this one (gunicorn --preload) has no thread: it gets its own.
        os.register_at_fork(after_in_child=self._start_flushing)

    def _start_flushing(self) -> None:
        self.pending = []
        flusher = threading.Thread(target=self._flush_every, name="request-log", daemon=True)
        flusher.start()

    def add(self, method: str, route: str, status: str, seconds: float) -> None:
        now = int(time.time())
        if now != self.second:  # the same stamp for every line within a second
            self.second, self.stamp = now, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        self.pending.append(
            f'{{"time":"{self.stamp}","method":{json.dumps(method)},'
            f'"route":{json.dumps(route)},"status":{int(status)},"ms":{seconds * 1000:.1f}}}\n'
        )
        if len(self.pending) >= self.most:
            self.flush()

    def flush(self) -> None:
        with self.lock:
            lines, self.pending = self.pending, []
            if lines:
                os.write(self.fd, "".join(lines).encode())

    def _flush_every(self) -> None:
        while True:
            time.sleep(self.seconds)
            self.flush()


@lru_cache(maxsize=1)
def request_log() -> RequestLog:
    """The process's one request log (every app of the process writes to it)."""
    return RequestLog()


class Observed:
    """WSGI middleware: time every request, count it by route, log it as one JSON line."""

    def __init__(self, wsgi_app, app: Flask):
        self.wsgi_app = wsgi_app
        urls = app.url_map.bind("localhost")

        # A path names a route once per process: the same codes come again and again.
        @lru_cache(maxsize=4096)
        def route(method: str, path: str) -> str:
            try:
                rule, _ = urls.match(path, method=method, return_rule=True)
            except HTTPException:  # 404, 405, or a redirect to the path with a slash
                return UNMATCHED
            return rule.rule

        self.route = route
        #: The histogram's child per (method, route, status): looked up once each.
        self.timers = {}
        self.lines = request_log() if app.config["REQUEST_LOG"] else None

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        status = ["500"]

        def starting(line, headers, exc_info=None):
            status[0] = line[:3]
            return start_response(line, headers, exc_info)

        try:
            return self.wsgi_app(environ, starting)
        finally:
            self._observe(environ, status[0], time.perf_counter() - started)

    def _observe(self, environ, status: str, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "")
        if method not in METHODS:  # a client's made-up method is no new time series
            method = "OTHER"
        route = self.route(method, environ.get("PATH_INFO", ""))
        key = (method, route, status)
        timer = self.timers.get(key)
        if timer is None:
            timer = self.timers[key] = REQUEST_SECONDS.labels(*key)
        timer.observe(seconds)
        if self.lines is not None:
            self.lines.add(method, route, status, seconds)


def allowed_networks(setting: str) -> list:
    """The networks of METRICS_ALLOW (comma-separated); ValueError naming one that is not,
    when the app starts (not a 500 at the first scrape)."""
    networks = []
    for part in filter(None, (part.strip() for part in setting.split(","))):
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError as err:
            raise ValueError(
                f"METRICS_ALLOW: {part!r} is not a network (e.g. 10.0.0.0/8,127.0.0.1/32)"
            ) from err
    return networks


def _allowed(address: str) -> bool:
    try:
        client = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(client in network for network in current_app.extensions["metrics_allow"])


@bp.get("/metrics")
def metrics():
    """The Prometheus metrics, for the staff network's scraper (METRICS_ALLOW)."""
    if not _allowed(request.remote_addr or ""):
        abort(404)
    for read in _BEFORE_SCRAPE:
        read()
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
