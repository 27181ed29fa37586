"""Progress beside satisfaction: the dashboard's project page (a 进度预警 alert per county
behind), the monthly report (page and PDF: averages, warnings, who reported and who is late)
and the per-county summary export; county reports due by the 25th, late ones marked."""

import io
import re

import openpyxl
import pypdfium2
from fpdf import FPDF

from qr import fonts
from survey.db import db
from survey.progress.models import MonthlyReport
from survey.stats import reports
from tests.helpers import post, staff_client
from tests.progress.conftest import record


def test_the_project_page_shows_progress_and_warns_of_a_county_behind(app, world):
    liandu, lishui = staff_client(app, "liandu"), staff_client(app, "lishui")
    project = world["liandu"].project_id
    assert record(liandu, world["liandu"].id, 100).status_code == 302
    assert post(lishui, "/progress/records/1/confirm").status_code == 302
    page = lishui.get(f"/dashboard/projects/{project}").get_data(as_text=True)
    assert "项目进度" in page and "50.0%" in page and "83.3%" in page
    assert "进度预警" in page and "平均进度 0.0% 低于时间进度 83.3%" in page  # 青田县
    overview = lishui.get("/dashboard/").get_data(as_text=True)
    assert "25.0% / 83.3%" in overview and "进度预警 2 个县" in overview  # 100 over 4 sites
    own = liandu.get(f"/dashboard/projects/{project}").get_data(as_text=True)
    assert "青田县" not in own and "平均进度 50.0% 低于时间进度 83.3%" in own


def test_a_report_sent_after_the_25th_is_late_and_the_city_sees_who_has_not_reported(
    app, world, clock, count
):
    liandu, lishui = staff_client(app, "liandu"), staff_client(app, "lishui")
    project = world["liandu"].project_id
    assert record(liandu, world["liandu"].id, 20).status_code == 302
    url = f"/progress/projects/{project}/reports"
    form = liandu.get(url).get_data(as_text=True)
    assert "紫金街道康养联合体：20%（待确认）" in form  # pre-filled from the records
    empty = post(liandu, url, {"progress": "", "problems": ""}, page=url)
    assert empty.status_code == 422 and count(MonthlyReport) == 0
    sent = post(liandu, url, {"progress": "完成选点", "problems": "资金未到位"}, page=url)
    assert sent.status_code == 302
    assert post(lishui, url, {"progress": "x"}, page=url).status_code == 403
    states = lishui.get(url).get_data(as_text=True)
    assert "逾期报送" in states and "逾期未报" in states  # 莲都区 late, 青田县 not at all
    with app.app_context():
        assert db.session.scalars(db.select(MonthlyReport)).one().late

    report = lishui.get(f"/dashboard/projects/{project}/report?month=2026-10")
    text = report.get_data(as_text=True)
    assert "项目进度与进度预警" in text and "逾期报送" in text and "资金未到位" in text
    assert "平均进度 0.0% 低于时间进度 83.3%" in text
    pdf_reply = lishui.get(f"/dashboard/projects/{project}/report.pdf?month=2026-10")
    pdf = pypdfium2.PdfDocument(pdf_reply.data)
    pdf_text = "".join(page.get_textpage().get_text_range() for page in pdf)
    pdf.close()
    assert "项目进度与进度预警" in pdf_text and "逾期报送" in pdf_text and "83.3%" in pdf_text


def test_a_report_by_the_25th_is_on_time(app, world, clock):
    clock.now = clock.now.replace(day=25)
    liandu = staff_client(app, "liandu")
    url = f"/progress/projects/{world['liandu'].project_id}/reports"
    assert post(liandu, url, {"progress": "正常"}, page=url).status_code == 302
    page = staff_client(app, "lishui").get(url).get_data(as_text=True)
    assert "已报送" in page and "未报送" in page  # 青田县 may still send it today


def test_the_county_summary_export_carries_progress(app, world):
    lishui = staff_client(app, "lishui")
    reply = lishui.get(f"/dashboard/projects/{world['liandu'].project_id}/summary.xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(reply.data)).active.iter_rows(values_only=True))
    header = rows[0]
    assert header[-3:] == ("平均进度", "时间进度", "进度预警")
    by_county = {row[0]: row for row in rows[1:]}
    assert by_county["莲都区"][-3] == 0 and round(by_county["莲都区"][-2], 3) == 0.833
    assert by_county["莲都区"][-1].startswith("平均进度 0.0% 低于时间进度 83.3%")


def test_a_long_warning_wraps_within_the_pdf_page():
    """The report's tables wrap each cell within its column: a county's long warnings are
    printed whole, and nothing runs past the page's right margin."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.add_font("noto", fname=str(fonts.FONT_PATH))
    pdf.add_page()
    pdf.set_font("noto", size=10)
    warning = "平均进度 70.0% 低于时间进度 100.0%；3 个点位超过计划时间未达到进度；" * 2
    header = ["县（市、区）", "平均进度", "时间进度", "月报", "进度预警"]
    reports._table(
        pdf, [30, 20, 20, 22, 88], header, [["莲都区", "70.0%", "100.0%", "逾期未报", warning]]
    )
    document = pypdfium2.PdfDocument(bytes(pdf.output()))
    try:
        page = document[0]
        text = page.get_textpage()
        assert re.sub(r"\s", "", warning) in re.sub(r"\s", "", text.get_text_range())
        right = max(text.get_charbox(i)[2] for i in range(text.count_chars()))
        assert right <= page.get_width() - 15 / 25.4 * 72 + 1  # within the right margin
    finally:
        document.close()
