"""Wrong passwords slow down the name and address they came from, never the account: the
right password from another address works at once, and an unknown name is answered exactly
like a real one."""

import re
import time
import uuid

import pytest

from survey.accounts.models import AuditEntry, User
from survey.db import db, write_transaction
from tests.helpers import PASSWORD, change_password, csrf_of, log_in, login_form, redis_answers


def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _failed_logins(count) -> int:
    return count(AuditEntry, action="login_failed")


def test_wrong_passwords_slow_down_their_name_from_their_address_only(app, make_user, count):
    make_user()
    guesser = _from(app, "203.0.113.66")
    assert [login_form(guesser, "admin", "wrong password!").status_code for _ in range(3)] == [
        400
    ] * 3
    refused = login_form(guesser, "admin", PASSWORD)  # even the right one: not checked now
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert "登录失败次数太多，请 30 秒后再试" in refused.get_data(as_text=True)
    assert client_is_anonymous(guesser)
    assert _failed_logins(count) == 3  # the refusal checked and recorded nothing
    # The admin, at their own desk, logs in while the guessing goes on.
    desk = _from(app, "198.51.100.7")
    assert login_form(desk, "admin", PASSWORD).status_code == 302
    assert login_form(guesser, "admin", "wrong password!").status_code == 429
    assert desk.get("/admin/").status_code == 200


def client_is_anonymous(client) -> bool:
    return client.get("/admin/").status_code == 302


def test_the_wait_grows_with_each_failure_and_the_right_password_ends_it(app, make_user):
    make_user()
    app.config.update(LOGIN_WAIT_SECONDS=1, LOGIN_RATE_LIMIT="100 per minute")
    client = _from(app, "203.0.113.66")
    for _ in range(3):
        assert login_form(client, "admin", "wrong password!").status_code == 400
    assert login_form(client, "admin", "wrong password!").headers["Retry-After"] == "1"
    time.sleep(1.1)
    assert login_form(client, "admin", "wrong password!").status_code == 400
    waiting = login_form(client, "admin", "wrong password!")
    assert (waiting.status_code, waiting.headers["Retry-After"]) == (429, "2")
    app.config["LOGIN_MAX_WAIT_SECONDS"] = 1  # the longest wait caps the doubling (at 4)
    time.sleep(2.1)
    assert login_form(client, "admin", "wrong password!").status_code == 400
    assert login_form(client, "admin", "wrong password!").headers["Retry-After"] == "1"
    time.sleep(1.1)
    assert login_form(client, "admin", PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    # The success forgot the failures: a typo now costs no wait.
    assert login_form(client, "admin", "wrong password!").status_code == 400
    assert login_form(client, "admin", PASSWORD).status_code == 302


def _comparable(reply, name: str) -> tuple:
    """A login answer without what differs by nature: the CSRF token and the name typed."""
    body = re.sub(r'value="[^"]*"', 'value=""', reply.get_data(as_text=True))
    return reply.status_code, reply.headers.get("Retry-After"), body.replace(name, "NAME")


def test_a_real_name_and_an_unknown_one_get_the_same_answers(app, make_user):
    make_user("admin")
    real, unknown = _from(app, "203.0.113.66"), _from(app, "203.0.113.66")
    for attempt in range(6):
        one = _comparable(login_form(real, "admin", "wrong password!"), "admin")
        other = _comparable(login_form(unknown, "nobody", "wrong password!"), "nobody")
        assert one == other, attempt
        assert one[0] == (400 if attempt < 3 else 429)


def test_a_disabled_user_counts_as_a_failure_like_a_wrong_password(app, make_user):
    make_user()
    with app.app_context(), write_transaction(db.session):
        db.session.scalars(db.select(User)).one().active = False
    client = _from(app, "203.0.113.66")
    assert [login_form(client, "admin", PASSWORD).status_code for _ in range(4)] == [400] * 3 + [
        429
    ]


def test_the_current_password_check_is_slowed_down_per_user_and_address(app, make_user):
    make_user()
    client = log_in(_from(app, "203.0.113.66"), "admin", PASSWORD)
    before = _password_hash(app)
    for _ in range(3):
        assert change_password(client, "wrong password!", "a new good password").status_code == 400
    refused = change_password(client, PASSWORD, "a new good password")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "30"
    assert "现在的密码输错次数太多，请 30 秒后再试" in refused.get_data(as_text=True)
    assert _password_hash(app) == before
    # The same session from another address is not slowed down.
    client.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert change_password(client, PASSWORD, "a new good password").status_code == 302


def _password_hash(app) -> str:
    with app.app_context():
        return db.session.scalars(db.select(User)).one().password_hash


@pytest.mark.skipif(not redis_answers(), reason="no Redis on 127.0.0.1:6379")
def test_processes_share_the_wait_through_redis(make_app, make_user):
    make_user()
    shared = {
        "REDIS_URL": "redis://127.0.0.1:6379/1",
        "RATELIMIT_KEY_PREFIX": uuid.uuid4().hex,
        "LOGIN_RATE_LIMIT": "100 per minute",
    }
    one, two = make_app(**shared), make_app(**shared)
    for _ in range(3):
        assert login_form(one.test_client(), "admin", "wrong password!").status_code == 400
    refused = login_form(two.test_client(), "admin", PASSWORD)
    assert refused.status_code == 429 and 28 <= int(refused.headers["Retry-After"]) <= 30


def test_with_redis_down_the_wait_is_counted_in_memory(make_app, make_user):
    make_user()
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", LOGIN_RATE_LIMIT="100 per minute")
    statuses = [
        login_form(app.test_client(), "admin", "wrong password!").status_code for _ in range(4)
    ]
    assert statuses == [400] * 3 + [429]
    assert login_form(_from(app, "198.51.100.7"), "admin", PASSWORD).status_code == 302


def test_an_ipv6_client_counts_as_its_64_so_changing_its_address_does_not_help(app, make_user):
    make_user()
    for last in range(3):
        client = _from(app, f"2408:8456:1:2::{last + 1}")
        assert login_form(client, "admin", "wrong password!").status_code == 400
    stepped_aside = _from(app, "2408:8456:1:2:aaaa::99")
    assert login_form(stepped_aside, "admin", PASSWORD).status_code == 429
    assert login_form(_from(app, "2408:8456:1:3::1"), "admin", PASSWORD).status_code == 302
