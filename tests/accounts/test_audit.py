"""The audit log: logins (and failures), logouts, password changes, new users, rotations."""

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

import survey
from survey.accounts.models import AUDIT_ACTIONS, AuditEntry, User
from survey.accounts.services import Actor, audit_entries, record
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.regions.scope import scope_of
from tests.helpers import change_password, csrf_of, log_in, login_form


def _log(app):
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEntry).order_by(AuditEntry.id)).all()
        return [(r.action, r.username, r.ip) for r in rows]


def test_logins_failures_changes_and_logouts_are_recorded_with_the_address(app, client, make_user):
    password = make_user()
    login_form(client, "admin", "wrong password!")
    login_form(client, "nobody", "whatever12")
    login_form(client, "admin", password)
    change_password(client, password, "a new good password")
    client.post("/logout", data={"csrf_token": csrf_of(client.get("/admin/").data)})
    assert _log(app) == [
        ("login_failed", "admin", "127.0.0.1"),
        ("login_failed", "nobody", "127.0.0.1"),
        ("login", "admin", "127.0.0.1"),
        ("password_changed", "admin", "127.0.0.1"),
        ("logout", "admin", "127.0.0.1"),
    ]


def test_rotations_and_new_users_are_recorded(app, admin, runner, make_site):
    site = make_site()
    page = admin.get(f"/admin/projects/{site.project_id}")
    admin.post(f"/admin/sites/{site.id}/rotate", data={"csrf_token": csrf_of(page.data)})
    runner.invoke(args=["create-user", "city-user", "--role", "city", "--region", "丽水市"])
    with app.app_context():
        rotated = db.session.scalars(db.select(AuditEntry).filter_by(action="token_rotated")).one()
        assert site.token in rotated.detail and rotated.username == "admin"
        created = db.session.scalars(db.select(AuditEntry).filter_by(action="user_created")).one()
        assert (created.username, created.ip) == ("city-user", "cli")


def test_admins_and_city_users_read_and_filter_it_county_users_cannot(app, make_user, make_site):
    make_site()
    for name, role in (("admin", "admin"), ("city", "city"), ("county", "county")):
        make_user(name, role=role)
    clients = {}
    for name in ("admin", "city", "county"):
        clients[name] = app.test_client()
        login_form(clients[name], name, "correct horse battery")
    login_form(app.test_client(), "admin", "wrong password!")
    page = clients["city"].get("/admin/audit?action=login_failed").get_data(as_text=True)
    assert "登录失败" in page and "<td>county</td>" not in page
    page = clients["admin"].get("/admin/audit?username=county").get_data(as_text=True)
    assert "<td>county</td>" in page and "<td>city</td>" not in page
    assert clients["county"].get("/admin/audit").status_code == 403
    assert clients["admin"].get("/admin/audit?action=drop_tables").status_code == 400
    # Read-only: the log has no way in to change or remove a line.
    assert clients["admin"].post("/admin/audit").status_code in (400, 405)


def test_every_action_the_code_records_has_a_chinese_label():
    # A new action without a label showed its key (checklist_published) in the log.
    source = "\n".join(p.read_text() for p in Path(survey.__file__).parent.rglob("*.py"))
    recorded = set(re.findall(r'(?:record\(\s*[\w.]+,|_audit\()\s*"([a-z_]+)"', source))
    assert "checklist_published" in recorded and "login" in recorded
    assert recorded <= set(AUDIT_ACTIONS), recorded - set(AUDIT_ACTIONS)


def test_the_log_and_the_user_list_show_the_bureaus_local_time(app, admin):
    # Shown in UTC, a visit recorded at 23:49 appeared in the log at 15:49.
    with app.app_context(), write_transaction(db.session):
        at = datetime(2026, 11, 20, 2, 0, 5, tzinfo=UTC)
        db.session.add(AuditEntry(action="exported", username="admin", detail="x", ip="", at=at))
    page = admin.get("/admin/audit").get_data(as_text=True)
    assert "2026-11-20 10:00:05" in page and "UTC" not in page
    assert "UTC" not in admin.get("/admin/users/").get_data(as_text=True)


TYPED = "Secret-Typed-Pa55"


@pytest.fixture
def two_cities(app, make_site, make_user):
    """丽水市 (county 莲都区) and 温州市 (county 鹿城区), an admin and a city and a county user
    of each; returns a logged-in client per user name."""
    make_site()  # 丽水市, 莲都区
    with app.app_context(), write_transaction(db.session):
        wenzhou = Region(name="温州市", level="city")
        db.session.add(Region(name="鹿城区", level="county", parent=wenzhou))
    users = {
        "admin": ("admin", None),
        "lishui": ("city", "丽水市"),
        "liandu": ("county", "莲都区"),
        "wenzhou": ("city", "温州市"),
        "lucheng": ("county", "鹿城区"),
    }
    clients = {}
    for name, (role, region) in users.items():
        password = make_user(name, role=role, region=region)
        clients[name] = log_in(app.test_client(), name, password)
    # Failed logins: a known county user of each city, the admin, and a name nobody has
    # (a password typed into the name box).
    for name in ("liandu", "lucheng", "admin", TYPED):
        login_form(app.test_client(), name, "wrong password!")
    with app.app_context(), write_transaction(db.session):
        admin = db.session.scalars(db.select(User).filter_by(username="admin")).one()
        record(db.session, "project_created", Actor(admin, "10.9.9.9"), "温州机密项目")
    return clients


def _pages(client, *queries) -> str:
    """The log's lines on the pages of these queries (the filter form echoes the query)."""
    pages = (client.get(f"/admin/audit{q}").get_data(as_text=True) for q in queries)
    return "\n".join(page.partition("<tbody>")[2] for page in pages)


QUERIES = (
    "",
    "?action=login_failed",
    "?action=login",
    f"?username={TYPED}",
    "?username=admin",
    "?username=lishui",
    "?username=liandu",
)


def test_a_city_user_sees_only_their_citys_lines(two_cities):
    seen = _pages(two_cities["wenzhou"], *QUERIES)
    assert "<td>wenzhou</td>" in seen and "<td>lucheng</td>" in seen
    for other in ("admin", "lishui", "liandu"):
        assert f"<td>{other}</td>" not in seen, other
    assert TYPED not in seen  # a failed login of an unknown name is the admins' alone
    assert "温州机密项目" not in seen  # nor is what an admin did

    seen = _pages(two_cities["lishui"], *QUERIES)
    assert "<td>lishui</td>" in seen and "<td>liandu</td>" in seen
    assert "登录失败" in _pages(two_cities["lishui"], "?username=liandu&action=login_failed")
    for other in ("admin", "wenzhou", "lucheng", TYPED):
        assert f"<td>{other}</td>" not in seen, other


def test_admins_see_every_line(two_cities):
    seen = _pages(two_cities["admin"], "")
    for name in ("admin", "lishui", "liandu", "wenzhou", "lucheng", TYPED):
        assert f"<td>{name}</td>" in seen, name
    assert "温州机密项目" in seen


def test_a_county_scope_keeps_only_the_countys_lines(app, two_cities):
    with app.app_context():
        liandu = db.session.scalars(db.select(User).filter_by(username="liandu")).one()
        entries = audit_entries(db.session, scope_of(db.session, liandu))
        assert {(e.username, e.action) for e in entries} == {
            ("liandu", "login"),
            ("liandu", "login_failed"),
        }
