"""The dashboard as city staff use it, in Chromium against gunicorn: filters (a reversed date
range among them), every export downloaded by the browser and opened as Excel would (CSV
with the csv module, XLSX with openpyxl), the printable monthly report and its PDF, and the
audit log showing each export once."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2

from tests.e2e.conftest import download

LISHUI = "2022年建成康养联合体20家"
WENZHOU = "居家养老服务照料中心改造提升"


def _today() -> date:
    """Today in Shanghai, the app's zone (the demo's answers end now)."""
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()


def _open_project(page, server, name: str) -> None:
    page.goto(f"{server.url}/dashboard/")
    page.get_by_role("link", name=name, exact=True).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(name)


def _answers_on_overview(page, server, name: str) -> int:
    """The project's answers as the overview says: n of the combined rate plus 家属代答."""
    page.goto(f"{server.url}/dashboard/")
    headers = page.locator("thead th").all_inner_texts()
    cells = page.locator("tbody tr", has_text=name).inner_text().split("\t")
    combined, proxy = cells[headers.index("综合满意率")], cells[headers.index("家属代答")]
    return int(re.search(r"n=(\d+)", combined).group(1)) + int(proxy)


def _ranked(page) -> list[str]:
    """The names in the project page's county ranking."""
    rows = page.locator("h2:has-text('各县') + table tbody tr")
    return [rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())]


def _csv(name: str, data: bytes, expected: str) -> list[list[str]]:
    assert name == expected
    assert data.startswith("\ufeff".encode()), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx(name: str, data: bytes, expected: str):
    assert name == expected
    return openpyxl.load_workbook(io.BytesIO(data)).active


def _rates_are_percent_numbers(sheet, columns: list[str]) -> None:
    header = [cell.value for cell in sheet[1]]
    for row in sheet.iter_rows(min_row=2):
        cells = dict(zip(header, row, strict=True))
        for column in columns:
            cell = cells[column]
            if cell.value == "样本不足":
                continue
            assert cell.data_type == "n" and "%" in cell.number_format, (column, cell.value)
            assert 0 <= cell.value <= 1
        assert isinstance(cells["有效回答"].value, int)


def _total(sheet, column: str) -> int:
    index = [cell.value for cell in sheet[1]].index(column)
    return sum(row[index].value for row in sheet.iter_rows(min_row=2))


def test_the_city_filters_by_county_and_dates_and_a_reversed_range_is_explained(staff, server):
    page = staff("lishui")
    _open_project(page, server, LISHUI)
    counties = _ranked(page)
    assert len(counties) > 1 and "莲都区" in counties

    page.select_option("select[name=county]", label="莲都区")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert "county=" in page.url and _ranked(page) == ["莲都区"]

    week_ago, today = (_today() - timedelta(days=7)).isoformat(), _today().isoformat()
    page.fill("input[name=from]", week_ago)
    page.fill("input[name=to]", today)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert f"from={week_ago}" in page.url and _ranked(page) == ["莲都区"]

    # From after to: the form again, the reason beside 到, everything as it was typed.
    page.fill("input[name=from]", today)
    page.fill("input[name=to]", week_ago)
    with page.expect_response(lambda r: "/dashboard/projects/" in r.url) as reply:
        page.get_by_role("button", name="筛选").click()
    assert reply.value.status == 422
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "筛选条件有误"
    assert page.locator("#to-error").inner_text() == "结束日期不能早于开始日期。"
    assert page.locator("input[name=to]").get_attribute("aria-invalid") == "true"
    assert page.input_value("input[name=from]") == today
    assert page.input_value("input[name=to]") == week_ago
    assert page.locator("select[name=county] option:checked").inner_text() == "莲都区"
    assert "提交的内容有误" not in page.content()

    # Corrected, the same form shows the project again.
    page.fill("input[name=to]", today)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(LISHUI) and _ranked(page) == ["莲都区"]


def test_every_dashboard_export_downloads_and_opens_and_is_logged_once(staff, server):
    page = staff("lishui")
    answers = _answers_on_overview(page, server, LISHUI)
    (sites,) = server.sql(
        "SELECT count(*) FROM sites JOIN projects ON projects.id = sites.project_id"
        " WHERE projects.name = :name",
        name=LISHUI,
    )[0]
    _open_project(page, server, LISHUI)
    counties = _ranked(page)
    link = page.get_by_role

    sheet = _xlsx(
        *download(page, link("link", name="导出按县汇总 XLSX").click),
        f"{LISHUI}-满意度汇总-county.xlsx",
    )
    assert sheet.max_row - 1 == len(counties)
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == counties
    rates = ["满意率", "95%区间下限", "95%区间上限", "扫码评价满意率", "电话抽查满意率"]
    _rates_are_percent_numbers(sheet, rates)
    assert _total(sheet, "有效回答") + _total(sheet, "家属代答") == answers

    sheet = _xlsx(
        *download(page, link("link", name="按点位汇总 XLSX").click),
        f"{LISHUI}-满意度汇总-site.xlsx",
    )
    assert sheet.max_row - 1 == sites
    _rates_are_percent_numbers(sheet, rates)

    rows = _csv(
        *download(page, link("link", name="CSV", exact=True).click), f"{LISHUI}-满意度汇总-site.csv"
    )
    assert rows[0][:3] == ["点位", "县（市、区）", "满意率"] and len(rows) - 1 == sites

    rows = _csv(*download(page, link("link", name="评价明细 CSV").click), f"{LISHUI}-评价明细.csv")
    assert rows[0][:5] == ["时间", "县（市、区）", "点位", "渠道", "满意度"]
    assert len(rows) - 1 == answers

    sheet = _xlsx(
        *download(page, link("link", name="XLSX", exact=True).click), f"{LISHUI}-评价明细.xlsx"
    )
    assert sheet.max_row - 1 == answers
    first = sheet[2]
    assert isinstance(first[0].value, datetime) and first[5].data_type == "n"

    # The monthly report: a page laid out for printing, and its PDF.
    link("link", name="月报").click()
    page.wait_for_load_state()
    month = _today().strftime("%Y年%m月")
    assert page.locator("h1").inner_text().replace("\n", "") == f"{LISHUI}{month} 满意度月报"
    page.emulate_media(media="print")
    assert not page.locator("p.noprint").is_visible()
    assert page.locator("table").first.is_visible() and page.locator("svg").count() >= 1
    page.emulate_media(media="screen")
    name, data = download(page, link("link", name="下载 PDF").click)
    assert name == f"{LISHUI}-{_today():%Y-%m}-月报.pdf"
    pdf = pypdfium2.PdfDocument(data)
    try:
        assert len(pdf) > 0
        text = "".join(p.get_textpage().get_text_range() for p in pdf)
    finally:
        pdf.close()
    assert "满意度月报" in text and "莲都区" in text

    # The audit log shows each export once, as lishui made it.
    page.goto(f"{server.url}/admin/audit?username=lishui")
    details = [
        f"{LISHUI}：按县汇总（xlsx）",
        f"{LISHUI}：按点位汇总（xlsx）",
        f"{LISHUI}：按点位汇总（csv）",
        f"{LISHUI}：评价明细（csv）",
        f"{LISHUI}：评价明细（xlsx）",
        f"{LISHUI}：{month}月报（PDF）",
    ]
    logged = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    for detail in details:
        assert logged.count(detail) == 1, (detail, logged)


def test_a_province_user_filters_and_exports_another_citys_project(staff, server):
    page = staff("zhejiang")
    page.goto(f"{server.url}/dashboard/")
    assert page.get_by_role("link", name=LISHUI, exact=True).count() == 1
    _open_project(page, server, WENZHOU)
    counties = _ranked(page)
    # The filter offers the counties with sites (a county may have a target and none yet).
    county = page.locator("select[name=county] option").all_inner_texts()[-1]
    assert county in counties
    page.select_option("select[name=county]", label=county)
    page.get_by_role("button", name="筛选").click()
    page.wait_for_load_state()
    assert _ranked(page) == [county]
    shown = page.locator("h2:has-text('各县') + table tbody tr td").nth(2).inner_text()
    n = int(re.search(r"n=(\d+)", shown).group(1))

    # The exports keep the filter: only the county's answers.
    rows = _csv(
        *download(page, page.get_by_role("link", name="评价明细 CSV").click),
        f"{WENZHOU}-评价明细.csv",
    )
    assert len(rows) - 1 == n and {row[1] for row in rows[1:]} == {county}
    sheet = _xlsx(
        *download(page, page.get_by_role("link", name="导出按县汇总 XLSX").click),
        f"{WENZHOU}-满意度汇总-county.xlsx",
    )
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == [county]
    _rates_are_percent_numbers(sheet, ["满意率"])


def test_the_task_list_and_the_site_list_download_as_excel_reads_them(staff, server):
    page = staff("lishui")
    tokens = [
        token
        for (token,) in server.sql(
            "SELECT site_tokens.token FROM site_tokens JOIN sites ON sites.id = site_tokens.site_id"
            " JOIN projects ON projects.id = sites.project_id"
            " WHERE projects.name = :name AND site_tokens.retired_at IS NULL"
            " ORDER BY sites.id LIMIT 3",
            name=LISHUI,
        )
    ]
    (project_id,) = server.sql("SELECT id FROM projects WHERE name = :name", name=LISHUI)[0]
    roster = "姓名,电话,点位码\r\n" + "".join(
        f"测试{i},1390000{i:04d},{token}\r\n" for i, token in enumerate(tokens)
    )
    page.goto(f"{server.url}/checks/projects/{project_id}/roster")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": roster.encode()}],
    )
    page.get_by_role("button", name="上传并检查").click()
    page.get_by_role("button", name="导入有效的 3 行").click()
    page.wait_for_load_state()
    page.goto(f"{server.url}/checks/projects/{project_id}/samples")
    page.fill("input[name=size]", "1")
    page.get_by_role("button", name="抽取").click()
    page.wait_for_load_state()
    batch = int(re.search(r"/batches/(\d+)", page.url).group(1))
    tasks = page.locator("h2:has-text('全部任务') + table tbody tr").count()
    assert tasks == 3

    rows = _csv(
        *download(page, page.get_by_role("link", name=re.compile("导出任务清单")).click),
        f"电话抽查-批次{batch}.csv",
    )
    assert rows[0][0] == "任务编号" and len(rows) - 1 == tasks
    assert all(re.fullmatch(r"139\*{4}\d{4}", row[3]) for row in rows[1:])  # masked

    page.goto(f"{server.url}/admin/projects/{project_id}")
    sites = server.sql("SELECT count(*) FROM sites WHERE project_id = :id", id=project_id)[0][0]
    rows = _csv(
        *download(page, page.get_by_role("link", name="导出点位清单（CSV）").click),
        f"{LISHUI}-点位清单.csv",
    )
    assert len(rows) - 1 == sites
    sheet = _xlsx(
        *download(page, page.get_by_role("link", name="导出点位清单（Excel）").click),
        f"{LISHUI}-点位清单.xlsx",
    )
    assert sheet.max_row - 1 == sites

    page.goto(f"{server.url}/admin/audit?username=lishui")
    logged = page.locator("tbody tr td:nth-child(4)").all_inner_texts()
    for detail in (
        f"电话抽查批次 {batch} 的任务清单（3 行）",
        f"{LISHUI}：点位清单（csv）",
        f"{LISHUI}：点位清单（xlsx）",
    ):
        assert logged.count(detail) == 1, (detail, logged)
