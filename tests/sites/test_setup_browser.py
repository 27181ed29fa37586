"""Issue 7's done-when in a real headless Chromium: a bureau with nothing but a browser sets
up a project from a spreadsheet of sites, prints its posters and receives answers."""

import csv
import io
import re

import pypdfium2
from playwright.sync_api import expect
from sqlalchemy import select

from survey.db import db
from survey.questionnaires.models import Question
from survey.responses.models import Answer, Response
from survey.sites.models import Project, Site
from tests.browser import WECHAT_UA, needs_chromium
from tests.helpers import PASSWORD

pytestmark = needs_chromium


def _site_list() -> bytes:
    """30 sites over two counties as GBK CSV; line 9 names an unknown county and line 22
    repeats line 4's name in the same county."""
    rows = [
        ["莲都区" if i % 2 else "青田县", f"第{i + 1}号康养联合体", f"幸福路{i + 1}号", "乡镇级"]
        for i in range(30)
    ]
    rows[7][0] = "不存在县"
    rows[20][:2] = rows[2][:2]
    out = io.StringIO()
    csv.writer(out).writerows([["县（市、区）", "点位名称", "地址", "级别"], *rows])
    return out.getvalue().encode("gbk")


def _set_up_project(page, base: str) -> None:
    """Log in, make the city and its counties, create the project from a starter."""
    page.goto(f"{base}/login")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="登录").click()

    page.goto(f"{base}/admin/regions/")
    page.select_option("select[name=level]", "city")
    page.locator("form.batch input[name=name]").fill("丽水市")
    page.locator("form.batch").get_by_role("button", name="添加").click()
    for county in ("莲都区", "青田县"):
        page.get_by_label("在丽水市下添加").fill(county)
        page.get_by_label("在丽水市下添加").press("Enter")
        page.wait_for_selector(f"td:text-is('{county}')")

    page.goto(f"{base}/admin/projects/new")
    page.fill("#name", "2027年长者康养联合体")
    page.fill("#year", "2027")
    page.select_option("#region_id", label="丽水市")
    page.select_option("#starter", label="康养联合体")
    page.get_by_label("莲都区").fill("15")
    page.get_by_label("青田县").fill("15")
    page.get_by_role("button", name="创建项目").click()
    assert "已创建项目" in page.locator("main").inner_text()


def _import_sites(page) -> None:
    page.get_by_role("link", name="批量导入点位").click()
    page.set_input_files(
        "input[type=file]", {"name": "点位清单.csv", "mimeType": "text/csv", "buffer": _site_list()}
    )
    page.get_by_role("button", name="上传并检查").click()
    report = page.locator("main").inner_text()
    assert "第 9 行" in report and "第 22 行" in report
    page.get_by_role("button", name="导入有效的 28 行").click()
    page.wait_for_url("**/admin/projects/*")  # back on the project's site list


def _add_question(page) -> None:
    page.get_by_role("link", name="编辑问卷").click()
    page.get_by_role("button", name="＋ 多选题").click()
    page.fill("#questions-4-prompt", "您平时用过哪些服务？")
    page.fill("#questions-4-options", "康复理疗\n助餐\n健康讲座")
    page.get_by_role("button", name="更新预览").click()
    preview = page.frame_locator("iframe[title^='问卷预览']")
    expect(preview.get_by_text("您平时用过哪些服务？")).to_be_visible()  # waits for the frame
    # The phone frame's screen, inside its border, is a phone's 360 CSS px.
    assert page.locator("iframe[title^='问卷预览']").evaluate("f => f.clientWidth") == 360
    page.get_by_role("button", name="保存并发布").click()
    page.get_by_role("link", name="返回项目").click()


def _download_posters(page, tmp_path) -> int:
    page.get_by_role("link", name="全部海报 PDF（A4）").click()
    page.get_by_role("button", name=re.compile("生成")).click()
    with page.expect_download() as download:
        page.get_by_role("link", name=re.compile("^下载 ")).click()
    path = tmp_path / "posters.pdf"
    download.value.save_as(path)
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return len(pdf)
    finally:
        pdf.close()


def _open_surveys_from_start(app, page, live_server) -> None:
    """A new project's surveys open when each site is built (进度 100 %); this bureau
    opens them from the start on the project's 进度节点 page."""
    with app.app_context():
        project_id = db.session.scalars(select(Project.id)).one()
    page.goto(f"{live_server}/progress/projects/{project_id}/milestones")
    page.get_by_label("点位建成前就开放群众评价", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("进度节点已保存。")).to_be_visible()


def test_a_bureau_sets_up_a_project_in_the_browser_and_a_resident_answers_it(
    app, live_server, chromium, make_user, tmp_path
):
    make_user("admin", "admin", PASSWORD)
    desk = chromium.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    desk.set_default_timeout(60_000)  # a poster batch takes seconds on a busy machine
    page = desk.new_page()
    _set_up_project(page, live_server)
    _import_sites(page)
    _add_question(page)
    assert _download_posters(page, tmp_path) == 28
    _open_surveys_from_start(app, page, live_server)
    desk.close()

    with app.app_context():
        project = db.session.scalars(select(Project)).one()
        sites = db.session.scalars(select(Site).where(Site.project_id == project.id)).all()
        assert len(sites) == 28 and all(site.token for site in sites)
        token = sites[0].token

    phone = chromium.new_context(
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        has_touch=True,
        user_agent=WECHAT_UA,
        locale="zh-CN",
    ).new_page()
    phone.goto(f"{live_server}/s/{token}")
    expect(phone.get_by_text("您平时用过哪些服务？")).to_be_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    phone.locator("label[for='q.overall-5']").tap()
    phone.get_by_text("康复理疗").tap()
    phone.get_by_text("健康讲座").tap()
    phone.get_by_role("button", name="提交评价").tap()
    phone.wait_for_url("**/thanks")

    with app.app_context():
        response = db.session.scalars(select(Response)).one()
        assert response.overall == 5 and response.channel == "qr"
        multi = db.session.scalars(
            select(Answer).join(Question).where(Question.kind == "multi")
        ).one()
        assert multi.choices == [0, 2]
