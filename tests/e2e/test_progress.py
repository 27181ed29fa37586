"""进度 as a county and its city work it, in Chromium against gunicorn on 26 September 2022
(APP_CLOCK; time progress 9/12 = 75 % for the demo's 2022 康养联合体 project): 莲都区 is at
70 % (its second site at 40 %), warned; its user records the second site's 60 % milestone
with a photo and the acceptance sheet (PDF), the city confirms it, 莲都区's average rises
to 80 % and the warning clears; its monthly report, sent on the 26th, is marked late."""

import io

from fpdf import FPDF
from PIL import Image

SERVER_ENVIRONMENT = {"APP_CLOCK": "2022-09-26T10:00:00+08:00"}
LISHUI = "2022年建成康养联合体20家"


def _main(page) -> str:
    return page.locator("main").inner_text()


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "green").save(out, "JPEG")
    return out.getvalue()


def _sheet() -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    document.cell(0, 10, "Acceptance sheet")
    return bytes(document.output())


def _county_row(page, county: str) -> str:
    return page.locator(f"#counties tr[data-county='{county}']").inner_text()


def test_a_confirmed_milestone_clears_the_warning_and_a_late_report_is_marked(staff, server):
    (project_id,) = server.sql("SELECT id FROM projects WHERE name = :n", n=LISHUI)[0]
    second = server.sql(
        "SELECT s.name FROM sites s JOIN regions r ON r.id = s.region_id"
        " WHERE r.name = '莲都区' AND s.project_id = :p ORDER BY s.id",
        p=project_id,
    )[1][0]

    desk = staff("liandu")
    desk.get_by_role("link", name="进度", exact=True).click()
    desk.get_by_role("link", name=LISHUI).click()
    assert "时间进度：75.0%" in _main(desk)
    before = _county_row(desk, "莲都区")
    assert "70.0%" in before and "平均进度 70.0% 低于时间进度 75.0%" in before
    desk.locator("#sites").get_by_role("link", name=second).click()
    assert "已确认进度：40%" in _main(desk)
    desk.select_option("#percent", "60")
    desk.fill("#reached_on", "2022-09-25")
    desk.fill("#note", "康复场所建成，器械已验收")
    desk.locator("#photos").set_input_files(
        {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": _photo()}
    )
    desk.locator("#documents").set_input_files(
        {"name": "验收记录单.pdf", "mimeType": "application/pdf", "buffer": _sheet()}
    )
    with desk.expect_navigation():
        desk.get_by_role("button", name="提交，等待市里确认").click()
    timeline = desk.locator("ol.timeline").inner_text()
    assert "60%" in timeline and "待确认" in timeline and "验收记录单.pdf" in timeline

    city = staff("lishui")
    city.goto(f"{server.url}/progress/projects/{project_id}")
    assert "待市里确认的填报（1）" in _main(city)
    city.locator("#waiting").get_by_role("link", name="查看材料并确认").click()
    photo_link = city.get_by_role("link", name="现场照片：现场照片1.jpg")
    shown = city.request.get(server.url + photo_link.get_attribute("href"))
    assert shown.ok and shown.headers["content-type"] == "image/jpeg"
    with city.expect_navigation():
        city.get_by_role("button", name="确认达到 60%").click()
    after = _county_row(city, "莲都区")
    assert "80.0%" in after and "低于时间进度" not in after and "无" in after

    desk.get_by_role("link", name="进度", exact=True).click()
    desk.get_by_role("link", name=LISHUI).click()
    desk.get_by_role("link", name="月度进度报送").click()
    assert f"{second}：60%（已确认）" in desk.locator("#progress").input_value()
    desk.fill("#problems", "专业队伍招聘滞后")
    with desk.expect_navigation():
        desk.get_by_role("button", name="报送").click()
    row = desk.locator("#report-states tr[data-county='莲都区']").inner_text()
    assert "逾期报送" in row and "专业队伍招聘滞后" in row

    city.goto(f"{server.url}/progress/projects/{project_id}/reports")
    states = city.locator("#report-states").inner_text()
    assert "逾期报送" in states and "逾期未报" in states  # 莲都区 late, the others not sent
