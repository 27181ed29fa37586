"""Sessions that end everywhere, idle timeout, create-user (wrong passwords: test_throttle)."""

import time

from survey.accounts.models import User
from survey.db import db, write_transaction
from tests.helpers import change_password, csrf_of, login_form


def test_logging_out_ends_every_session_of_the_user(app, make_user):
    password = make_user()
    phone, desk = app.test_client(), app.test_client()
    login_form(phone, "admin", password)
    login_form(desk, "admin", password)
    assert desk.get("/admin/").status_code == 200
    phone.post("/logout", data={"csrf_token": csrf_of(phone.get("/admin/").data)})
    assert desk.get("/admin/").status_code == 302  # the other session ended too


def test_changing_the_password_or_disabling_ends_other_sessions(app, make_user):
    password = make_user()
    one, two = app.test_client(), app.test_client()
    login_form(one, "admin", password)
    login_form(two, "admin", password)
    assert change_password(one, password, "a brand new password").status_code == 302
    assert one.get("/admin/").status_code == 200  # the session that changed it goes on
    assert two.get("/admin/").status_code == 302
    with app.app_context(), write_transaction(db.session):
        db.session.scalars(db.select(User)).one().active = False
    assert one.get("/admin/").status_code == 302


def test_an_idle_session_ends(app, client, make_user):
    password = make_user()
    app.config["PERMANENT_SESSION_LIFETIME"] = 1
    login_form(client, "admin", password)
    assert client.get("/admin/").status_code == 200
    time.sleep(2.1)
    assert client.get("/admin/").status_code == 302


def test_create_user_prints_a_one_time_password(app, runner, make_site):
    make_site()  # makes 丽水市 and 莲都区
    made = runner.invoke(args=["create-user", "lianduqu", "--role", "county", "--region", "莲都区"])
    assert made.exit_code == 0, made.output
    password = made.output.split("一次性密码：")[1][:14]
    with app.app_context():
        user = db.session.scalars(db.select(User).where(User.username == "lianduqu")).one()
        assert (user.role, user.region.name, user.must_change_password) == (
            "county",
            "莲都区",
            True,
        )
    assert login_form(app.test_client(), "lianduqu", password).headers["Location"] == (
        "/account/password"
    )


def test_create_user_refuses_bad_input(runner, make_site):
    make_site()
    cases = [
        (["create-user", "x", "--role", "county"], "需要用 --region"),
        (["create-user", "x", "--role", "county", "--region", "火星区"], "没有名为“火星区”"),
        (["create-user", "x", "--role", "city", "--region", "莲都区"], "没有名为“莲都区”的市"),
        (["create-user", "x", "--role", "boss"], "Invalid value"),
    ]
    for args, message in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0 and message in result.output, result.output
    assert runner.invoke(args=["create-user", "dup", "--role", "admin"]).exit_code == 0
    again = runner.invoke(args=["create-user", "dup", "--role", "admin"])
    assert again.exit_code != 0 and "已存在" in again.output
