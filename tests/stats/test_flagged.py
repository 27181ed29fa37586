"""Reviewing suspected stuffing: the dashboard says how many answers were left out, and a
city user restores (counted again) or confirms them (survey.stats.flagged)."""

import re

import pytest
from sqlalchemy import select

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.responses.models import Response
from tests.helpers import PASSWORD, answer, log_in, post
from tests.responses.test_stuffing import counted, resident


@pytest.fixture
def stuffed(app, world):
    """World's 莲都区 site with 3 answers flagged (sent too fast)."""
    app.config["STUFFING_CHECKS"] = True
    bot = resident(app, "203.0.113.9", cookies=False)
    for level in ("5", "5", "5"):
        answer(bot, world.liandu.token, overall=level)
    return world


def _ids(app, flag="pending") -> list[int]:
    with app.app_context():
        query = select(Response.id).where(Response.flag == flag).order_by(Response.id)
        return db.session.scalars(query).all()


def test_the_dashboard_says_how_many_answers_were_left_out(app, stuffed, staff):
    city = staff("lishui")
    project = city.get(f"/dashboard/projects/{stuffed.project_id}").get_data(as_text=True)
    assert "另有 3 份疑似刷评未计入" in project
    overview = city.get("/dashboard/").get_data(as_text=True)
    assert "另有 3 份疑似刷评未计入" in overview
    api = city.get(f"/api/v1/projects/{stuffed.project_id}/stats?group=site").get_json()
    left = {row["name"]: row["left_out"] for row in api["rows"]}
    assert left == {"紫金街道康养联合体": 3, "岩泉街道康养联合体": 0, "鹤城街道康养联合体": 0}
    # The other county's user sees nothing of it.
    qingtian = staff("qingtian").get(f"/dashboard/projects/{stuffed.project_id}")
    assert "疑似刷评未计入" not in qingtian.get_data(as_text=True)


def test_a_city_reviewer_restores_and_the_rate_counts_it(app, stuffed, staff):
    city = staff("lishui")
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    listing = city.get(url).get_data(as_text=True)
    assert "待审核（3）" in listing and "打开页面后立即提交" in listing
    first, *rest = _ids(app)
    reply = post(city, url, {"decision": "restore", "id": [str(first)]}, page=url)
    assert reply.status_code == 302
    assert counted(app, stuffed.liandu.id) == 1
    assert _ids(app, "restored") == [first]
    reply = post(city, url, {"decision": "confirm", "all": "true"}, page=url)
    assert reply.status_code == 302
    assert _ids(app, "confirmed") == rest and counted(app, stuffed.liandu.id) == 1
    # A restored answer confirmed after all leaves the rates again.
    restored = f"{url}?state=restored"
    post(city, restored, {"decision": "confirm", "id": [str(first)]}, page=url)
    assert counted(app, stuffed.liandu.id) == 0
    with app.app_context():
        lines = db.session.scalars(
            select(AuditEntry.detail).where(AuditEntry.action == "stuffing_reviewed")
        ).all()
    project = stuffed.project_id
    assert lines == [
        f"项目 {project}：恢复计入 1 份（编号 {first}）",
        f"项目 {project}：确认刷评 2 份（编号 {rest[0]}、{rest[1]}）",
        f"项目 {project}：确认刷评 1 份（编号 {first}）",
    ]


def test_a_review_with_nothing_ticked_is_refused_and_changes_nothing(app, stuffed, staff):
    city = staff("lishui")
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    reply = post(city, url, {"decision": "restore"}, page=url)
    assert reply.status_code == 422
    assert "请先勾选要处理的回答。" in reply.get_data(as_text=True)
    reply = post(city, url, {"decision": "publish", "id": [str(_ids(app)[0])]}, page=url)
    assert reply.status_code == 422
    assert "请选择“恢复计入”或“确认刷评”。" in reply.get_data(as_text=True)
    for forged in ({"id": ["abc", "-1", "9" * 40]}, {"all": "maybe"}):
        reply = post(city, url, {"decision": "restore"} | forged, page=url)
        assert reply.status_code == 422
        assert re.search("请先勾选要处理的回答。|“全部”的取值不对。", reply.get_data(as_text=True))
    for query in ("page=0", "site=abc", "state=gone", "page=x"):
        assert city.get(f"{url}?{query}").status_code == 422, query
    assert len(_ids(app)) == 3 and counted(app, stuffed.liandu.id) == 0


def test_ids_of_another_project_or_outside_the_list_change_nothing(app, stuffed, staff, make_site):
    other = make_site("某某照料中心", project="居家养老服务照料中心改造提升", county="莲都区")
    bot = resident(app, "203.0.113.10", cookies=False)
    answer(bot, other.token, overall="5")
    theirs = [i for i in _ids(app) if i not in _ids(app)[:3]]
    city = staff("lishui")
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    reply = post(city, url, {"decision": "restore", "id": [str(i) for i in theirs]}, page=url)
    assert reply.status_code == 302
    assert _ids(app, "restored") == []
    # A site's list restores that site's answers only, whatever ids come with "all".
    site_url = f"{url}?site={stuffed.liandu2.id}"
    post(city, site_url, {"decision": "restore", "all": "true"}, page=url)
    assert _ids(app, "restored") == []


def test_a_review_without_its_csrf_token_is_refused(app, stuffed, staff):
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    reply = staff("lishui").post(url, data={"decision": "restore", "all": "true"})
    assert reply.status_code == 400
    assert len(_ids(app)) == 3


def test_county_users_see_their_flagged_answers_but_only_the_city_decides(app, stuffed, staff):
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    liandu = staff("liandu")
    assert "待审核（3）" in liandu.get(url).get_data(as_text=True)
    assert post(liandu, url, {"decision": "restore", "all": "true"}, page=url).status_code == 403
    assert "待审核（0）" in staff("qingtian").get(url).get_data(as_text=True)
    assert len(_ids(app)) == 3


def test_another_citys_user_can_neither_see_nor_review_them(app, stuffed, make_user):
    with app.app_context(), write_transaction(db.session):
        db.session.add(Region(name="温州市", level="city"))
    make_user("wenzhou", "city", PASSWORD, region="温州市")
    other = log_in(app.test_client(), "wenzhou", PASSWORD)
    url = f"/dashboard/projects/{stuffed.project_id}/flagged"
    assert other.get(url).status_code == 404
    reply = post(other, url, {"decision": "restore", "id": [str(_ids(app)[0])]})
    assert reply.status_code == 404
    assert len(_ids(app)) == 3
