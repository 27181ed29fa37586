"""Background jobs as staff meet them, in Chromium against gunicorn with the job worker that
``make run`` starts: a big responses export asked for, its progress page, the download
opened; a big roster confirmed, imported by the worker, its result page. The thresholds are
lowered so the demo's data counts as big."""

import csv
import io
import re

from tests.e2e.conftest import download

SERVER_ENVIRONMENT = {"EXPORT_DIRECT_ROWS": "10", "ROSTER_DIRECT_ROWS": "2"}
LISHUI = "2022年建成康养联合体20家"


def _main(page) -> str:
    return page.locator("main").inner_text()


def _finished(page, link_name) -> None:
    """Wait on a job's page (it reloads itself) until it offers ``link_name``."""
    page.get_by_role("link", name=link_name).wait_for(timeout=60_000)
    assert "已完成" in _main(page)


def test_a_big_responses_export_is_made_in_the_background_and_downloaded(staff, server):
    page = staff("lishui")
    (answers,) = server.sql(
        "SELECT count(*) FROM responses r JOIN sites s ON s.id = r.site_id"
        " JOIN projects p ON p.id = s.project_id WHERE p.name = :name",
        name=LISHUI,
    )[0]
    page.goto(f"{server.url}/dashboard/")
    page.get_by_role("link", name=LISHUI, exact=True).click()
    page.get_by_role("link", name="评价明细 CSV").click()
    assert f"共 {answers} 条评价" in _main(page) and "将在后台生成" in _main(page)
    with page.expect_navigation():
        page.get_by_role("button", name="开始生成").click()
    assert page.url.rsplit("/", 1)[0].endswith("/jobs")
    ready = re.compile(f"^下载 {re.escape(LISHUI)}-评价明细.csv")
    _finished(page, ready)
    name, data = download(page, page.get_by_role("link", name=ready).click)
    assert name == f"{LISHUI}-评价明细.csv"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["时间", "县（市、区）", "点位"] and len(rows) - 1 == answers

    # The user's job list keeps it, with the file, for a day; nobody else sees it.
    page.get_by_role("link", name="后台任务", exact=True).click()
    assert f"{LISHUI} 评价明细 CSV" in _main(page) and "已完成" in _main(page)
    other = staff("liandu")
    other.goto(page.url)
    assert "还没有后台任务" in _main(other)
    (exported,) = server.sql(
        "SELECT count(*) FROM audit_entries WHERE action = 'exported' AND username = 'lishui'"
        " AND detail LIKE '%后台生成%'"
    )[0]
    assert exported == 1


def test_a_big_roster_is_imported_in_the_background(staff, server):
    (code,) = server.sql(
        "SELECT t.token FROM site_tokens t JOIN sites s ON s.id = t.site_id"
        " JOIN regions r ON r.id = s.region_id JOIN projects p ON p.id = s.project_id"
        " WHERE r.name = '莲都区' AND p.name = :name AND t.retired_at IS NULL LIMIT 1",
        name=LISHUI,
    )[0]
    rows = [("姓名", "电话", "点位码", "备注")] + [
        (f"周{n}", f"1370000{n:04d}", code, "") for n in range(3)
    ]
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    page = staff("liandu")
    page.get_by_role("link", name="电话抽查与暗访", exact=True).click()
    page.locator("tr", has_text=LISHUI).get_by_role("link", name="抽样与拨打").click()
    page.get_by_role("link", name="服务对象名单").first.click()
    page.locator("input[name=file]").set_input_files(
        {"name": "名单.csv", "mimeType": "text/csv", "buffer": out.getvalue().encode()}
    )
    page.get_by_role("button", name="上传并检查").click()
    with page.expect_navigation():
        page.get_by_role("button", name="导入有效的 3 行").click()
    _finished(page, "查看结果")
    assert "已导入 3 人。" in _main(page)
    page.get_by_role("link", name="查看结果").click()
    roster = _main(page)
    assert "137****0000" in roster and "13700000000" not in roster
