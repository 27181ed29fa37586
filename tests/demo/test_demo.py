"""flask demo-data: the two seed projects, their county splits, answers, and the admin."""

from sqlalchemy import func, select

from survey.accounts.models import User
from survey.db import db
from survey.responses.models import Response
from survey.sites.models import Project, Site


def _sites_per_county(app, project_name):
    with app.app_context():
        rows = db.session.execute(
            select(Site.region_id, func.count())
            .join(Site.project)
            .where(Project.name == project_name)
            .group_by(Site.region_id)
        ).all()
        project = db.session.scalars(select(Project).where(Project.name == project_name)).one()
        targets = {t.region.name: t.site_count for t in project.targets}
        names = {t.region_id: t.region.name for t in project.targets}
        return {names[region]: n for region, n in rows}, targets


def test_demo_creates_both_seed_projects_with_their_county_splits(app, runner, count):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    lishui, lishui_targets = _sites_per_county(app, "2022年建成康养联合体20家")
    assert lishui == {
        "开发区": 1, "莲都区": 2, "龙泉市": 2, "青田县": 3, "云和县": 2,
        "庆元县": 1, "缙云县": 3, "遂昌县": 3, "松阳县": 2, "景宁县": 1,
    }  # fmt: skip
    assert lishui_targets == lishui
    wenzhou, wenzhou_targets = _sites_per_county(app, "居家养老服务照料中心改造提升")
    assert sum(wenzhou.values()) == 110
    assert wenzhou["鹿城区"] == 11 and wenzhou["乐清市"] == 13 and wenzhou["龙港市"] == 2
    assert wenzhou_targets["经开区"] == 0
    assert count(Site) == 130
    assert count(Response) > 130 * 10
    assert {count(Response, channel=c) > 0 for c in ("qr", "phone", "visit")} == {True}
    assert "http://survey.test/s/" in result.output


def test_demo_is_idempotent(runner, count):
    runner.invoke(args=["demo-data"])
    sites, responses = count(Site), count(Response)
    again = runner.invoke(args=["demo-data"])
    assert again.exit_code == 0
    assert "已存在" in again.output
    assert (count(Site), count(Response)) == (sites, responses)


def test_demo_admin_gets_a_one_time_password_hashed_with_argon2id(app, runner):
    output = runner.invoke(args=["demo-data"]).output
    password = output.split("一次性密码：")[1][:14]
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.username == "admin")).one()
        assert admin.role == "admin" and admin.must_change_password
        assert admin.password_hash.startswith("$argon2id$")
        assert password not in admin.password_hash
        from argon2 import PasswordHasher

        assert PasswordHasher().verify(admin.password_hash, password)


def test_demo_has_a_city_and_a_county_user_and_the_acceptance_checklist(app, runner):
    output = runner.invoke(args=["demo-data"]).output
    assert "市级用户 lishui（丽水市）" in output and "县级用户 liandu（莲都区）" in output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(select(User))}
        assert users["lishui"].region.name == "丽水市" and users["lishui"].role == "city"
        assert users["liandu"].region.name == "莲都区" and users["liandu"].role == "county"
        lishui = db.session.scalars(select(Project).where(Project.year == 2022)).one()
        items = lishui.current_checklist.items
        assert len(items) == 5 and "康复区域" in items[0]["text"]
        wenzhou = db.session.scalars(select(Project).where(Project.year == 2021)).one()
        items = wenzhou.current_checklist.items  # seed 003 附件2, 必备 marked
        assert "建筑面积不少于 300 平方米" in items[0]["text"] and items[0]["required"]
        assert any(not item["required"] for item in items)
