"""Login rate limits per client address: in memory, shared through Redis, and Redis down."""

import logging
import socket
import uuid

import pytest

from survey import create_app
from survey.db import db
from tests.accounts.test_login import _login
from tests.conftest import _settings


@pytest.fixture
def make_app(database_url):
    """make_app(**settings): another app on the test database, closed after the test."""
    made = []

    def make(**settings):
        app = create_app(_settings(database_url) | {"LOGIN_RATE_LIMIT": "3 per minute"} | settings)
        made.append(app)
        return app

    yield make
    for app in made:
        with app.app_context():
            db.engine.dispose()


def test_too_many_logins_from_one_address_answer_429_in_chinese(make_app, make_user):
    make_user()
    client = make_app().test_client()
    statuses = [_login(client, "admin", "wrong password!").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "访问太频繁" in _login(client, "admin", "wrong password!").get_data(as_text=True)


def _redis_answers() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_processes_share_the_count_through_redis(make_app, make_user):
    make_user()
    shared = {"REDIS_URL": "redis://127.0.0.1:6379/15", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    one, two = make_app(**shared), make_app(**shared)
    for _ in range(3):
        assert _login(one.test_client(), "admin", "wrong password!").status_code == 400
    assert _login(two.test_client(), "admin", "wrong password!").status_code == 429


def test_logins_keep_working_when_redis_is_down(make_app, make_user, caplog):
    password = make_user()
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        reply = _login(app.test_client(), "admin", password)
    assert reply.status_code == 302
    assert any("unreachable" in r.getMessage() for r in caplog.records)
