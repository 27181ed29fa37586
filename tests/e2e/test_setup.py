"""An admin sets a project up in Chromium against gunicorn: a project from a starter, a GBK
site list with its report, the questionnaire, the site list's pages, filters and search,
the posters PDF after the loopback warning (its QR code scanned back to the server), a QR
code rotated after its confirmation, and the login limits an office behind one NAT meets.

The tests share one admin page and the project it makes, in the order written.
"""

import csv
import io
import re

import pypdfium2
import pytest
import zxingcpp
from playwright.sync_api import expect

from survey.accounts.services import hash_password
from tests.browser import WECHAT_UA
from tests.e2e.conftest import download, log_in

#: Per user name and address: low enough that twelve logins from 127.0.0.1 would have been
#: refused under the old per-address count, even split over gunicorn's two workers.
#: Forms are not cached: another worker's cached form of a rotated link would answer 200 for
#: up to FORM_CACHE_SECONDS (as documented; a submission always checks the database).
#: The per-name rate limit is what the hammered-name test shows: the growing wait after
#: wrong passwords (tests/accounts/test_throttle.py) would come first.
SERVER_ENVIRONMENT = {
    "LOGIN_RATE_LIMIT": "4 per minute",
    "LOGIN_FREE_FAILURES": "100",
    "FORM_CACHE_SECONDS": "0",
}
PROJECT = "2027年长者康养联合体"
BANNER = "评价链接和二维码现在用的是本机地址"
#: A site list: 130 rows over 莲都区 and 青田县; line 9 names an unknown county and line 22
#: repeats line 4's name in the same county, so 128 rows import.
ROWS = 130
IMPORTED = 128


def _site_list() -> bytes:
    """The site list as Excel on a Chinese Windows saves a CSV: GBK."""
    rows = [
        ["莲都区" if i % 2 else "青田县", f"第{i + 1:03}号康养联合体", f"幸福路{i + 1}号", "乡镇级"]
        for i in range(ROWS)
    ]
    rows[7][0] = "不存在县"
    rows[20][:2] = rows[2][:2]
    out = io.StringIO()
    csv.writer(out).writerows([["县（市、区）", "点位名称", "地址", "级别"], *rows])
    return out.getvalue().encode("gbk")


@pytest.fixture(scope="module")
def desk(chromium, server):
    """The admin's page, logged in once for the module (the login limit is low here)."""
    context = chromium.new_context(
        accept_downloads=True, viewport={"width": 1280, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(60_000)  # a 128-page poster PDF takes seconds on a busy machine
    page = context.new_page()
    log_in(page, server, "admin")
    yield page
    context.close()


def _project_url(server) -> str:
    (project_id,) = server.sql("SELECT id FROM projects WHERE name = :name", name=PROJECT)[0]
    return f"{server.url}/admin/projects/{project_id}"


def _main(page) -> str:
    return page.locator("main").inner_text()


def _listed_sites(page) -> list[str]:
    return page.locator("tbody tr td:nth-child(2)").all_inner_texts()


def test_admin_creates_a_project_from_a_starter_and_imports_a_gbk_site_list(desk, server):
    desk.goto(f"{server.url}/admin/")
    # The server's links are its own 127.0.0.1 address: the admin pages say so.
    assert BANNER in desk.locator(".setup-warning").inner_text()
    desk.goto(f"{server.url}/admin/projects/new")
    desk.fill("#name", PROJECT)
    desk.fill("#year", "2027")
    desk.select_option("#region_id", label="丽水市")
    desk.select_option("#starter", label="康养联合体")
    desk.get_by_label("莲都区", exact=True).fill("70")
    desk.get_by_label("青田县", exact=True).fill("60")
    desk.get_by_role("button", name="创建项目").click()
    assert "已创建项目" in _main(desk)

    desk.get_by_role("link", name="批量导入点位").click()
    desk.set_input_files(
        "input[type=file]", {"name": "点位清单.csv", "mimeType": "text/csv", "buffer": _site_list()}
    )
    desk.get_by_role("button", name="上传并检查").click()
    report = _main(desk)
    assert f"可以导入 {IMPORTED} 行" in report and "有问题 2 行" in report
    assert "第 9 行" in report and "不存在县" in report and "第 22 行" in report
    desk.get_by_role("button", name=f"导入有效的 {IMPORTED} 行").click()
    desk.wait_for_url(re.compile(r"/admin/projects/\d+$"))
    assert f"已导入 {IMPORTED} 个点位" in _main(desk)
    (count,) = server.sql(
        "SELECT count(*) FROM sites JOIN projects ON projects.id = sites.project_id"
        " WHERE projects.name = :name",
        name=PROJECT,
    )[0]
    assert count == IMPORTED

    # A new project's surveys open as each site is built (进度 100 %); this one opens its
    # sites' surveys from the start, so its posters are answered at once.
    desk.goto(_project_url(server).replace("/admin/", "/progress/") + "/milestones")
    desk.get_by_label("点位建成前就开放群众评价", exact=False).check()
    with desk.expect_navigation():
        desk.get_by_role("button", name="保存").click()
    assert "进度节点已保存。" in _main(desk)


def test_admin_adds_a_question_to_the_questionnaire(desk, server):
    desk.goto(_project_url(server))
    desk.get_by_role("link", name="编辑问卷").click()
    desk.get_by_role("button", name="＋ 多选题").click()
    desk.fill("#questions-4-prompt", "您平时用过哪些服务？")
    desk.fill("#questions-4-options", "康复理疗\n助餐\n健康讲座")
    desk.get_by_role("button", name="更新预览").click()
    preview = desk.frame_locator("iframe[title^='问卷预览']")
    expect(preview.get_by_text("您平时用过哪些服务？")).to_be_visible()
    desk.get_by_role("button", name="保存并发布").click()
    assert "已发布第2版问卷" in _main(desk)
    desk.get_by_role("link", name="返回项目").click()
    assert PROJECT in desk.locator("h1").inner_text()


def test_the_site_list_pages_filters_by_county_and_searches(desk, server):
    desk.goto(_project_url(server))
    assert f"共 {IMPORTED} 个点位，第 1 / 3 页" in _main(desk)
    assert len(_listed_sites(desk)) == 50
    desk.get_by_role("link", name="下一页").first.click()
    assert "第 2 / 3 页" in _main(desk) and len(_listed_sites(desk)) == 50
    desk.get_by_role("link", name="末页").first.click()
    assert "第 3 / 3 页" in _main(desk) and len(_listed_sites(desk)) == IMPORTED - 100

    desk.select_option("select[name=county]", label="莲都区")
    desk.get_by_role("button", name="查找").click()
    counties = desk.locator("tbody tr td:nth-child(1)").all_inner_texts()
    assert "找到 64 个点位，第 1 / 2 页" in _main(desk)
    assert set(counties) == {"莲都区"}
    desk.get_by_role("link", name="下一页").first.click()  # the filter travels with the pager
    assert "找到 64 个点位，第 2 / 2 页" in _main(desk)
    assert set(desk.locator("tbody tr td:nth-child(1)").all_inner_texts()) == {"莲都区"}
    assert len(_listed_sites(desk)) == 14

    desk.fill("input[name=q]", "第01")
    desk.get_by_role("button", name="查找").click()
    assert "找到 5 个点位" in _main(desk)  # 第010…第019号 in 莲都区: the even-numbered ones
    assert _listed_sites(desk) == [f"第01{n}号康养联合体" for n in (0, 2, 4, 6, 8)]

    (token,) = server.sql(
        "SELECT site_tokens.token FROM site_tokens JOIN sites ON sites.id = site_tokens.site_id"
        " WHERE sites.name = '第077号康养联合体'"
    )[0]
    desk.get_by_role("link", name="显示全部点位").click()
    assert f"共 {IMPORTED} 个点位" in _main(desk)
    desk.fill("input[name=q]", token.lower())  # a code read off a poster, in any case
    desk.get_by_role("button", name="查找").click()
    assert "找到 1 个点位" in _main(desk) and _listed_sites(desk) == ["第077号康养联合体"]

    desk.goto(_project_url(server) + "?page=abc")  # a mangled bookmark: said, not a 500
    assert "页码应是正整数" in _main(desk) and "第 1 / 3 页" in _main(desk)


def _first_page_codes(pdf: bytes) -> tuple[int, list[str]]:
    """How many pages the PDF has, and the QR codes zxing-cpp reads off its first page
    rendered as a viewer would."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        pages = len(document)
        image = document[0].render(scale=150 / 72).to_pil()
    finally:
        document.close()
    codes = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return pages, [code.text for code in codes]


def test_the_posters_pdf_warns_about_the_loopback_link_then_scans_to_the_server(
    desk, server, browse
):
    desk.goto(_project_url(server))
    desk.get_by_role("link", name="全部海报 PDF（A4）").click()
    assert "群众用手机扫码打不开" in _main(desk) and "PUBLIC_BASE_URL" in _main(desk)
    desk.get_by_role("link", name="返回项目").click()
    assert PROJECT in desk.locator("h1").inner_text()

    desk.get_by_role("link", name="全部海报 PDF（A4）").click()
    with desk.expect_navigation():
        desk.get_by_role("button", name="仍然生成（仅供试用，不要张贴）").click()
    # The worker draws them while the job's page reloads itself, then offers the file.
    ready = desk.get_by_role("link", name=re.compile("^下载 "))
    ready.wait_for(timeout=60_000)
    assert "已完成" in _main(desk)
    name, pdf = download(desk, ready.click)
    assert name == f"{PROJECT}-海报-A4.pdf"
    pages, codes = _first_page_codes(pdf)
    assert pages == IMPORTED
    (code,) = codes
    match = re.fullmatch(re.escape(server.url.upper()) + r"/S/([A-Z2-7]{10})", code)
    assert match, code
    assert server.sql("SELECT 1 FROM site_tokens WHERE token = :t", t=match.group(1))

    phone = browse(viewport={"width": 360, "height": 740}, is_mobile=True, user_agent=WECHAT_UA)
    assert phone.goto(code).status == 200  # the scanned, upper-case link opens the form
    expect(phone.get_by_text("您平时用过哪些服务？")).to_be_visible()


def _answer(page, url: str) -> None:
    page.goto(url)
    page.locator("label[for='q.overall-5']").click()
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_url("**/thanks")


def test_rotating_a_qr_code_asks_first_then_retires_the_old_link(desk, server, browse):
    (site_id, token) = server.sql(
        "SELECT sites.id, site_tokens.token FROM sites"
        " JOIN site_tokens ON sites.id = site_tokens.site_id"
        " WHERE sites.name = '第077号康养联合体'"
    )[0]
    old_link = f"{server.url}/s/{token}"
    _answer(browse(), old_link)

    desk.goto(f"{_project_url(server)}?q={token}")
    desk.get_by_role("link", name="换新二维码").click()
    confirm = _main(desk)
    assert "已经印好、贴出的海报立即失效" in confirm and token in confirm
    assert "已收到 1 条评价（其中扫码 1 条）" in confirm
    desk.get_by_role("link", name="取消，不换").click()
    resident = browse()
    assert resident.goto(old_link).status == 200  # cancelling changed nothing

    desk.goto(f"{_project_url(server)}?q={token}")
    desk.get_by_role("link", name="换新二维码").click()
    desk.get_by_role("button", name="确认换新二维码，旧海报作废").click()
    flash = desk.locator(".flash").inner_text()
    new = re.search(r"点位码 ([A-Z2-7]{10})", flash).group(1)
    assert new != token
    retired = resident.goto(old_link)
    assert retired.status == 410 and "此二维码已停用" in resident.locator("body").inner_text()
    _answer(resident, f"{server.url}/s/{new}")
    rows = server.sql("SELECT count(*) FROM responses WHERE site_id = :s", s=site_id)
    assert rows[0][0] == 2  # the earlier answer stays with the site


def test_twelve_colleagues_behind_one_address_log_in_and_a_hammered_name_is_limited(browse, server):
    password = "colleague-Passwort-1"
    (county,) = server.sql("SELECT id FROM regions WHERE name = '莲都区'")[0]
    names = [f"liandu{i:02}" for i in range(12)]
    for name in names:
        server.sql(
            "INSERT INTO users (username, password_hash, role, region_id, must_change_password,"
            " active, session_version, created_at)"
            " VALUES (:name, :hash, 'county', :county, false, true, 1, CURRENT_TIMESTAMP)",
            name=name,
            hash=hash_password(password),
            county=county,
        )

    def attempt(page, name: str, secret: str) -> str:
        page.goto(f"{server.url}/login")
        page.fill("#username", name)
        page.fill("#password", secret)
        # A refused login answers with the login page again: wait for that new page, not
        # for the load state of the one already shown (read before the answer came, now and
        # then, under load).
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        return page.url

    for name in names:  # one office, one address, twelve desks
        desk = browse()
        assert "/checks/" in attempt(desk, name, password), name

    # Guessing one name's password: refused after the per-name limit (each of gunicorn's two
    # workers counts in its own memory, so at most twice the limit before it shows).
    guesser = browse()
    said = []
    for _ in range(17):
        attempt(guesser, "liandu00", "wrong password!")
        # The refusal's words, once the page shows them (a CI run on PostgreSQL read a page
        # without them now and then).
        guesser.locator("main").filter(
            has_text=re.compile("用户名或密码不对|访问太频繁了")
        ).wait_for()
        said.append(_main(guesser))
        if "访问太频繁了" in said[-1]:
            break
    # The limit is 4 a minute per name and address, and liandu00's own login above was one
    # of them when its worker takes these too: three wrong passwords are always answered.
    assert all("用户名或密码不对" in text for text in said[:3]), said
    assert "访问太频繁了" in said[-1], said
    # The colleagues at the other desks go on logging in.
    assert "/checks/" in attempt(browse(), "liandu01", password)
