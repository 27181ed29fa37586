"""Visit checklists: each project kind starts with its seed's list; admins and city staff edit
a project's list, and every save publishes a new version."""

import pytest

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.sites.checklists import DAY_CARE_CHECKLIST, checklist_items
from survey.sites.models import ChecklistVersion, Project
from tests.helpers import PASSWORD, csrf_of, log_in


@pytest.fixture
def project_id(app, make_site, make_user):
    site = make_site()  # 丽水市 → 莲都区
    with app.app_context(), write_transaction(db.session):
        db.session.add(Region(name="温州市", level="city"))
    make_user("admin", "admin")
    make_user("lishui", "city", region="丽水市")
    make_user("wenzhou", "city", region="温州市")
    make_user("liandu", "county", region="莲都区")
    return site.project_id


def _client(app, username):
    return log_in(app.test_client(), username, PASSWORD)


def _save(client, project_id, rows, required=(), page=None):
    url = f"/admin/projects/{project_id}/checklist"
    token = csrf_of(client.get(page or url).data)
    data = {"csrf_token": token, "item": list(rows), "required": [str(i) for i in required]}
    return client.post(url, data=data)


def _versions(app, project_id):
    with app.app_context():
        query = db.select(ChecklistVersion).filter_by(project_id=project_id)
        return [(v.number, v.items) for v in db.session.scalars(query.order_by("number"))]


def test_a_city_user_edits_the_checklist_and_each_save_is_a_new_version(app, project_id, count):
    client = _client(app, "lishui")
    page = client.get(f"/admin/projects/{project_id}").get_data(as_text=True)
    assert f"/admin/projects/{project_id}/checklist" in page  # linked from the project page
    editor = client.get(f"/admin/projects/{project_id}/checklist").get_data(as_text=True)
    assert "通用检查项" in editor and 'value="服务人员在岗"' in editor

    reply = _save(client, project_id, ["康复区域", "", "  合作协议  ", ""], required=[0])
    assert reply.status_code == 303
    assert _versions(app, project_id) == [
        (1, [{"text": "康复区域", "required": True}, {"text": "合作协议", "required": False}])
    ]
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "已发布第1版检查项" in page and "暗访现在用的是第1版" in page

    # The same list again publishes nothing; a change publishes version 2.
    assert _save(client, project_id, ["康复区域", "合作协议"], required=[0]).status_code == 303
    assert len(_versions(app, project_id)) == 1
    _save(client, project_id, ["康复区域", "合作协议"], required=[0, 1])
    assert [n for n, _ in _versions(app, project_id)] == [1, 2]
    assert count(AuditEntry, action="checklist_published") == 2
    with app.app_context():
        project = db.session.get(Project, project_id)
        assert [i["required"] for i in checklist_items(project)] == [True, True]


def test_a_bad_checklist_is_refused_with_its_rows_kept(app, project_id):
    client = _client(app, "admin")
    reply = _save(client, project_id, ["", " "])
    assert reply.status_code == 422 and "至少要有一项检查内容" in reply.get_data(as_text=True)
    reply = _save(client, project_id, ["康复区域", "长" * 201, "两\n行"], required=[0])
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert "第 2 行：每项检查内容不超过 200 个字" in page and "第 3 行：请写在一行里" in page
    assert 'value="康复区域"' in page and 'name="required" value="0" checked' in page
    assert _versions(app, project_id) == []
    # A forged 必备 tick (not a row number) is named in Chinese, not marshmallow's English.
    url = f"/admin/projects/{project_id}/checklist"
    token = csrf_of(client.get(url).data)
    reply = client.post(url, data={"csrf_token": token, "item": ["康复区域"], "required": "x"})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422 and "必备的勾选有误" in page and "Not a valid" not in page


def test_only_admins_and_the_projects_city_edit_its_checklist(app, project_id):
    url = f"/admin/projects/{project_id}/checklist"
    assert _client(app, "liandu").get(url).status_code == 403
    assert _client(app, "wenzhou").get(url).status_code == 404
    wenzhou = _client(app, "wenzhou")
    assert _save(wenzhou, project_id, ["x"], page="/admin/").status_code == 404
    assert _versions(app, project_id) == []


def test_a_new_projects_checklist_comes_from_its_kind(app, project_id):
    client = _client(app, "lishui")
    with app.app_context():
        lishui = db.session.scalars(db.select(Region).filter_by(name="丽水市")).one().id
    url = "/admin/projects/new"
    token = csrf_of(client.get(url).data)
    form = {"name": "照料中心提升", "year": "2025", "region_id": str(lishui), "starter": "day_care"}
    assert client.post(url, data={"csrf_token": token, **form}).status_code == 302
    with app.app_context():
        project = db.session.scalars(db.select(Project).filter_by(name="照料中心提升")).one()
        assert checklist_items(project) == DAY_CARE_CHECKLIST
        assert project.current_checklist.number == 1
    required = [item for item in DAY_CARE_CHECKLIST if item["required"]]
    assert 0 < len(required) < len(DAY_CARE_CHECKLIST)  # 必备 and 可选 from 附件2


def test_a_kinds_list_from_the_seeds_can_be_loaded_into_the_editor(app, project_id):
    client = _client(app, "lishui")
    url = f"/admin/projects/{project_id}/checklist"
    page = client.get(f"{url}?starter=day_care").get_data(as_text=True)
    assert "已载入“居家养老服务照料中心”的检查项，还没有保存" in page
    assert f'value="{DAY_CARE_CHECKLIST[0]["text"]}"' in page
    assert _versions(app, project_id) == []  # loading saves nothing
    texts = [item["text"] for item in DAY_CARE_CHECKLIST]
    required = [i for i, item in enumerate(DAY_CARE_CHECKLIST) if item["required"]]
    assert _save(client, project_id, texts, required=required).status_code == 303
    assert _versions(app, project_id) == [(1, DAY_CARE_CHECKLIST)]
    # An unknown kind just shows the current list.
    assert client.get(f"{url}?starter=nope").status_code == 200
