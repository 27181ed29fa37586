"""Submissions over real HTTP, at the same time and with the server killed mid-write."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPConnection
from pathlib import Path

from survey.db import db
from survey.responses import nonces
from survey.responses.models import Answer, FormNonce, Response
from survey.sites.models import Site
from tests.helpers import FIELD_KEY, SECRET

ROOT = Path(__file__).resolve().parents[2]


def _version_id(app, site_id):
    with app.app_context():
        return db.session.get(Site, site_id).project.questionnaire.current_version.id


def _post(base, token, nonce, overall="5", timeout=10, cookie=None):
    """POST one answer (without cookies unless given); returns the status, or None if the
    server went away."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    body = urllib.parse.urlencode({"nonce": nonce, "q.overall": overall})
    conn = HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        conn.request("POST", f"/s/{token}", body, headers)
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def test_one_nonce_sent_many_times_at_once_is_stored_once(app, live_server, make_site, count):
    site = make_site()
    nonce = nonces.issue(SECRET, site.token, _version_id(app, site.id))
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _post(live_server, site.token, nonce), range(16)))
    assert statuses == [303] * 16
    assert count(Response) == 1
    assert count(FormNonce) == 1


def test_concurrent_answers_are_all_stored(app, live_server, make_site, count):
    site = make_site()
    version = _version_id(app, site.id)
    forms = [nonces.issue(SECRET, site.token, version) for _ in range(40)]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda n: _post(live_server, site.token, n), forms))
    assert statuses == [303] * 40
    assert count(Response) == 40


def test_one_phone_answering_many_times_at_once_counts_once(app, live_server, make_site, count):
    site = make_site()
    version = _version_id(app, site.id)
    phone = "sid=" + "ab" * 16
    forms = [nonces.issue(SECRET, site.token, version) for _ in range(12)]
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda n: _post(live_server, site.token, n, cookie=phone), forms))
    assert statuses == [303] * 12
    assert count(Response) == 1
    assert count(FormNonce) == 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_killed_mid_write_loses_no_acknowledged_answer(app, database_url, make_site):
    """Every answer the server acknowledged (303) is stored whole after a SIGKILL; nothing
    half-written is stored."""
    site = make_site()
    version = _version_id(app, site.id)
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "FIELD_ENCRYPTION_KEY": FIELD_KEY,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        forms = [nonces.issue(SECRET, site.token, version) for _ in range(400)]
        acknowledged = []

        def send(nonce):
            if _post(base, site.token, nonce, timeout=5) == 303:
                acknowledged.append(nonce)

        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(send, n) for n in forms]
            while len(acknowledged) < 30 and not all(f.done() for f in futures):
                time.sleep(0.01)
            server.send_signal(signal.SIGKILL)
    finally:
        server.kill()
        server.wait(timeout=10)

    assert len(acknowledged) >= 30
    raw = {nonces.verify(SECRET, site.token, n, 3600)[1] for n in acknowledged}
    with app.app_context():
        stored = set(db.session.scalars(db.select(FormNonce.nonce)))
        assert raw <= stored, "an acknowledged answer was lost"
        responses = db.session.scalars(db.select(Response)).all()
        assert len(responses) == len(stored)
        with_answers = set(db.session.scalars(db.select(Answer.response_id)))
        assert {r.id for r in responses} <= with_answers, "a response without its answers"
