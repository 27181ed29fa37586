"""Visits in Chromium against gunicorn: the city edits a project's checklist; the county
records a visit with it and a phone-sized photo (scaled in the browser, and once with
JavaScript off, where the server takes the full-size file); a refused form keeps what was
typed; a call ended as 听力困难 puts the resident on the home-visit list."""

import io
import os
import re

import pytest
from PIL import Image

from tests.e2e.conftest import log_in

SITE = "莲都区 · 莲都区社会福利中心康养联合体"
#: The item the city adds to the 康养联合体 checklist (version 2).
NEW_ITEM = "康复区域有无障碍通道（实地查看）"


@pytest.fixture(scope="module")
def phone_photo() -> bytes:
    """A 4000x3000 JPEG of about 9 MB, as a phone camera makes (noise: it compresses badly)."""
    image = Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=87)
    assert 8 * 2**20 < out.tell() < 11 * 2**20
    return out.getvalue()


def _jpeg(name: str, data: bytes) -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


def _open_visit_form(page, server):
    page.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    page.get_by_role("link", name="暗访记录").click()
    page.get_by_role("link", name=SITE).click()
    page.wait_for_load_state()
    assert "录入暗访" in page.locator("h1").inner_text()


def _fill_visit(page, inspectors="李明、王芳"):
    """Two items passed, one failed, the rest left 未核实; findings typed."""
    page.fill("input[name=inspectors]", inspectors)
    page.check("input[name='result.0'][value=pass]")
    page.check("input[name='result.1'][value=pass]")
    page.check("input[name='result.2'][value=fail]")
    page.fill("textarea[name=findings]", "康复器械不足3种")


def _save(page):
    """Click save; returns the size in bytes of the body the browser sent. (Read through an
    interception: Chromium reports no body size for a form post with a file otherwise.)"""
    sent = []

    def measure(route):
        sent.append(len(route.request.post_data_buffer or b""))
        route.continue_()

    # The form's address may carry ?home_visit=<id>.
    form_url = re.compile(r"/visits/new(\?|$)")
    page.route(form_url, measure)
    with page.expect_request(
        lambda r: r.method == "POST" and form_url.search(r.url), timeout=60_000
    ) as posted:
        page.get_by_role("button", name="保存暗访记录").click()
    posted.value.response()  # the reply came: the interception has run
    page.wait_for_load_state()
    page.unroute(form_url, measure)
    return sent[0]


def _stored_photo(server, page):
    visit_id = int(re.search(r"/checks/visits/(\d+)$", page.url).group(1))
    ((width, height, size),) = server.sql(
        "SELECT width, height, length(data) FROM visit_photos WHERE visit_id = :v", v=visit_id
    )
    return width, height, size


def test_the_city_edits_the_checklist_and_sees_the_new_version(staff, server):
    page = staff("lishui")
    page.get_by_role("link", name="项目与点位", exact=True).click()
    page.get_by_role("link", name="2022年建成康养联合体20家").first.click()
    page.get_by_role("link", name="暗访检查项").click()
    assert "暗访现在用的是第1版" in page.locator("main").inner_text()
    items = page.locator("input[name=item]")
    assert "康复区域" in items.nth(0).input_value() and items.nth(5).input_value() == ""
    items.nth(5).fill(NEW_ITEM)
    page.locator("input[name=required][value='5']").check()
    page.get_by_role("button", name="保存并发布").click()
    text = page.locator("main").inner_text()
    assert "已发布第2版检查项" in text and "暗访现在用的是第2版" in text
    assert page.locator("input[name=item]").nth(5).input_value() == NEW_ITEM
    assert page.locator("input[name=required][value='5']").is_checked()
    assert "第2版" in page.locator("table").last.inner_text()


def test_a_visit_with_the_checklist_and_a_phone_photo_scaled_in_the_browser(
    staff, server, phone_photo
):
    page = staff("liandu")
    _open_visit_form(page, server)
    assert NEW_ITEM in page.locator("form.batch").inner_text()  # the checklist's version 2
    _fill_visit(page)
    page.set_input_files("input[name=photos]", [_jpeg("IMG_0001.jpg", phone_photo)])
    sent = _save(page)
    text = page.locator("main").inner_text()
    assert "暗访记录已保存" in text, text
    # Six items: two passed, one failed, three never verified -- never 「未发现问题」.
    assert "共 6 项：2 项通过，1 项未通过，3 项未核实" in text and "未发现问题" not in text
    assert "检查项第2版" in text
    width, height, size = _stored_photo(server, page)
    assert max(width, height) <= 2560 and (width, height) == (2560, 1920)
    # The browser sent the scaled picture, not the camera's 9 MB.
    assert sent < len(phone_photo) / 2, (sent, len(phone_photo))
    assert size < len(phone_photo) / 2


def test_a_double_tap_while_photos_are_scaled_records_one_visit(staff, server, phone_photo):
    page = staff("liandu")
    _open_visit_form(page, server)
    _fill_visit(page, inspectors="王五")
    page.set_input_files("input[name=photos]", [_jpeg("IMG_0003.jpg", phone_photo)])
    page.get_by_role("button", name="保存暗访记录").dblclick()
    page.wait_for_url(re.compile(r"/checks/visits/\d+$"), timeout=60_000)
    page.wait_for_load_state()
    assert "暗访记录已保存" in page.locator("main").inner_text()
    assert server.sql("SELECT count(*) FROM visits WHERE inspectors = '王五'") == [(1,)]
    (size,) = server.sql(
        "SELECT max(length(p.data)) FROM visit_photos p JOIN visits v ON v.id = p.visit_id"
        " WHERE v.inspectors = '王五'"
    )[0]
    assert size < len(phone_photo) / 2  # the scaled picture went, not the camera's


def test_without_javascript_the_server_takes_the_full_size_photo(browse, server, phone_photo):
    page = browse(java_script_enabled=False)
    log_in(page, server, "liandu")
    _open_visit_form(page, server)
    _fill_visit(page, inspectors="张三")
    page.set_input_files("input[name=photos]", [_jpeg("IMG_0002.jpg", phone_photo)])
    sent = _save(page)
    assert "暗访记录已保存" in page.locator("main").inner_text()
    assert sent > len(phone_photo)  # the original went as it was
    width, height, size = _stored_photo(server, page)
    assert (width, height) == (2560, 1920) and size < len(phone_photo)


def test_a_refused_visit_form_names_the_reason_and_keeps_what_was_typed(staff, server):
    page = staff("liandu")
    _open_visit_form(page, server)
    small = Image.new("RGB", (64, 48), "red")
    out = io.BytesIO()
    small.save(out, "JPEG")
    for files, reason in [
        ([_jpeg(f"{i}.jpg", out.getvalue()) for i in range(7)], "选了 7 张照片，每次最多上传 6 张"),
        ([_jpeg("notes.jpg", b"not a photo at all")], "照片“notes.jpg”：无法识别这张照片"),
    ]:
        _fill_visit(page, inspectors="李四")
        page.set_input_files("input[name=photos]", files)
        _save(page)
        text = page.locator("main").inner_text()
        assert reason in text and "请重新选择照片" in text and "提交的内容太长了" not in text
        assert page.input_value("input[name=inspectors]") == "李四"
        assert page.input_value("textarea[name=findings]") == "康复器械不足3种"
        assert page.is_checked("input[name='result.2'][value=fail]")
        assert page.is_checked("input[name='result.3'][value=unverified]")
    before = server.sql("SELECT count(*) FROM visits WHERE inspectors = '李四'")
    assert before == [(0,)]


def test_a_call_ended_as_hearing_difficulty_goes_on_the_home_visit_list(staff, server, tmp_path):
    page = staff("liandu")
    page.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^名单")).click()
    roster = tmp_path / "名单.csv"
    roster.write_bytes(
        "姓名,电话,点位码,备注\r\n王听力,13800001111,莲都区社会福利中心康养联合体,住三楼\r\n".encode(
            "gbk"
        )
    )
    page.set_input_files("input[type=file]", str(roster))
    page.get_by_role("button", name="上传并检查").click()
    page.get_by_role("button", name=re.compile("^导入有效")).click()
    assert "已导入 1 人" in page.locator("main").inner_text()
    page.get_by_role("link", name="电话抽查", exact=True).click()
    page.fill("input[name=size]", "1")
    page.get_by_role("button", name="抽取").click()
    page.get_by_role("link", name=re.compile("^拨打任务")).first.click()
    page.check("input[name=outcome][value=hearing]")
    page.get_by_role("button", name="保存本次通话").click()
    assert "已记录：听力困难" in page.locator("main").inner_text(), page.locator(
        "main"
    ).inner_text()

    page.get_by_role("link", name="随机暗访", exact=True).click()
    listed = page.locator("#home-visits").inner_text()
    assert "待上门走访（1 人）" in page.locator("main").inner_text()
    # The list masks the name; the form for this one visit shows it, with the note.
    assert "王**" in listed and "王听力" not in listed and "138****1111" in listed
    page.get_by_role("link", name="录入上门走访").click()
    notice = page.locator(".notice").inner_text()
    assert "上门走访" in notice and "王听力" in notice and "住三楼" in notice
    page.fill("input[name=inspectors]", "赵六")
    _save(page)
    assert "暗访记录已保存" in page.locator("main").inner_text()
    page.get_by_role("link", name="返回暗访记录").click()
    assert "待上门走访（0 人）" in page.locator("main").inner_text()
    assert "王**" not in page.locator("#home-visits").inner_text()
