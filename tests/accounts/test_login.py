"""Staff login (minimal here; lockout, rate limits and session ends come with staff accounts)."""

from survey.accounts.models import User
from survey.db import db
from tests.conftest import csrf_of


def _login(client, username, password, next_url=""):
    token = csrf_of(client.get("/login").data)
    data = {"username": username, "password": password, "csrf_token": token}
    return client.post(f"/login{next_url}", data=data)


def test_admin_logs_in_and_out(client, make_user):
    password = make_user()
    reply = _login(client, "admin", password)
    assert reply.status_code == 302
    assert client.get("/admin/").status_code == 200
    logout = client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    assert logout.status_code == 302
    assert client.get("/admin/").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_answer(client, make_user):
    make_user()
    for username, password in (("admin", "wrong password!"), ("nobody", "whatever123")):
        reply = _login(client, username, password)
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
    with app.app_context():
        db.session.scalars(db.select(User)).one().active = False
        db.session.commit()
    assert _login(client, "admin", password).status_code == 400


def test_login_redirects_only_within_the_site(client, make_user):
    password = make_user()
    assert _login(client, "admin", password, "?next=/admin/").headers["Location"] == "/admin/"
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
        reply = _login(client, "admin", password, f"?next={hostile}")
        assert reply.status_code == 302, hostile
        assert reply.headers["Location"] == "/admin/", hostile
