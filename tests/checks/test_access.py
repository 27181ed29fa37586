"""Who may reach the staff pages: login, roles, counties, CSRF."""

import pytest

from survey.accounts.models import AuditEntry
from survey.db import write_transaction
from tests.checks.conftest import record_visit
from tests.helpers import post


def _get_urls(world, r):
    p = world.project_id
    return [
        "/checks/",
        f"/checks/projects/{p}/roster",
        f"/checks/imports/{r.staged_import}",
        f"/checks/projects/{p}/samples",
        f"/checks/batches/{r.batch}",
        f"/checks/batches/{r.batch}/tasks.csv",
        f"/checks/tasks/{r.task}",
        f"/checks/projects/{p}/visits",
        f"/checks/sites/{world.qingtian.id}/visits/new",
        f"/checks/visits/{r.visit}",
        f"/checks/photos/{r.photo}",
    ]


def _post_urls(world, r):
    p = world.project_id
    return [
        f"/checks/projects/{p}/roster/import",
        f"/checks/projects/{p}/roster/search",
        f"/checks/imports/{r.staged_import}/confirm",
        f"/checks/imports/{r.staged_import}/cancel",
        f"/checks/residents/{r.resident}/delete",
        f"/checks/projects/{p}/samples",
        f"/checks/tasks/{r.task}/reveal",
        f"/checks/tasks/{r.task}/attempts",
        f"/checks/sites/{world.qingtian.id}/visits/new",
        f"/checks/visits/{r.visit}/interviews",
        f"/checks/visits/{r.visit}/delete",
    ]


@pytest.fixture
def qingtian(world, make_records):
    return make_records("qingtian", world.qingtian)


def test_anonymous_visitors_are_sent_to_the_login_page(app, world, qingtian):
    client = app.test_client()
    for url in _get_urls(world, qingtian) + ["/checks/notice"]:
        reply = client.get(url)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], url
    for url in _post_urls(world, qingtian):
        reply = client.post(url)  # the CSRF check comes first: no session, no token
        assert reply.status_code in (302, 400), url


def test_admins_manage_the_system_but_never_see_residents(staff, world, qingtian):
    client = staff("admin")
    for url in _get_urls(world, qingtian):
        assert client.get(url).status_code == 403, url
    for url in _post_urls(world, qingtian):
        assert post(client, url, page="/admin/").status_code == 403, url


def test_other_county_records_are_404_by_id(staff, world, qingtian, count):
    client = staff("liandu")
    county_owned = [u for u in _get_urls(world, qingtian) if "/projects/" not in u]
    for url in county_owned[1:]:
        assert client.get(url).status_code == 404, url
    # In staff words and with the staff menu, not the resident's hint about QR codes.
    page = client.get(county_owned[1]).get_data(as_text=True)
    assert "不在您管理的地区内" in page and "电话抽查与暗访" in page and "二维码" not in page
    for url in _post_urls(world, qingtian):
        if "/projects/" not in url:
            assert post(client, url).status_code == 404, url
    assert count(AuditEntry, action="phone_revealed") == 0


def test_lists_and_exports_show_only_the_own_county(staff, world, qingtian, make_records):
    mine = make_records("liandu", world.liandu)
    client = staff("liandu")
    p = world.project_id
    roster = client.get(f"/checks/projects/{p}/roster").get_data(as_text=True)
    assert "共 3 人" in roster and "鹤城" not in roster
    samples = client.get(f"/checks/projects/{p}/samples").get_data(as_text=True)
    assert f"批次 {mine.batch}" in samples and f"批次 {qingtian.batch}<" not in samples
    assert "鹤城" not in samples
    visits = client.get(f"/checks/projects/{p}/visits").get_data(as_text=True)
    assert "紫金" in visits and "鹤城" not in visits
    picked = client.get(f"/checks/projects/{p}/visits?count=50&seed=x").get_data(as_text=True)
    assert "鹤城" not in picked
    export = client.get(f"/checks/batches/{mine.batch}/tasks.csv").get_data(as_text=True)
    assert "紫金" in export and "鹤城" not in export
    assert client.get(f"/checks/batches/{qingtian.batch}/tasks.csv").status_code == 404
    # Another county's site code in an upload is an unknown site, not a leak.
    assert record_visit(client, world.qingtian).status_code == 404


def test_the_city_sees_every_county(staff, world, qingtian, make_records):
    mine = make_records("liandu", world.liandu)
    client = staff("lishui")
    for records in (mine, qingtian):
        for url in _get_urls(world, records):
            if "/imports/" not in url:  # a staged file is its uploader's alone
                assert client.get(url).status_code == 200, url
    roster = client.get(f"/checks/projects/{world.project_id}/roster").get_data(as_text=True)
    assert "共 6 人" in roster


def test_posts_without_the_csrf_token_are_refused(staff, world, qingtian, count):
    client = staff("qingtian")
    for url in _post_urls(world, qingtian):
        assert client.post(url).status_code == 400, url
    assert count(AuditEntry, action="phone_revealed") == 0


def test_the_audit_log_is_scoped_like_everything_else(app, staff, world, make_user):
    from survey.db import db
    from survey.regions.models import Region

    with app.app_context(), write_transaction(db.session):
        db.session.add(Region(name="温州市", level="city"))
    make_user("wenzhou", "city", "correct horse battery", region="温州市")
    staff("liandu")  # a login of 莲都区
    lishui = staff("lishui").get("/admin/audit?action=login").get_data(as_text=True)
    wenzhou = staff("wenzhou").get("/admin/audit?action=login").get_data(as_text=True)
    assert "<td>liandu</td>" in lishui
    assert "<td>liandu</td>" not in wenzhou and "<td>wenzhou</td>" in wenzhou
