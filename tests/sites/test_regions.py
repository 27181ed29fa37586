"""Admins edit the region tree: add a child, rename, delete; a region anything refers to can
only be renamed; names are unique among siblings; every change is audited."""

import pytest

from survey.accounts.models import AuditEntry
from survey.db import db, write_transaction
from survey.regions.models import Region
from survey.sites import regions
from survey.sites.models import Project, ProjectTarget
from tests.helpers import PASSWORD, csrf_of, log_in


@pytest.fixture
def tree(app, make_site):
    """丽水市 → 莲都区 (with a site) and 龙泉市 (empty) → nothing; 温州市 alone."""
    make_site()
    with app.app_context():
        with write_transaction(db.session):
            lishui = db.session.scalars(db.select(Region).filter_by(name="丽水市")).one()
            db.session.add_all(
                [
                    Region(name="龙泉市", level="county", parent=lishui),
                    Region(name="温州市", level="city"),
                ]
            )
        return _ids(app)


def _ids(app) -> dict[str, int]:
    with app.app_context():
        return {r.name: r.id for r in db.session.scalars(db.select(Region))}


def _region(app, name) -> Region | None:
    with app.app_context():
        return db.session.scalars(db.select(Region).filter_by(name=name)).first()


def _post(client, path, data=None):
    token = csrf_of(client.get("/admin/regions/").data)
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _audit(app):
    with app.app_context():
        entries = db.session.scalars(
            db.select(AuditEntry).where(AuditEntry.action.like("region_%")).order_by(AuditEntry.id)
        )
        return [(e.action, e.detail) for e in entries]


def _tree_rows(app):
    with app.app_context():
        return sorted((r.name, r.level, r.parent_id) for r in db.session.scalars(db.select(Region)))


def test_admins_see_the_tree_and_the_nav_link(admin, tree):
    page = admin.get("/admin/regions/").get_data(as_text=True)
    for name in ("丽水市", "莲都区", "龙泉市", "温州市"):
        assert name in page
    assert "有点位" in page  # 莲都区 cannot be deleted
    assert 'href="/admin/regions/"' in admin.get("/admin/").get_data(as_text=True)


def test_city_and_county_users_get_403(app, make_user, tree, count):
    make_user("lishui", role="city", region="丽水市")
    make_user("liandu", role="county", region="莲都区")
    before = _tree_rows(app)
    for username in ("lishui", "liandu"):
        client = log_in(app.test_client(), username, PASSWORD)
        assert 'href="/admin/regions/"' not in client.get("/account/password").get_data(
            as_text=True
        )
        assert client.get("/admin/regions/").status_code == 403
        token = csrf_of(client.get("/account/password").data)
        for path, data in (
            ("/admin/regions/", {"parent_id": tree["丽水市"], "name": "新区"}),
            (f"/admin/regions/{tree['龙泉市']}/rename", {"name": "龙泉"}),
            (f"/admin/regions/{tree['龙泉市']}/delete", {}),
        ):
            reply = client.post(path, data={"csrf_token": token, **data})
            assert reply.status_code == 403, (username, path)
    assert _tree_rows(app) == before


def test_adding_children_takes_the_level_below_the_parent(app, admin, tree):
    reply = _post(admin, "/admin/regions/", {"parent_id": tree["丽水市"], "name": " 云和县 "})
    assert reply.status_code == 302
    yunhe = _region(app, "云和县")
    assert (yunhe.level, yunhe.parent_id) == ("county", tree["丽水市"])
    _post(admin, "/admin/regions/", {"parent_id": yunhe.id, "name": "浮云街道"})
    assert _region(app, "浮云街道").level == "township"
    _post(admin, "/admin/regions/", {"parent_id": "", "name": "浙江省", "level": "province"})
    assert (_region(app, "浙江省").level, _region(app, "浙江省").parent_id) == ("province", None)
    _post(admin, "/admin/regions/", {"name": "台州市", "level": "city"})
    assert _region(app, "台州市").level == "city"
    _post(admin, "/admin/regions/", {"parent_id": _region(app, "浙江省").id, "name": "湖州市"})
    assert _region(app, "湖州市").level == "city"
    assert [action for action, _ in _audit(app)] == ["region_created"] * 5
    assert _audit(app)[0][1] == "丽水市 › 云和县（县（市、区））"
    assert "已添加" in admin.get("/admin/regions/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"parent": "丽水市", "name": ""}, "请填写地区名称"),
        ({"parent": "丽水市", "name": "   "}, "请填写地区名称"),
        ({"parent": "丽水市", "name": "区" * 51}, "不超过 50 个字"),
        ({"parent": "丽水市", "name": "两行\n名字"}, "不要换行"),
        ({"parent": "丽水市", "name": "莲都区"}, "同一上级下已有“莲都区”"),
        ({"name": "温州市", "level": "city"}, "同一上级下已有“温州市”"),
        ({"name": "某县", "level": "county"}, "最上级只能添加省或市"),
        ({"name": "某地"}, "最上级只能添加省或市"),
        ({"parent_id": "99999", "name": "某地"}, "上级地区不存在"),
        ({"parent_id": "abc", "name": "某地"}, "上级地区不存在"),
        ({"parent_id": "99999999999999999999", "name": "某地"}, "上级地区不存在"),
        ({"parent": "TOWNSHIP", "name": "某村"}, "乡镇（街道）下不能再添加下级地区"),
    ],
)
def test_bad_additions_are_refused_and_change_nothing(app, admin, tree, data, message):
    with app.app_context(), write_transaction(db.session):
        liandu = db.session.get(Region, tree["莲都区"])
        db.session.add(Region(name="紫金街道", level="township", parent=liandu))
    parents = {"丽水市": tree["丽水市"], "TOWNSHIP": _region(app, "紫金街道").id}
    _assert_addition_refused(app, admin, data, parents, message)


def _assert_addition_refused(app, admin, data: dict, parents: dict, message: str) -> None:
    """Posting ``data`` (its "parent" named, looked up in ``parents``) answers 422 with
    ``message`` and changes nothing."""
    form = dict(data)
    if "parent" in form:
        form["parent_id"] = parents[form.pop("parent")]
    before = _tree_rows(app)
    reply = _post(admin, "/admin/regions/", form)
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert _tree_rows(app) == before
    assert _audit(app) == []


@pytest.mark.parametrize(
    "data", [{"name": "温州市", "level": "city"}, {"parent": "丽水市", "name": "莲都区"}]
)
def test_a_name_taken_since_the_check_is_refused_by_the_database(
    app, admin, tree, monkeypatch, data
):
    # Another request adding the same region between the check and the insert: the database
    # refuses it, at the top level (a partial unique index) as below it.
    monkeypatch.setattr(regions, "_check_name_free", lambda *args, **kwargs: None)
    _assert_addition_refused(app, admin, data, tree, "可能有人同时修改了地区")


def test_the_same_name_may_recur_under_another_parent(app, admin, tree):
    reply = _post(admin, "/admin/regions/", {"parent_id": tree["温州市"], "name": "龙泉市"})
    assert reply.status_code == 302


def test_renaming_keeps_everything_that_refers_to_the_region(app, admin, tree):
    reply = _post(admin, f"/admin/regions/{tree['莲都区']}/rename", {"name": "莲都新区"})
    assert reply.status_code == 302
    assert _region(app, "莲都新区").id == tree["莲都区"]
    assert _audit(app) == [("region_changed", "丽水市 › 莲都区 → 莲都新区")]
    with app.app_context():
        project_id = db.session.scalars(db.select(Project.id)).one()
    assert "莲都新区" in admin.get(f"/admin/projects/{project_id}").get_data(as_text=True)
    same = _post(admin, f"/admin/regions/{tree['莲都区']}/rename", {"name": "莲都新区"})
    assert same.status_code == 302 and len(_audit(app)) == 1  # nothing changed, nothing logged


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "请填写地区名称"), ("龙泉市", "同一上级下已有“龙泉市”"), ("区" * 51, "不超过 50 个字")],
)
def test_bad_renames_are_refused(app, admin, tree, name, message):
    before = _tree_rows(app)
    reply = _post(admin, f"/admin/regions/{tree['莲都区']}/rename", {"name": name})
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert _tree_rows(app) == before


def test_an_unused_region_is_deleted_and_logged(app, admin, tree):
    reply = _post(admin, f"/admin/regions/{tree['龙泉市']}/delete")
    assert reply.status_code == 302
    assert _region(app, "龙泉市") is None
    assert _audit(app) == [("region_deleted", "丽水市 › 龙泉市（县（市、区））")]


def test_unknown_regions_are_404(admin, tree):
    assert _post(admin, "/admin/regions/99999/rename", {"name": "x"}).status_code == 404
    assert _post(admin, "/admin/regions/99999/delete").status_code == 404
    # Past any id the database can hold: still 404, not a database error.
    assert _post(admin, "/admin/regions/2147483648/delete").status_code == 404


def test_posts_without_a_csrf_token_are_400(admin, tree):
    assert admin.post(f"/admin/regions/{tree['龙泉市']}/delete").status_code == 400
    assert admin.post("/admin/regions/", data={"name": "x", "level": "city"}).status_code == 400


def _refused_delete(app, admin, region_id, reason):
    before = _tree_rows(app)
    reply = _post(admin, f"/admin/regions/{region_id}/delete")
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert reason in page and "不能删除，只能改名" in page
    assert _tree_rows(app) == before
    assert _audit(app) == []


def test_a_region_with_sites_cannot_be_deleted(app, admin, tree):
    _refused_delete(app, admin, tree["莲都区"], "点位")


def test_a_region_with_children_or_projects_cannot_be_deleted(app, admin, tree):
    _refused_delete(app, admin, tree["丽水市"], "下级地区、项目")


def test_a_region_with_users_cannot_be_deleted(app, admin, make_user, tree):
    make_user("longquan", role="county", region="龙泉市")
    _refused_delete(app, admin, tree["龙泉市"], "用户")


def test_a_region_with_project_targets_cannot_be_deleted(app, admin, tree):
    with app.app_context(), write_transaction(db.session):
        project = db.session.scalars(db.select(Project)).one()
        db.session.add(ProjectTarget(project=project, region_id=tree["龙泉市"], site_count=2))
    _refused_delete(app, admin, tree["龙泉市"], "项目目标数")


def test_a_region_only_the_audit_log_remembers_cannot_be_deleted(app, admin, tree):
    with app.app_context(), write_transaction(db.session):
        db.session.add(AuditEntry(action="login", username="gone", region_id=tree["温州市"]))
    _refused_delete(app, admin, tree["温州市"], "其他记录")
