"""Outages, on gunicorn with PostgreSQL and Redis: the database stops, then comes back;
Redis stops, then comes back.

Twice: on servers of the test's own (tests/servers.py, started from the machine's PostgreSQL
and Redis programs), within the suite; and on the machine's own services, stopped and
started as an operator would (``pg_ctlcluster 15 main stop|start``, Redis shut down and
started again), only alone after the suite (``OUTAGE_MACHINE_SERVICES=1``, as ``.ci/run``
runs it): stopping the shared servers would cut every other test running beside it.
"""

import time

import pytest

from tests.helpers import answer, nonce_of
from tests.servers import (
    NO_MACHINE_SERVICES,
    NO_OWN_POSTGRES,
    NO_OWN_REDIS,
    HttpClient,
    Stack,
    answers_health,
)

pytestmark = pytest.mark.services
OWN = pytest.param(
    "own",
    marks=[
        pytest.mark.skipif(NO_OWN_POSTGRES is not None, reason=NO_OWN_POSTGRES or ""),
        pytest.mark.skipif(NO_OWN_REDIS is not None, reason=NO_OWN_REDIS or ""),
    ],
)
MACHINE = pytest.param(
    "machine",
    marks=pytest.mark.skipif(NO_MACHINE_SERVICES is not None, reason=NO_MACHINE_SERVICES or ""),
)

MAINTENANCE = "系统正在维护"


@pytest.fixture(scope="module", params=[OWN, MACHINE])
def stack(request, tmp_path_factory):
    made = Stack(tmp_path_factory.mktemp("outages"), machine=request.param == "machine")
    try:
        yield made
    finally:
        made.close()


def _until(check, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def _maintenance(reply) -> None:
    assert reply.status_code == 503, reply.status_code
    assert reply.headers["Retry-After"] == "30"
    page = reply.get_data(as_text=True)
    assert MAINTENANCE in page and "Traceback" not in page


def test_postgresql_stopped_answers_503_and_comes_back_by_itself(stack):
    cached, fresh = stack.live_tokens(2)
    staff = stack.staff("lishui", "outage-Passwort-2026")
    resident = HttpClient(stack.app.url)
    page = resident.get(f"/s/{cached}")
    assert page.status_code == 200
    nonce = nonce_of(page.data)

    stack.postgres.stop()
    try:
        health = resident.get("/healthz")
        assert health.status_code == 503 and health.headers["Retry-After"] == "30"
        # A form page cached before may still be served; one never opened needs the database.
        _maintenance(resident.get(f"/s/{fresh}"))
        # The answer is not stored, and must not look stored: no 303 to the thanks page.
        _maintenance(answer(resident, cached, nonce, overall="5", comment="停库时提交"))
        _maintenance(staff.get("/dashboard/"))
    finally:
        stack.postgres.start()

    # No restart: the pool tests each connection before use and opens new ones.
    assert _until(lambda: answers_health(stack.app.url))
    sent = answer(resident, cached, nonce, overall="5", comment="停库时提交")
    assert sent.status_code == 303
    assert answer(resident, cached, nonce, overall="5", comment="停库时提交").status_code == 303
    assert len(stack.answers_with("停库时提交")) == 1  # acknowledged once, stored once
    assert resident.get(f"/s/{fresh}").status_code == 200
    assert staff.get("/dashboard/").status_code == 200
    failures = [line for line in stack.app.errors() if "Exception on" in line]
    assert failures == []  # every request answered by a handler, none a 500
    # The outage's answer was logged as a 503 in one line, with no traceback of its first try.
    log = stack.app.log.read_text()
    assert "database unavailable (POST /s/" in log and "could not be stored here" not in log


def test_redis_stopped_the_form_answers_and_logins_keep_working(stack):
    (token,) = stack.live_tokens(1)
    stack.redis.stop()
    try:
        resident = HttpClient(stack.app.url)
        page = resident.get(f"/s/{token}")
        assert page.status_code == 200
        sent = answer(resident, token, nonce_of(page.data), overall="4", comment="Redis 停了")
        assert sent.status_code == 303
        assert len(stack.answers_with("Redis 停了")) == 1
        stack.staff("zhejiang", "outage-Passwort-2027")
    finally:
        stack.redis.start()
    # Back: counting through Redis again, and everything still answers.
    resident = HttpClient(stack.app.url)
    page = resident.get(f"/s/{token}")
    sent = answer(resident, token, nonce_of(page.data), overall="5", comment="Redis 回来了")
    assert sent.status_code == 303
    assert len(stack.answers_with("Redis 回来了")) == 1
