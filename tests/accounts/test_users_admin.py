"""Admins manage staff accounts in the browser; every change is audited, and a disabled
user's open sessions end at once."""

import re

import pytest

from survey.accounts.models import AuditEntry, User
from survey.db import db
from survey.regions.models import Region
from tests.helpers import PASSWORD, csrf_of, log_in


@pytest.fixture
def regions(app, make_site):
    make_site()  # 丽水市 → 莲都区
    with app.app_context():
        return {r.name: r.id for r in db.session.scalars(db.select(Region))}


def _post(client, path, data=None, page="/admin/users/"):
    token = csrf_of(client.get(page).data)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _user(app, username) -> User:
    with app.app_context():
        return db.session.scalars(db.select(User).filter_by(username=username)).one()


def _actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        entries = db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id))
        ignored = ("login", "login_failed", "logout")
        return [(e.action, e.detail) for e in entries if e.action not in ignored]


def _one_time_password(page: bytes) -> str:
    return re.search(r"<code>([^<]+)</code>", page.decode()).group(1)


def test_an_admin_creates_a_county_user_who_logs_in_with_the_password_shown_once(
    app, admin, regions
):
    reply = _post(
        admin,
        "/admin/users/new",
        {"username": "liandu2", "role": "county", "region_id": regions["莲都区"]},
        page="/admin/users/new",
    )
    assert reply.status_code == 201
    password = _one_time_password(reply.data)
    assert "只显示这一次" in reply.data.decode()
    user = _user(app, "liandu2")
    assert (user.role, user.region_id, user.must_change_password) == (
        "county",
        regions["莲都区"],
        True,
    )
    assert password not in admin.get("/admin/users/").data.decode()
    assert _actions(app) == [("user_created", "liandu2：县级用户 · 莲都区")]
    other = app.test_client()
    token = csrf_of(other.get("/login").data)
    login = other.post(
        "/login", data={"username": "liandu2", "password": password, "csrf_token": token}
    )
    assert login.headers["Location"].endswith("/account/password")


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        ({"username": "a b", "role": "city"}, "用户名须为"),
        ({"username": "张三", "role": "city"}, "用户名须为"),
        ({"username": "x" * 51, "role": "city"}, "用户名须为"),
        ({"username": "newuser", "role": "boss"}, "请选择角色"),
        ({"username": "newuser", "role": "county"}, "县级用户须属于一个县（市、区）"),
        ({"username": "newuser", "role": "county", "region_id": "丽水市"}, "县级用户须属于"),
        ({"username": "newuser", "role": "city", "region_id": "莲都区"}, "市级用户须属于一个市"),
        ({"username": "newuser", "role": "city", "region_id": "999999"}, "市级用户须属于"),
        ({"username": "newuser", "role": "city", "region_id": "9" * 20}, "请选择所属地区"),
        ({"username": "ADMIN", "role": "admin"}, "已被使用"),
    ],
)
def test_bad_user_forms_get_422_with_a_chinese_message_and_store_nothing(
    app, admin, regions, count, form, field_message
):
    form = dict(form)
    if form.get("region_id") in regions:
        form["region_id"] = regions[form["region_id"]]
    users_before = count(User)
    reply = _post(admin, "/admin/users/new", form, page="/admin/users/new")
    assert reply.status_code == 422
    assert field_message in reply.data.decode()
    assert count(User) == users_before
    assert _actions(app) == []


def test_disabling_a_user_ends_their_open_sessions_at_once(app, admin, make_user, regions):
    make_user("lishui", "city", region="丽水市")
    city = log_in(app.test_client(), "lishui", PASSWORD)
    assert city.get("/dashboard/").status_code == 200
    user_id = _user(app, "lishui").id
    assert _post(admin, f"/admin/users/{user_id}/disable").status_code == 302
    assert city.get("/dashboard/").status_code == 302  # back to the login page
    token = csrf_of(city.get("/login").data)
    again = city.post(
        "/login", data={"username": "lishui", "password": PASSWORD, "csrf_token": token}
    )
    assert again.status_code == 400  # a disabled user cannot log in
    assert "已停用" in admin.get("/admin/users/").data.decode()
    assert _post(admin, f"/admin/users/{user_id}/enable").status_code == 302
    log_in(app.test_client(), "lishui", PASSWORD)
    assert _actions(app) == [("user_disabled", "lishui"), ("user_enabled", "lishui")]


def test_a_reset_password_is_shown_once_and_ends_the_old_password_and_sessions(
    app, admin, make_user, regions
):
    make_user("lishui", "city", region="丽水市")
    city = log_in(app.test_client(), "lishui", PASSWORD)
    reply = _post(admin, f"/admin/users/{_user(app, 'lishui').id}/password")
    assert reply.status_code == 200
    password = _one_time_password(reply.data)
    assert city.get("/dashboard/").status_code == 302
    fresh = app.test_client()
    token = csrf_of(fresh.get("/login").data)
    old = fresh.post(
        "/login", data={"username": "lishui", "password": PASSWORD, "csrf_token": token}
    )
    assert old.status_code == 400
    log_in(fresh, "lishui", password)
    assert _user(app, "lishui").must_change_password
    assert _actions(app) == [("password_reset", "lishui")]


def test_changing_role_and_region_takes_effect_on_the_next_request(app, admin, make_user, regions):
    make_user("lishui", "city", region="丽水市")
    city = log_in(app.test_client(), "lishui", PASSWORD)
    user_id = _user(app, "lishui").id
    reply = _post(
        admin,
        f"/admin/users/{user_id}",
        {"role": "county", "region_id": regions["莲都区"]},
        page=f"/admin/users/{user_id}",
    )
    assert reply.status_code == 302
    assert city.get("/admin/audit").status_code == 403  # county users have no audit log
    assert _actions(app) == [("user_changed", "lishui：市级用户 · 丽水市 → 县级用户 · 莲都区")]
    assert _post(admin, f"/admin/users/{user_id}", {"role": "city"}).status_code == 422


def test_an_admin_cannot_disable_or_demote_the_last_active_admin(app, admin, count):
    admin_id = _user(app, "admin").id
    reply = _post(admin, f"/admin/users/{admin_id}/disable")
    assert reply.status_code == 422 and "不能停用自己的账号" in reply.data.decode()
    reply = _post(admin, f"/admin/users/{admin_id}", {"role": "county"})
    assert reply.status_code == 422
    reply = _post(admin, f"/admin/users/{admin_id}", {"role": "admin"})
    assert reply.status_code == 302
    assert _user(app, "admin").active and _user(app, "admin").role == "admin"
    assert _actions(app) == []


def test_unknown_users_are_404_and_posts_without_csrf_400(admin):
    assert admin.get("/admin/users/999999").status_code == 404
    assert _post(admin, "/admin/users/999999/disable").status_code == 404
    assert (
        admin.post("/admin/users/new", data={"username": "abc", "role": "admin"}).status_code == 400
    )


@pytest.mark.parametrize("role", ["city", "county"])
def test_only_admins_manage_users(app, make_user, regions, role):
    make_user("staff", role, region="丽水市" if role == "city" else "莲都区")
    staff = log_in(app.test_client(), "staff", PASSWORD)
    assert staff.get("/admin/users/").status_code == 403
    assert staff.get("/admin/users/new").status_code == 403


def test_anonymous_visitors_go_to_the_login_page(client):
    assert client.get("/admin/users/").status_code == 302
