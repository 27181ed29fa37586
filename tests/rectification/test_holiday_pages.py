"""Admins enter a year's holiday notice in the browser (or replace one, or correct a year
the package has); a bad notice comes back with the reasons and nothing stored; only admins
reach the pages; every notice saved is in the audit log."""

import pytest
from sqlalchemy.orm import selectinload

from survey.accounts.models import AuditEntry
from survey.db import db
from survey.rectification.models import HolidayNotice
from tests.helpers import log_in, post, staff_client

NEW = "/admin/holidays/new"
GOOD = {
    "year": "2027",
    "days_off": "2027-01-01\n2027/2/5 至 2027/2/11",
    "workdays": "2027-01-31\n2027-02-20",
    "source": "国务院办公厅关于2027年部分节假日安排的通知",
}


def _notices(app) -> list[HolidayNotice]:
    """The notices stored, with who entered them."""
    with app.app_context():
        query = db.select(HolidayNotice).options(selectinload(HolidayNotice.entered_by))
        return list(db.session.scalars(query.order_by(HolidayNotice.year)))


def _audit(app) -> list[str]:
    with app.app_context():
        query = db.select(AuditEntry.detail).where(AuditEntry.action == "holiday_notice_saved")
        return list(db.session.scalars(query.order_by(AuditEntry.id)))


def test_an_admin_enters_the_2027_notice_and_sees_it_listed(app, admin):
    listed = admin.get("/admin/holidays/")
    assert listed.status_code == 200
    assert "系统内置" in listed.text and "2026年" in listed.text
    assert "10月1日至10月7日" in listed.text  # 2026's National Day, from the package
    reply = post(admin, NEW, GOOD, page=NEW)
    assert reply.status_code == 302 and reply.headers["Location"] == "/admin/holidays/"
    (notice,) = _notices(app)
    days = [f"2027-02-{d:02}" for d in range(5, 12)]
    assert notice.days_off == ["2027-01-01", *days]
    assert notice.workdays == ["2027-01-31", "2027-02-20"]
    assert notice.source == GOOD["source"] and notice.entered_by.username == "admin"
    page = admin.get("/admin/holidays/").text
    assert "已保存2027年的放假安排" in page
    assert GOOD["source"] in page and "2月5日至2月11日" in page and "1月31日、2月20日" in page
    assert _audit(app) == [
        "2027年（录入）：放假 8 天，调休上班 2 天；国务院办公厅关于2027年部分节假日安排的通知"
    ]


def test_saving_a_year_again_replaces_its_notice(app, admin):
    post(admin, NEW, GOOD, page=NEW)
    form = admin.get("/admin/holidays/2027").text
    assert "2027-02-11\n2027-02-20" not in form and "2027-02-05\n2027-02-06" in form
    assert 'name="year" value="2027"' in form and "readonly" in form
    changed = GOOD | {"days_off": "2027-02-06至2027-02-12", "workdays": ""}
    page = "/admin/holidays/2027"
    assert post(admin, page, changed, page=page).status_code == 302
    (notice,) = _notices(app)
    assert notice.days_off[0] == "2027-02-06" and notice.workdays == []
    assert _audit(app)[1].startswith("2027年（替换）：放假 7 天，调休上班 0 天")


def test_a_year_the_package_covers_opens_with_its_days_to_correct(app, admin):
    form = admin.get("/admin/holidays/2026").text
    assert "2026-10-07" in form and "2026-09-20\n2026-10-10" in form
    assert admin.get("/admin/holidays/1999").status_code == 404
    corrected = {"year": "2026", "days_off": "2026-10-01至2026-10-08", "source": "更正"}
    page = "/admin/holidays/2026"
    assert post(admin, page, corrected, page=page).status_code == 302
    assert _audit(app) == ["2026年（覆盖 chinese-calendar）：放假 8 天，调休上班 0 天；更正"]
    assert "取代内置数据" in admin.get("/admin/holidays/").text


@pytest.mark.parametrize(
    ("changes", "messages"),
    [
        (
            {"year": "", "days_off": "", "source": ""},
            [
                "请填写年份（四位数字，如 2027）。",
                "请填写放假日期。",
                "请填写来源，如通知的标题和文号。",
            ],
        ),
        ({"year": "二〇二七"}, ["请填写年份（四位数字，如 2027）。"]),
        ({"year": "1999"}, ["年份应在 2000 到 2100 之间。"]),
        ({"days_off": "2027-02-05\n2月6日"}, ["看不懂“2月6日”"]),
        ({"days_off": "2027-02-30"}, ["看不懂“2027-02-30”"]),
        ({"days_off": "2027-02-11至2027-02-05"}, ["看不懂“2027-02-11至2027-02-05”"]),
        ({"days_off": "2026-12-31\n2027-01-01"}, ["这些日期不在2027年：2026-12-31（周四）。"]),
        (
            {"workdays": "2027-01-31\n2027-02-08"},
            ["调休上班日应是周六或周日，这些是工作日：2027-02-08（周一）。"],
        ),
        (
            {"workdays": "2027-02-06"},
            ["这些日期既是放假日期又是调休上班日期：2027-02-06（周六）。"],
        ),
        ({"days_off": "2027-01-01至2027-03-05"}, ["放假日期最多 60 天。"]),
        ({"source": "通知" * 101}, ["来源不超过 200 个字。"]),
    ],
)
def test_a_bad_notice_comes_back_with_the_reasons_and_nothing_stored(app, admin, changes, messages):
    reply = post(admin, NEW, GOOD | changes, page=NEW)
    assert reply.status_code == 422
    for message in messages:
        assert message in reply.text
    assert "保存放假安排" in reply.text  # the form again, as typed
    assert _notices(app) == [] and _audit(app) == []


def test_only_admins_reach_the_holidays_pages(app, client, make_site, make_user):
    make_site()
    make_user("lishui", "city", region="丽水市")
    make_user("liandu", "county", region="莲都区")
    for url in ("/admin/holidays/", NEW, "/admin/holidays/2027"):
        assert client.get(url).headers["Location"].startswith("/login")
        for user in ("lishui", "liandu"):
            assert staff_client(app, user).get(url).status_code == 403
    city = staff_client(app, "lishui")
    assert post(city, NEW, GOOD).status_code == 403
    admin = log_in(app.test_client(), "admin", make_user())
    assert admin.post(NEW, data=GOOD).status_code == 400  # without its CSRF token
    assert _notices(app) == []
    assert 'href="/admin/holidays/"' in admin.get("/admin/").text
    assert 'href="/admin/holidays/"' not in city.get("/admin/").text
