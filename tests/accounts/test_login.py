"""Staff login (minimal here; lockout, rate limits and session ends come with staff accounts)."""

import pytest

from survey.accounts import services as accounts_services
from survey.accounts.models import User
from survey.db import db, write_transaction
from tests.conftest import PRODUCTION_HASHER
from tests.helpers import change_password, csrf_of, login_form


def test_admin_logs_in_and_out(client, make_user):
    password = make_user()
    reply = login_form(client, "admin", password)
    assert reply.status_code == 302
    assert client.get("/admin/").status_code == 200
    logout = client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    assert logout.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    make_user()
    for username, password in (("admin", "wrong password!"), ("nobody", "whatever123")):
        reply = login_form(client, username, password)
        assert reply.status_code == 400
        assert "用户名或密码不对" in reply.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_login_without_csrf_token_is_refused(client, make_user):
    password = make_user()
    reply = client.post("/login", data={"username": "admin", "password": password})
    assert reply.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_disabled_user_cannot_log_in(app, client, make_user):
    password = make_user()
    with app.app_context(), write_transaction(db.session):
        db.session.scalars(db.select(User)).one().active = False
    assert login_form(client, "admin", password).status_code == 400


def test_login_redirects_only_within_the_site(client, make_user):
    password = make_user()
    assert login_form(client, "admin", password, "?next=/admin/").headers["Location"] == "/admin/"
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    for hostile in (
        "//evil.example/",
        "/%09/evil.example",
        "/%0A/x",
        "/%5C/evil.example",
        "https://evil.example/",
        "/\\evil.example",
    ):
        client.post("/logout", data={"csrf_token": csrf_of(client.get("/login").data)})
        reply = login_form(client, "admin", password, f"?next={hostile}")
        assert reply.status_code == 302, hostile
        assert reply.headers["Location"] == "/admin/", hostile


def test_a_one_time_password_must_be_replaced_before_anything_else(app, client, make_user):
    password = make_user(one_time=True)
    assert login_form(client, "admin", password).headers["Location"] == "/account/password"
    assert client.get("/admin/").headers["Location"] == "/account/password"
    for current, new, confirm, message in [
        ("wrong password", "a new good password", None, "现在的密码不对"),
        (password, "short", None, "至少 10 位"),
        (password, "a new good password", "another one here", "不一样"),
        (password, password, None, "不能和现在的一样"),
        (password, "1234567890", None, "太容易被猜到"),
    ]:
        reply = change_password(client, current, new, confirm)
        assert reply.status_code == 400
        assert message in reply.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    assert change_password(client, password, "a new good password").status_code == 302
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        user = db.session.scalars(db.select(User)).one()
        assert not user.must_change_password
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    assert login_form(client, "admin", password).status_code == 400
    assert login_form(client, "admin", "a new good password").headers["Location"] == "/admin/"


def test_changing_the_password_needs_a_csrf_token(client, make_user):
    password = make_user()
    login_form(client, "admin", password)
    data = {"current": password, "new": "a new good password", "confirm": "a new good password"}
    assert client.post("/account/password", data=data).status_code == 400


def test_the_app_hashes_passwords_with_owasps_argon2id(monkeypatch):
    """The tests hash at argon2id's cheapest (tests/conftest.py); the app's own hasher has
    OWASP's parameters, and a hash it made verifies."""
    monkeypatch.setattr(accounts_services, "_hasher", PRODUCTION_HASHER)
    stored = accounts_services.hash_password("Passwort-2026")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts_services._verify(stored, "Passwort-2026")
    assert not accounts_services._verify(stored, "Passwort-2027")


def test_the_servers_address_leads_to_the_login_then_home(client, make_user):
    reply = client.get("/")
    assert reply.status_code == 302 and reply.headers["Location"] == "/login"
    login_form(client, "admin", make_user())
    assert client.get("/").headers["Location"] == "/admin/"


@pytest.mark.parametrize(
    "password",
    [
        "1234567890",
        "13812345678",  # a phone number
        "aaaaaaaaaaaa",
        "abababababab",
        "abcdefghijk",
        "9876543210",
        "Password2026!",
        "qwertyuiop",
        "my liandu 2026",
    ],
)
def test_a_password_a_guesser_tries_first_is_refused(password):
    assert accounts_services.guessable(password, "liandu")


@pytest.mark.parametrize(
    "password", ["a new good password", "e2e-Passwort-2026", "丽水民政2026年康养", "Tr0ub4dor&3x"]
)
def test_other_passwords_of_ten_characters_are_taken(password):
    assert not accounts_services.guessable(password, "liandu")
