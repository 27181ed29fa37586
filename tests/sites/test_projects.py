"""Admins and city users create and edit projects in the browser; a finished project's
links say so kindly and store nothing, its data stays; county users cannot set up projects
and a city user never reaches another city's project."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import selectinload

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.questionnaires.models import Questionnaire, QuestionnaireVersion
from survey.regions.models import Region
from survey.responses.models import Response
from survey.sites.models import Project, ProjectTarget, Site
from survey.sites.posters import poster_content, print_batch
from tests.helpers import PASSWORD, answer, csrf_of, log_in, open_form, same_session_clients


@dataclass
class World:
    """Region ids and one site of a 丽水市 project, with a 温州市 next door."""

    lishui: int
    liandu: int
    longquan: int
    zijin: int  # a township under 莲都区
    wenzhou: int
    lucheng: int
    site: object


@pytest.fixture
def world(app, make_site):
    site = make_site()  # 丽水市 → 莲都区, project 2022年建成康养联合体20家
    make_site(name="龙泉市社会福利中心", county="龙泉市")
    with app.app_context():
        session = db.session
        with write_transaction(session):
            lishui = session.scalars(db.select(Region).filter_by(name="丽水市")).one()
            liandu = session.scalars(db.select(Region).filter_by(name="莲都区")).one()
            zijin = Region(name="紫金街道", level="township", parent=liandu)
            wenzhou = Region(name="温州市", level="city")
            lucheng = Region(name="鹿城区", level="county", parent=wenzhou)
            session.add_all([zijin, wenzhou, lucheng])
        longquan = session.scalars(db.select(Region).filter_by(name="龙泉市")).one()
        return World(lishui.id, liandu.id, longquan.id, zijin.id, wenzhou.id, lucheng.id, site)


def _as(app, make_user, username, role, region=None):
    make_user(username, role=role, region=region)
    return log_in(app.test_client(), username, PASSWORD)


def _post(client, path, data, page=None):
    token = csrf_of(client.get(page or path).data)
    return client.post(path, data={"csrf_token": token, **data})


def _form(world, **changes):
    form = {
        "name": "2025年长者食堂建设",
        "year": "2025",
        "region_id": str(world.lishui),
        "description": "每个县建成长者食堂。",
        "hotline": "",
        "starter": "canteen",
        f"target.{world.liandu}": "2",
        f"target.{world.longquan}": "3",
    }
    return {**form, **changes}


def _project(app, name) -> Project:
    with app.app_context():
        query = (
            db.select(Project)
            .filter_by(name=name)
            .options(
                selectinload(Project.targets),
                selectinload(Project.questionnaire)
                .selectinload(Questionnaire.versions)
                .selectinload(QuestionnaireVersion.questions),
            )
        )
        return db.session.scalars(query).one()


def _audit(app, action):
    with app.app_context():
        query = db.select(AuditEntry).filter_by(action=action).order_by(AuditEntry.id)
        return [(e.username, e.detail) for e in db.session.scalars(query)]


def _stored(count):
    return (count(Project), count(Questionnaire), count(ProjectTarget), count(AuditEntry))


def test_an_admin_creates_a_project_from_a_starter_with_its_targets(app, admin, world):
    assert admin.get("/admin/projects/new").status_code == 200
    reply = _post(admin, "/admin/projects/new", _form(world))
    assert reply.status_code == 302
    project = _project(app, "2025年长者食堂建设")
    assert reply.headers["Location"].endswith(f"/admin/projects/{project.id}")
    assert (project.year, project.region_id, project.status, project.hotline) == (
        2025,
        world.lishui,
        "active",
        "",
    )
    assert project.description == "每个县建成长者食堂。"
    assert project.satisfied_from == 3
    questions = project.questionnaire.current_version.questions
    assert [q.key for q in questions] == ["overall", "taste", "price", "hygiene"]
    assert {t.region_id: t.site_count for t in project.targets} == {
        world.liandu: 2,
        world.longquan: 3,
    }
    ((who, detail),) = _audit(app, "project_created")
    assert who == "admin"
    assert "2025年长者食堂建设" in detail and "长者食堂" in detail and "莲都区 2" in detail
    page = admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert "已创建项目" in page and "进行中" in page and "12345（默认）" in page
    assert "2025年长者食堂建设" in admin.get("/admin/").get_data(as_text=True)


def test_a_blank_target_counts_as_zero_and_stores_no_row(app, admin, world):
    form = _form(world, **{f"target.{world.liandu}": " ", f"target.{world.longquan}": "0"})
    assert _post(admin, "/admin/projects/new", form).status_code == 302
    assert _project(app, "2025年长者食堂建设").targets == []


def test_a_city_user_creates_a_project_for_their_own_city(app, make_user, world, count):
    lishui = _as(app, make_user, "lishui", "city", "丽水市")
    page = lishui.get("/admin/projects/new").get_data(as_text=True)
    assert "丽水市" in page and "温州市" not in page  # only their city is offered
    reply = _post(lishui, "/admin/projects/new", _form(world, starter="day_care"))
    assert reply.status_code == 302
    project = _project(app, "2025年长者食堂建设")
    assert project.region_id == world.lishui
    assert len(project.questionnaire.current_version.questions) == 5
    assert _audit(app, "project_created")[0][0] == "lishui"


def test_a_city_user_cannot_pick_another_city(app, make_user, world, count):
    lishui = _as(app, make_user, "lishui", "city", "丽水市")
    before = _stored(count)
    form = _form(world, region_id=str(world.wenzhou))
    form.pop(f"target.{world.liandu}"), form.pop(f"target.{world.longquan}")
    reply = _post(lishui, "/admin/projects/new", form)
    assert reply.status_code == 422
    assert "请选择项目所属的市" in reply.get_data(as_text=True)
    assert _stored(count) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "请填写项目名称"),
        ({"name": "   "}, "请填写项目名称"),
        ({"name": "项" * 2000}, "不超过 200 个字"),
        ({"name": "两行\n名称"}, "不要换行"),
        ({"year": "1800"}, "年度应在 2000 到 2100 之间"),
        ({"year": "二〇二五"}, "年度应是四位数字"),
        ({"year": ""}, "年度应是四位数字"),
        ({"region_id": "99999"}, "请选择项目所属的市"),
        ({"region_id": "2147483648"}, "请选择项目所属的市"),  # past any id: no database error
        ({"region_id": "99999999999999999999"}, "请选择项目所属的市"),
        ({"region_id": ""}, "请选择项目所属的市"),
        ({"region_id": "COUNTY"}, "请选择项目所属的市"),  # a county is no owning region
        ({"region_id": "TOWNSHIP"}, "请选择项目所属的市"),
        ({"target.LIANDU": "-1"}, "0 到 9999 之间的整数"),
        ({"target.LIANDU": "2.5"}, "0 到 9999 之间的整数"),
        ({"target.LIANDU": "10000"}, "0 到 9999 之间的整数"),
        ({"target.LUCHENG": "1"}, "不属于丽水市的县"),  # another city's county
        ({"target.99999": "1"}, "不属于丽水市的县"),
        ({"target.abc": "1"}, "有些内容需要改正"),
        ({"starter": "unknown"}, "请选择问卷模板"),
        ({"hotline": "打电话给我"}, "服务热线只能填数字"),
        ({"hotline": "1" * 31}, "不超过 30 个字符"),
    ],
)
def test_bad_project_input_is_refused_and_nothing_is_stored(admin, world, count, changes, message):
    names = {"COUNTY": world.liandu, "TOWNSHIP": world.zijin}
    ids = {"LIANDU": world.liandu, "LUCHENG": world.lucheng}
    form = _form(world)
    for key, value in changes.items():
        for word, region_id in ids.items():
            key = key.replace(word, str(region_id))
        form[key] = str(names.get(value, value))
    before = _stored(count)
    reply = _post(admin, "/admin/projects/new", form, page="/admin/projects/new")
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert message in page
    assert _stored(count) == before


def test_the_form_keeps_what_was_typed_when_refused(admin, world):
    reply = _post(admin, "/admin/projects/new", _form(world, year="1800", hotline="0578-2123456"))
    page = reply.get_data(as_text=True)
    assert 'value="2025年长者食堂建设"' in page and 'value="0578-2123456"' in page
    assert f'name="target.{world.liandu}" value="2"' in page


def test_editing_a_project_changes_its_settings_and_targets_and_is_audited(app, admin, world):
    project_id = world.site.project_id
    page = admin.get(f"/admin/projects/{project_id}/edit").get_data(as_text=True)
    assert 'value="2022年建成康养联合体20家"' in page and "问卷模板" not in page
    form = _form(
        world,
        name="康养联合体（改名）",
        year="2023",
        hotline="0578-2123456",
        status="active",
        **{f"target.{world.liandu}": "4", f"target.{world.longquan}": ""},
    )
    form.pop("starter")
    reply = _post(admin, f"/admin/projects/{project_id}/edit", form)
    assert reply.status_code == 302
    project = _project(app, "康养联合体（改名）")
    assert (project.year, project.hotline) == (2023, "0578-2123456")
    assert {t.region_id: t.site_count for t in project.targets} == {world.liandu: 4}
    ((who, detail),) = _audit(app, "project_changed")
    assert who == "admin"
    assert "名称：2022年建成康养联合体20家 → 康养联合体（改名）" in detail
    assert "年度：2022 → 2023" in detail and "服务热线：（默认） → 0578-2123456" in detail
    assert "目标：无 → 莲都区 4" in detail
    # The same form again changes nothing and logs nothing.
    form["name"] = "康养联合体（改名）"
    again = _post(admin, f"/admin/projects/{project_id}/edit", form)
    assert "没有改动" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert len(_audit(app, "project_changed")) == 1


def test_saving_the_same_change_many_times_at_once_saves_it_once(app, admin, world):
    project_id = world.site.project_id
    form = _form(world, status="active", **{f"target.{world.liandu}": "4"})
    form.pop("starter")
    form["csrf_token"] = csrf_of(admin.get(f"/admin/projects/{project_id}/edit").data)
    clients = same_session_clients(app, admin, 6)
    url = f"/admin/projects/{project_id}/edit"
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda c: c.post(url, data=form).status_code, clients))
    assert statuses == [302] * 6
    targets = {t.region_id: t.site_count for t in _project(app, form["name"]).targets}
    assert targets == {world.liandu: 4, world.longquan: 3}
    assert len(_audit(app, "project_changed")) == 1


def test_a_project_with_sites_keeps_its_city(app, admin, world, count):
    form = _form(world, region_id=str(world.wenzhou), status="active")
    form.pop(f"target.{world.liandu}"), form.pop(f"target.{world.longquan}")
    before = _stored(count)
    reply = _post(admin, f"/admin/projects/{world.site.project_id}/edit", form)
    assert reply.status_code == 422
    assert "项目已有点位，不能更改所属的市" in reply.get_data(as_text=True)
    assert _stored(count) == before
    assert _project(app, "2022年建成康养联合体20家").region_id == world.lishui


def test_bad_status_is_refused(admin, world):
    form = _form(world, status="paused")
    reply = _post(admin, f"/admin/projects/{world.site.project_id}/edit", form)
    assert reply.status_code == 422
    assert "请选择项目状态" in reply.get_data(as_text=True)


def test_county_users_get_403_on_every_project_page(app, make_user, world, count):
    county = _as(app, make_user, "liandu", "county", "莲都区")
    project_id, site = world.site.project_id, world.site
    for path in (
        "/admin/",
        "/admin/projects/new",
        f"/admin/projects/{project_id}",
        f"/admin/projects/{project_id}/edit",
        f"/admin/projects/{project_id}/posters.pdf",
        f"/admin/sites/{site.id}/qr.png",
        f"/admin/sites/{site.id}/poster.pdf",
    ):
        assert county.get(path).status_code == 403, path
    token = csrf_of(county.get("/account/password").data)
    before = _stored(count)
    for path in (
        "/admin/projects/new",
        f"/admin/projects/{project_id}/edit",
        f"/admin/sites/{site.id}/rotate",
    ):
        reply = county.post(path, data={"csrf_token": token, **_form(world, status="finished")})
        assert reply.status_code == 403, path
    assert _stored(count) == before


def test_a_city_user_never_reaches_another_citys_project(app, make_user, world, count):
    wenzhou = _as(app, make_user, "wenzhou", "city", "温州市")
    project_id, site = world.site.project_id, world.site
    assert "2022年建成康养联合体20家" not in wenzhou.get("/admin/").get_data(as_text=True)
    for path in (
        f"/admin/projects/{project_id}",
        f"/admin/projects/{project_id}/edit",
        f"/admin/projects/{project_id}/posters.pdf",
        f"/admin/projects/{project_id}/posters.zip",
        f"/admin/sites/{site.id}/qr.png",
        f"/admin/sites/{site.id}/poster.png",
        "/admin/projects/99999",
    ):
        assert wenzhou.get(path).status_code == 404, path
    token = csrf_of(wenzhou.get("/admin/").data)
    before = _stored(count)
    edit = _form(world, region_id=str(world.wenzhou), status="finished")
    reply = wenzhou.post(f"/admin/projects/{project_id}/edit", data={"csrf_token": token, **edit})
    assert reply.status_code == 404
    reply = wenzhou.post(f"/admin/sites/{site.id}/rotate", data={"csrf_token": token})
    assert reply.status_code == 404
    assert _stored(count) == before
    assert _project(app, "2022年建成康养联合体20家").status == "active"


def test_a_city_user_works_on_their_own_citys_project(app, make_user, world):
    lishui = _as(app, make_user, "lishui", "city", "丽水市")
    project_id, site = world.site.project_id, world.site
    assert "2022年建成康养联合体20家" in lishui.get("/admin/").get_data(as_text=True)
    assert site.name in lishui.get(f"/admin/projects/{project_id}").get_data(as_text=True)
    assert lishui.get(f"/admin/sites/{site.id}/qr.svg").status_code == 200
    posters = lishui.get(f"/admin/projects/{project_id}/posters.pdf")
    assert posters.status_code == 200
    reply = _post(lishui, f"/admin/sites/{site.id}/rotate", {}, page="/admin/")
    assert reply.status_code == 302
    assert _audit(app, "token_rotated")[0][0] == "lishui"


def _set_status(client, world, status):
    form = _form(world, name="2022年建成康养联合体20家", year="2022", status=status)
    form.pop("starter")
    form.pop(f"target.{world.longquan}"), form.pop(f"target.{world.liandu}")
    reply = _post(client, f"/admin/projects/{world.site.project_id}/edit", form)
    assert reply.status_code == 302
    return reply


def test_a_finished_projects_links_say_so_and_store_nothing_until_reopened(
    app, admin, world, count
):
    token = world.site.token
    answer(admin, token, overall="5")
    assert admin.get(f"/s/{token}").status_code == 200  # the form page is now cached
    nonce = open_form(app.test_client(), token)
    api_nonce = admin.get(f"/api/v1/sites/{token}").get_json()["nonce"]

    reply = _set_status(admin, world, "finished")
    assert "已结束" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert "状态：进行中 → 已结束" in _audit(app, "project_changed")[0][1]

    resident = app.test_client()
    page = resident.get(f"/s/{token}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "本次评价已结束" in text and 'name="nonce"' not in text
    assert page.headers["Cache-Control"] == "no-store"
    assert resident.get(f"/S/{token.lower()}").status_code == 200
    refused = answer(resident, token, nonce=nonce, overall="1")
    assert refused.status_code == 409
    assert "本次评价已结束" in refused.get_data(as_text=True)
    assert answer(resident, token, nonce="forged", overall="1").status_code == 409
    api = resident.get(f"/api/v1/sites/{token}")
    assert api.status_code == 409 and "本次评价已结束" in api.get_json()["message"]
    payload = {"answers": {"overall": 1}, "comment": "", "nonce": api_nonce}
    posted = resident.post(f"/api/v1/sites/{token}/responses", json=payload)
    assert posted.status_code == 409
    assert posted.get_json()["message"].startswith("本次评价已结束")
    assert count(Response, site_id=world.site.id) == 1  # the earlier answer stays

    _set_status(admin, world, "active")
    assert 'name="nonce"' in resident.get(f"/s/{token}").get_data(as_text=True)
    assert answer(resident, token, nonce=nonce, overall="4").status_code == 303
    assert resident.post(f"/api/v1/sites/{token}/responses", json=payload).status_code == 201
    assert count(Response, site_id=world.site.id) == 3


def test_a_finished_project_stays_on_the_dashboard(app, admin, make_user, world):
    answer(admin, world.site.token, overall="5")
    _set_status(admin, world, "finished")
    lishui = _as(app, make_user, "lishui", "city", "丽水市")
    page = lishui.get(f"/dashboard/projects/{world.site.project_id}")
    assert page.status_code == 200
    assert "2022年建成康养联合体20家" in page.get_data(as_text=True)
    assert "已结束" in lishui.get("/admin/").get_data(as_text=True)


def test_the_finished_page_names_the_projects_hotline(app, admin, world):
    form = _form(world, name="2022年建成康养联合体20家", year="2022", status="finished")
    form |= {"hotline": "0578-2123456"}
    form.pop("starter")
    _post(admin, f"/admin/projects/{world.site.project_id}/edit", form)
    page = app.test_client().get(f"/s/{world.site.token}").get_data(as_text=True)
    assert "0578-2123456" in page


def test_posters_print_the_projects_hotline_or_the_default(app, world):
    with app.app_context():
        site = db.session.get(Site, world.site.id)
        assert poster_content(site, "http://survey.test", "12345").hotline == "12345"
        with write_transaction(db.session):
            site.project.hotline = "0578-2123456"
        assert poster_content(site, "http://survey.test", "12345").hotline == "0578-2123456"
        batch = print_batch(db.session, site.project_id, "http://survey.test", "12345")
        assert {content.hotline for content in batch} == {"0578-2123456"}
