"""Adding, editing, retiring and re-enabling sites one by one: a new site's link works at
once, a retired site's link stops, bad input changes nothing, every change is audited."""

import pytest

from survey.accounts.models import AuditEntry
from survey.accounts.services import Actor
from survey.checks.models import Resident
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.regions.scope import EVERYTHING, Scope
from survey.sites import project_views, site_editing, site_views
from survey.sites.models import Project, Site, SiteToken
from survey.sites.tokens import rotate_token
from tests.helpers import post, staff_client
from tests.sites.site_helpers import make_world, sites_of


@pytest.fixture
def world(app, make_site, make_user):
    return make_world(app, make_site, make_user)


def _new(world, **fields):
    values = {
        "region_id": world.counties["莲都区"],
        "name": "白云街道康养联合体",
        "address": "丽水市莲都区白云路 1 号",
        "level": "township",
        "contact": "张主任 0578-2123456",
    }
    return values | fields


def _audit(app, action):
    with app.app_context():
        query = db.select(AuditEntry.detail).where(AuditEntry.action == action)
        return list(db.session.scalars(query.order_by(AuditEntry.id)))


def test_an_admin_adds_a_site_whose_link_works_at_once(app, client, world):
    admin = staff_client(app, "admin")
    page = admin.get(f"/admin/projects/{world.project_id}/sites/new")
    assert page.status_code == 200 and "莲都区" in page.get_data(as_text=True)
    reply = post(admin, f"/admin/projects/{world.project_id}/sites/new", _new(world))
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith(f"/admin/projects/{world.project_id}")
    site = sites_of(app, world.project_id)["白云街道康养联合体"]
    assert (site.region.name, site.address, site.level, site.contact, site.active) == (
        "莲都区",
        "丽水市莲都区白云路 1 号",
        "township",
        "张主任 0578-2123456",
        True,
    )
    assert site.token
    assert client.get(f"/s/{site.token}").status_code == 200
    assert admin.get(f"/admin/sites/{site.id}/poster.pdf").status_code == 200
    (detail,) = _audit(app, "site_created")
    assert "莲都区 · 白云街道康养联合体" in detail and site.token in detail
    listing = admin.get(f"/admin/projects/{world.project_id}").get_data(as_text=True)
    for link in ("添加点位", "批量导入点位", "导出点位清单", f"/admin/sites/{site.id}/edit"):
        assert link in listing


def test_a_city_user_adds_a_site_in_their_city_only(app, world, count):
    lishui = staff_client(app, "lishui")
    reply = post(lishui, f"/admin/projects/{world.project_id}/sites/new", _new(world))
    assert reply.status_code == 302
    before = count(Site)
    # 鹿城区 belongs to 温州市: not a county of this project.
    other = _new(world, name="别处", region_id=world.counties["鹿城区"])
    reply = post(lishui, f"/admin/projects/{world.project_id}/sites/new", other)
    assert reply.status_code == 422
    assert "请选择丽水市下属的县（市、区）" in reply.get_data(as_text=True)
    # 温州市's project is not theirs at all.
    url = f"/admin/projects/{world.wenzhou_project_id}/sites/new"
    assert lishui.get(url).status_code == 404
    assert post(lishui, url, _new(world, region_id=world.counties["鹿城区"])).status_code == 404
    assert count(Site) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": ""}, "点位名称不能为空"),
        ({"name": "   "}, "点位名称不能为空"),
        ({"name": "站" * 201}, "点位名称不能超过 200 个字"),
        ({"name": "两行\n名称"}, "不要换行"),
        ({"address": "路" * 301}, "地址不能超过 300 个字"),
        ({"contact": "人" * 101}, "联系人不能超过 100 个字"),
        ({"level": "province"}, "级别只能是“市县级”或“乡镇级”"),
        ({"region_id": ""}, "请选择县（市、区）"),
        ({"region_id": "abc"}, "请选择县（市、区）"),
        ({"region_id": "999999"}, "请选择丽水市下属的县（市、区）"),
        ({"region_id": "99999999999999999999"}, "请选择县（市、区）"),  # no database error
        ({"name": "紫金街道康养联合体"}, "莲都区已有名为“紫金街道康养联合体”的点位"),
    ],
)
def test_bad_site_forms_are_refused_in_chinese_and_change_nothing(
    app, world, count, fields, message
):
    admin = staff_client(app, "admin")
    before = (count(Site), count(SiteToken), count(AuditEntry, action="site_created"))
    reply = post(admin, f"/admin/projects/{world.project_id}/sites/new", _new(world, **fields))
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert (count(Site), count(SiteToken), count(AuditEntry, action="site_created")) == before


def test_the_same_name_may_be_used_in_another_county(app, world):
    admin = staff_client(app, "admin")
    fields = _new(world, name=world.liandu.name, region_id=world.counties["青田县"])
    reply = post(admin, f"/admin/projects/{world.project_id}/sites/new", fields)
    assert reply.status_code == 302
    with app.app_context():
        query = db.select(Site.region_id).where(Site.name == world.liandu.name)
        regions = set(db.session.scalars(query))
    assert regions == {world.counties["莲都区"], world.counties["青田县"]}


def test_editing_keeps_the_link_and_logs_what_changed(app, client, world):
    admin = staff_client(app, "admin")
    url = f"/admin/sites/{world.liandu.id}/edit"
    page = admin.get(url).get_data(as_text=True)
    assert world.liandu.name in page
    client.get(f"/s/{world.liandu.token}")  # the form page is cached with the old name
    fields = _new(world, name="紫金康养联合体（新址）", level="city_county", contact="")
    reply = post(admin, url, fields)
    assert reply.status_code == 302
    assert "请重新打印海报" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    site = sites_of(app, world.project_id)["紫金康养联合体（新址）"]
    assert (site.level, site.address, site.token) == (
        "city_county",
        "丽水市莲都区白云路 1 号",
        world.liandu.token,
    )
    assert "紫金康养联合体（新址）" in client.get(f"/s/{world.liandu.token}").get_data(as_text=True)
    (detail,) = _audit(app, "site_changed")
    assert "名称“紫金街道康养联合体”→“紫金康养联合体（新址）”" in detail
    assert "级别“乡镇级”→“市县级”" in detail
    # Saving without a change logs nothing and asks for no new poster.
    reply = post(admin, url, fields)
    assert "请重新打印海报" not in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert len(_audit(app, "site_changed")) == 1


def test_editing_into_a_name_the_county_has_is_refused(app, world, make_site):
    make_site("岩泉街道康养联合体", county="莲都区")
    admin = staff_client(app, "admin")
    url = f"/admin/sites/{world.liandu.id}/edit"
    reply = post(admin, url, _new(world, name="岩泉街道康养联合体"))
    assert reply.status_code == 422
    assert "莲都区已有名为“岩泉街道康养联合体”的点位" in reply.get_data(as_text=True)
    assert world.liandu.name in sites_of(app, world.project_id)
    # Keeping its own name is no clash.
    assert post(admin, url, _new(world, name=world.liandu.name)).status_code == 302


def test_a_site_with_a_roster_cannot_move_to_another_county(app, world):
    with app.app_context(), write_transaction(db.session):
        db.session.add(
            Resident(
                project_id=world.project_id,
                site_id=world.liandu.id,
                region_id=world.counties["莲都区"],
                name_token="x",
                phone_token="x",
                phone_digest="d",
            )
        )
    admin = staff_client(app, "admin")
    fields = _new(world, name=world.liandu.name, region_id=world.counties["青田县"])
    reply = post(admin, f"/admin/sites/{world.liandu.id}/edit", fields)
    assert reply.status_code == 422 and "已有服务对象名单" in reply.get_data(as_text=True)
    assert sites_of(app, world.project_id)[world.liandu.name].region.name == "莲都区"


def test_retiring_stops_the_link_and_re_enabling_issues_a_new_one(app, client, world, count):
    admin = staff_client(app, "admin")
    assert client.get(f"/s/{world.liandu.token}").status_code == 200  # now cached
    reply = post(admin, f"/admin/sites/{world.liandu.id}/retire")
    assert reply.status_code == 302
    site = sites_of(app, world.project_id)[world.liandu.name]
    assert site.active is False and site.token is None
    assert client.get(f"/s/{world.liandu.token}").status_code == 404
    assert "已停用" in admin.get(f"/admin/projects/{world.project_id}").get_data(as_text=True)
    # Retiring twice says so and logs once.
    reply = post(admin, f"/admin/sites/{world.liandu.id}/retire")
    assert reply.status_code == 302
    assert "已经停用" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert len(_audit(app, "site_retired")) == 1

    reply = post(admin, f"/admin/sites/{world.liandu.id}/enable")
    assert reply.status_code == 302
    site = sites_of(app, world.project_id)[world.liandu.name]
    assert site.active is True and site.token not in (None, world.liandu.token)
    assert client.get(f"/s/{site.token}").status_code == 200
    assert client.get(f"/s/{world.liandu.token}").status_code == 410  # "replaced"
    assert count(SiteToken, site_id=world.liandu.id) == 2
    (detail,) = _audit(app, "site_enabled")
    assert site.token in detail
    reply = post(admin, f"/admin/sites/{world.liandu.id}/enable")
    assert "无需启用" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert count(SiteToken, site_id=world.liandu.id) == 2


def _site_pages(site: int, project: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(pages opened, pages posted to) of the site set-up, for one site and its project."""
    opened = (
        f"/admin/projects/{project}/sites/new",
        f"/admin/sites/{site}/edit",
        f"/admin/projects/{project}/sites/import",
        f"/admin/projects/{project}/sites.csv",
        f"/admin/projects/{project}/sites.xlsx",
    )
    posted = (
        f"/admin/projects/{project}/sites/new",
        f"/admin/sites/{site}/edit",
        f"/admin/sites/{site}/retire",
        f"/admin/sites/{site}/enable",
        f"/admin/projects/{project}/sites/import",
    )
    return opened, posted


def _meanwhile(app, change):
    """``change(session)`` committed by another request, as if between this one's reads."""
    with app.app_context(), write_transaction(db.session):
        change(db.session)


def test_enabling_twice_at_once_enables_once(app, world, count, monkeypatch):
    admin = staff_client(app, "admin")
    post(admin, f"/admin/sites/{world.liandu.id}/retire")
    read = site_views.site_to_set_up

    def read_then_enabled_elsewhere(site_id):
        site = read(site_id)  # read as retired; the other click enables it meanwhile
        _meanwhile(
            app, lambda s: site_editing.enable_site(s, Actor(None, ""), s.get(Site, site_id))
        )
        return site

    monkeypatch.setattr(site_views, "site_to_set_up", read_then_enabled_elsewhere)
    reply = post(admin, f"/admin/sites/{world.liandu.id}/enable")
    assert "无需启用" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert count(SiteToken, site_id=world.liandu.id) == 2  # the first's and the other click's
    assert count(SiteToken, site_id=world.liandu.id, retired_at=None) == 1


def test_rotating_twice_at_once_retires_the_code_the_other_rotation_issued(
    app, world, count, monkeypatch
):
    admin = staff_client(app, "admin")
    read = project_views._live_site
    issued = []

    def read_then_rotated_elsewhere(site_id):
        site = read(site_id)  # read with its first code; the other click rotates it meanwhile
        _meanwhile(app, lambda s: issued.append(rotate_token(s, s.get(Site, site_id)).token))
        return site

    monkeypatch.setattr(project_views, "_live_site", read_then_rotated_elsewhere)
    assert post(admin, f"/admin/sites/{world.liandu.id}/rotate").status_code == 302
    assert count(SiteToken, site_id=world.liandu.id) == 3
    assert count(SiteToken, site_id=world.liandu.id, retired_at=None) == 1
    (detail,) = _audit(app, "token_rotated")
    assert f"：{issued[0]} → " in detail  # not the first code, retired by the other click


def test_county_users_get_403_on_every_site_page(app, world):
    county = staff_client(app, "liandu")
    opened, posted = _site_pages(world.liandu.id, world.project_id)
    for url in opened:
        assert county.get(url).status_code == 403, url
    for url in posted:
        assert post(county, url, _new(world)).status_code == 403, url
    assert sites_of(app, world.project_id)[world.liandu.name].active is True


def test_another_citys_user_gets_404_for_sites_and_projects_not_theirs(app, world, count):
    wenzhou = staff_client(app, "wenzhou")
    project = world.project_id
    opened, posted = _site_pages(world.liandu.id, project)
    for url in opened:
        assert wenzhou.get(url).status_code == 404, url
    for url in posted:
        assert post(wenzhou, url, _new(world)).status_code == 404, url
    assert sites_of(app, project)[world.liandu.name].active is True
    assert count(AuditEntry, action="site_retired") == 0
    # Their own project's site is theirs.
    assert wenzhou.get(f"/admin/sites/{world.lucheng}/edit").status_code == 200
    assert wenzhou.get("/admin/sites/999999/edit").status_code == 404


def test_every_set_up_form_refuses_a_post_without_its_csrf_token(app, world, count):
    admin = staff_client(app, "admin")
    ids = {
        "project_id": world.project_id,
        "site_id": world.liandu.id,
        "region_id": world.counties["莲都区"],
        "user_id": 1,
        "import_id": 1,
        "recording_id": 1,
        "fmt": "pdf",
    }
    set_up = ("sites", "site_admin", "regions", "questionnaires", "users")
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.endpoint.split(".")[0] in set_up
    ]
    assert len(rules) >= 15
    for rule in rules:
        url = rule.build({name: ids[name] for name in rule.arguments})[1]
        assert admin.post(url, data=_new(world)).status_code == 400, url
    assert count(AuditEntry, action="login") == count(AuditEntry)  # nothing else happened


def test_ids_past_any_row_are_404_not_a_database_error(app, world):
    admin = staff_client(app, "admin")
    for n in ("2147483647", "2147483648", "99999999999999999999"):
        for url in (
            f"/admin/projects/{n}",
            f"/admin/projects/{n}/edit",
            f"/admin/projects/{n}/questionnaire",
            f"/admin/sites/{n}/edit",
            f"/admin/sites/{n}/qr.png",
            f"/admin/site-imports/{n}",
        ):
            assert admin.get(url).status_code == 404, url
        assert post(admin, f"/admin/sites/{n}/retire").status_code == 404


def test_a_name_taken_at_the_same_moment_is_refused_by_the_database(app, world, count, monkeypatch):
    monkeypatch.setattr("survey.sites.site_editing.same_name", lambda *_a, **_k: None)
    admin = staff_client(app, "admin")
    before = (count(Site), count(SiteToken))
    reply = post(
        admin, f"/admin/projects/{world.project_id}/sites/new", _new(world, name=world.liandu.name)
    )
    assert reply.status_code == 422
    assert "刚刚有人在同一县添加了同名点位" in reply.get_data(as_text=True)
    assert (count(Site), count(SiteToken)) == before
    assert count(AuditEntry, action="site_created") == 0


def test_the_counties_a_site_may_lie_in_follow_the_projects_region_and_the_scope(app):
    with app.app_context():
        session = db.session
        with write_transaction(session):
            province = Region(name="浙江省", level="province")
            lishui = Region(name="丽水市", level="city", parent=province)
            liandu = Region(name="莲都区", level="county", parent=lishui)
            jinyun = Region(name="缙云县", level="county", parent=lishui)
            lucheng = Region(
                name="鹿城区",
                level="county",
                parent=Region(name="温州市", level="city", parent=province),
            )
            Region(name="紫金街道", level="township", parent=liandu)  # below a county: never one
            session.add(province)

        def counties(owner, scope=EVERYTHING):
            project = Project(name="项目", year=2026, region_id=owner.id)
            return [r.name for r in site_editing.project_counties(session, project, scope)]

        assert counties(province) == sorted(["莲都区", "缙云县", "鹿城区"])
        assert counties(lishui) == sorted(["莲都区", "缙云县"])
        assert counties(liandu) == ["莲都区"]
        assert counties(province, Scope(frozenset({lucheng.id, jinyun.id}))) == sorted(
            ["缙云县", "鹿城区"]
        )
