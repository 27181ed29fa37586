"""Login rate limits per user name and address and per address: in memory, shared through
Redis, and Redis down."""

import logging
import uuid

import pytest

from tests.helpers import login_form, redis_answers


def test_too_many_logins_for_one_name_from_one_address_answer_429_in_chinese(make_app, make_user):
    make_user()
    client = make_app().test_client()
    statuses = [login_form(client, "admin", "wrong password!").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "访问太频繁" in login_form(client, "admin", "wrong password!").get_data(as_text=True)


def test_an_office_behind_one_address_logs_in_twenty_users(make_app, make_user):
    """Twenty colleagues behind one NAT all log in, although each name may try only three
    times a minute; before, the fourth login from the address was refused."""
    passwords = {f"staff{i:02}": make_user(f"staff{i:02}") for i in range(20)}
    app = make_app()
    for username, password in passwords.items():
        assert login_form(app.test_client(), username, password).status_code == 302, username


def test_a_hammered_name_is_limited_but_others_from_the_address_are_not(make_app, make_user):
    password = make_user("colleague")
    client = make_app().test_client()
    for _ in range(3):
        assert login_form(client, "admin", "wrong password!").status_code == 400
    # Case and spaces do not make another name.
    assert login_form(client, " ADMIN ", "wrong password!").status_code == 429
    assert login_form(client, "colleague", password).status_code == 302


def test_the_address_bound_still_holds_across_names(make_app):
    app = make_app(LOGIN_ADDRESS_RATE_LIMIT="5 per minute")
    statuses = [
        login_form(app.test_client(), f"nobody{i}", "wrong password!").status_code for i in range(6)
    ]
    assert statuses == [400] * 5 + [429]


def test_the_address_bound_is_counted_per_address(make_app):
    app = make_app(LOGIN_ADDRESS_RATE_LIMIT="2 per minute")

    def attempt(address, name):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return login_form(client, name, "wrong password!").status_code

    assert [attempt("10.0.0.1", f"x{i}") for i in range(3)] == [400, 400, 429]
    assert attempt("10.0.0.2", "x0") == 400


@pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_processes_share_the_count_through_redis(make_app, make_user):
    make_user()
    shared = {"REDIS_URL": "redis://127.0.0.1:6379/1", "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex}
    one, two = make_app(**shared), make_app(**shared)
    for _ in range(3):
        assert login_form(one.test_client(), "admin", "wrong password!").status_code == 400
    assert login_form(two.test_client(), "admin", "wrong password!").status_code == 429


def test_logins_keep_working_when_redis_is_down(make_app, make_user, caplog):
    password = make_user()
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        reply = login_form(app.test_client(), "admin", password)
    assert reply.status_code == 302
    assert any("unreachable" in r.getMessage() for r in caplog.records)
