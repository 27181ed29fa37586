"""The callers' notice belongs to a city: each city publishes its own, a province user and an
admin set defaults, a call reads its site's city's notice and keeps the version read."""

import pytest
from sqlalchemy import select

from survey.checks.models import CallTask, Notice
from survey.checks.notices import DEFAULT_NOTICE
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.sites.models import Project
from tests.checks.conftest import import_roster, phone, roster_csv
from tests.helpers import PASSWORD, post

ANSWERS = {"q.overall": "4", "q.attitude": "0", "q.services": "1"}
LISHUI, WENZHOU = "您好，这里是丽水市民政局。", "您好，这里是温州市民政局。"


@pytest.fixture
def cities(app, world, make_site, make_user):
    """Beside the world's 丽水市: 温州市 with 鹿城区 and a project of its own, both cities in
    浙江省; users ``wenzhou`` (city), ``zhejiang`` (city user of the province) and
    ``lucheng`` (county). Returns the 鹿城区 site."""
    lucheng = make_site("五马街道照料中心", project="温州照料中心", county="鹿城区")
    with app.app_context(), write_transaction(db.session):
        province = Region(name="浙江省", level="province")
        wenzhou = Region(name="温州市", level="city", parent=province)
        db.session.scalars(select(Region).filter_by(name="丽水市")).one().parent = province
        db.session.scalars(select(Region).filter_by(name="鹿城区")).one().parent = wenzhou
        db.session.get(Project, lucheng.project_id).region = wenzhou
    make_user("wenzhou", "city", PASSWORD, region="温州市")
    make_user("zhejiang", "city", PASSWORD, region="浙江省")
    make_user("lucheng", "county", PASSWORD, region="鹿城区")
    return lucheng


def _task(app, client, project_id, site, n):
    """One call task in ``site``'s county, drawn by ``client`` (its county's user)."""
    rows = [(f"李{i}", phone(n + i), site.token, "") for i in range(2)]
    assert import_roster(client, project_id, roster_csv(rows)).status_code == 302
    reply = post(client, f"/checks/projects/{project_id}/samples", {"mode": "count", "size": "2"})
    batch = int(reply.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        query = select(CallTask.id).where(CallTask.batch_id == batch).order_by(CallTask.id)
        return list(db.session.scalars(query))


def _complete(client, task):
    reply = post(client, f"/checks/tasks/{task}/attempts", {"outcome": "completed", **ANSWERS})
    assert reply.status_code == 302


def _read(app, task):
    """(city or None, version, body) of the notice a completed call was made under."""
    with app.app_context():
        notice = db.session.get(CallTask, task).notice
        return (notice.region.name if notice.region else None, notice.version, notice.body)


def _publish(client, body):
    return post(client, "/checks/notice", {"body": body})


def test_a_call_reads_its_own_citys_notice_whatever_other_cities_publish(
    app, staff, world, cities, clock, count
):
    liandu, lucheng = staff("liandu"), staff("lucheng")
    here = _task(app, liandu, world.project_id, world.liandu, 0)
    there = _task(app, lucheng, cities.project_id, cities, 100)
    assert _publish(staff("lishui"), LISHUI).status_code == 302
    wenzhou = staff("wenzhou")
    for body in ("温州第一版", WENZHOU):
        assert _publish(wenzhou, body).status_code == 302

    page = liandu.get(f"/checks/tasks/{here[0]}").get_data(as_text=True)
    assert LISHUI in page and "丽水市告知语第 1 版" in page and "温州" not in page
    page = lucheng.get(f"/checks/tasks/{there[0]}").get_data(as_text=True)
    assert WENZHOU in page and "温州市告知语第 2 版" in page and LISHUI not in page
    _complete(liandu, here[0])
    _complete(lucheng, there[0])
    assert _read(app, here[0]) == ("丽水市", 1, LISHUI)
    assert _read(app, there[0]) == ("温州市", 2, WENZHOU)

    # 温州 publishing again changes nothing for 丽水's calls; a call keeps the version read.
    assert _publish(wenzhou, "温州第三版").status_code == 302
    _complete(liandu, here[1])
    assert _read(app, here[1]) == ("丽水市", 1, LISHUI)
    _complete(lucheng, there[1])
    assert _read(app, there[1]) == ("温州市", 3, "温州第三版")
    assert _read(app, there[0]) == ("温州市", 2, WENZHOU)
    assert count(Notice, region_id=None) == 0


def test_a_city_user_sees_and_publishes_only_their_citys_notice(app, staff, world, cities, count):
    lishui, wenzhou = staff("lishui"), staff("wenzhou")
    _publish(lishui, LISHUI)
    page = wenzhou.get("/checks/notice").get_data(as_text=True)
    assert LISHUI not in page and "温州市尚未发布自己的告知语" in page and DEFAULT_NOTICE in page
    _publish(wenzhou, WENZHOU)
    page = lishui.get("/checks/notice").get_data(as_text=True)
    assert LISHUI in page and "丽水市告知语第 1 版" in page and WENZHOU not in page
    with app.app_context():
        rows = db.session.execute(
            select(Region.name, Notice.version, Notice.body).join(Notice.region)
        )
        assert sorted(rows) == [("丽水市", 1, LISHUI), ("温州市", 1, WENZHOU)]


def test_cities_without_a_notice_read_the_province_default_then_the_admins(
    app, staff, world, cities, clock
):
    lucheng, admin = staff("lucheng"), staff("admin")
    tasks = _task(app, lucheng, cities.project_id, cities, 200)

    def read_on_call():
        return lucheng.get(f"/checks/tasks/{tasks[0]}").get_data(as_text=True)

    assert DEFAULT_NOTICE in read_on_call() and "默认告知语第 1 版" in read_on_call()
    assert _publish(admin, "全国默认").status_code == 302
    assert "全国默认" in read_on_call()
    assert _publish(staff("zhejiang"), "浙江默认").status_code == 302
    assert "浙江默认" in read_on_call() and "浙江省告知语第 1 版" in read_on_call()
    _publish(staff("lishui"), LISHUI)  # another city's own notice is not a default
    assert "浙江默认" in read_on_call()
    _complete(lucheng, tasks[0])
    assert _read(app, tasks[0]) == ("浙江省", 1, "浙江默认")
    assert "全国默认" in admin.get("/checks/notice").get_data(as_text=True)


def test_a_county_user_cannot_see_or_publish_a_notice(staff, world, count):
    liandu = staff("liandu")
    assert liandu.get("/checks/notice").status_code == 403
    assert _publish(liandu, "县里的告知语").status_code == 403
    assert count(Notice) == 0
