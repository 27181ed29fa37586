"""The dashboard pages, exports, report and API, with scoping, through the HTTP layer."""

import csv
import io
from datetime import timedelta

import openpyxl
import pypdfium2

from survey.stats.schemas import StatsSchema
from tests.stats.conftest import NOVEMBER


def _project_page(client, world, query=""):
    return client.get(f"/dashboard/projects/{world.project_id}{query}").get_data(as_text=True)


def test_a_site_with_100_qr_and_60_phone_is_flagged(staff, world, answers):
    answers(world.liandu, {5: 30})
    answers(world.liandu, {5: 12, 2: 8}, channel="phone")
    answers(world.liandu2, {5: 18, 4: 2})  # fine: no phone answers at all
    page = _project_page(staff("lishui"), world)
    assert "自评与抽查差异显著" in page and world.liandu.name in page
    assert world.liandu2.name not in page.split("各县")[0]  # no alert for the other site


def test_rates_show_n_interval_and_too_few_answers(staff, world, answers):
    answers(world.liandu, {5: 8, 1: 2})  # 80 %, n = 10
    answers(world.qingtian, {5: 9})  # n = 9
    page = _project_page(staff("lishui"), world)
    assert "80.0%" in page and "[49.0–94.3] n=10" in page
    assert "样本不足（9）" in page


def test_filters_live_in_the_url(staff, world, answers):
    answers(world.liandu, {5: 10})
    answers(world.liandu, {1: 10}, at=NOVEMBER - timedelta(days=60))
    client = staff("lishui")
    assert "50.0%" in _project_page(client, world)
    november = _project_page(client, world, "?from=2026-11-01&to=2026-11-30")
    assert "100.0%" in november and "from=2026-11-01" in november  # links keep the filters


def test_county_users_see_only_their_county_everywhere(staff, world, answers):
    answers(world.liandu, {5: 10}, comment="很好")
    answers(world.qingtian, {1: 10}, comment="青田的留言")
    client = staff("liandu")
    page = _project_page(client, world)
    assert "莲都区" in page and "青田县" not in page
    assert client.get(f"/dashboard/sites/{world.qingtian.id}").status_code == 404
    for url in (
        f"/dashboard/projects/{world.project_id}/summary.csv?group=site",
        f"/dashboard/projects/{world.project_id}/responses.csv",
        f"/dashboard/projects/{world.project_id}/comments",
    ):
        body = client.get(url).get_data(as_text=True)
        assert "紫金" in body and "鹤城" not in body and "青田的留言" not in body, url
    assert client.get("/dashboard/").status_code == 200
    assert staff("admin").get("/dashboard/").status_code == 403


def test_other_countys_page_is_404(app, staff, world):
    from survey.db import db
    from survey.sites.models import Site

    with app.app_context():
        qingtian = db.session.get(Site, world.qingtian.id).region_id
    client = staff("liandu")
    url = f"/dashboard/projects/{world.project_id}/counties/{qingtian}"
    assert client.get(url).status_code == 404
    assert staff("lishui").get(url).status_code == 200
    for url in (
        f"/dashboard/projects/{world.project_id}?county={qingtian}",
        f"/dashboard/projects/{world.project_id}/responses.csv?county={qingtian}",
        f"/dashboard/projects/{world.project_id}/summary.xlsx?county={qingtian}",
        f"/dashboard/projects/{world.project_id}/comments?county={qingtian}",
    ):
        assert client.get(url).status_code == 404, url


def test_exports_neutralise_formulas_and_open_in_excel(staff, world, answers):
    answers(world.liandu, {5: 9, 2: 1}, comment='=HYPERLINK("http://x")')
    client = staff("lishui")
    reply = client.get(f"/dashboard/projects/{world.project_id}/responses.csv")
    assert reply.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(reply.data.decode("utf-8-sig"))))
    assert len(rows) == 11 and rows[1][-1].startswith("'=HYPERLINK")
    url = f"/dashboard/projects/{world.project_id}/summary.xlsx?group=site"
    reply = client.get(url)
    sheet = openpyxl.load_workbook(io.BytesIO(reply.data)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0][:3] == ["点位", "县（市、区）", "满意率"]
    zijin = next(r for r in table if r[0] == world.liandu.name)
    assert zijin[2] == 0.9 and zijin[6] == 10  # numbers (tests/stats/test_exports.py)


def test_the_monthly_report_prints_and_its_pdf_has_the_text(staff, world, answers):
    answers(world.liandu, {5: 9, 1: 1})
    client = staff("lishui")
    page = client.get(f"/dashboard/projects/{world.project_id}/report?month=2026-11")
    assert page.status_code == 200 and "2026年11月 满意度月报" in page.get_data(as_text=True)
    reply = client.get(f"/dashboard/projects/{world.project_id}/report.pdf?month=2026-11")
    assert reply.mimetype == "application/pdf"
    pdf = pypdfium2.PdfDocument(reply.data)
    text = pdf[0].get_textpage().get_text_range()
    pdf.close()
    assert "满意度月报" in text and "90.0%" in text and "莲都区" in text
    assert client.get(f"/dashboard/projects/{world.project_id}/report?month=13").status_code == 422


def test_a_month_over_month_drop_is_an_alert(staff, world, answers):
    answers(world.liandu, {5: 20}, at=NOVEMBER - timedelta(days=30))
    answers(world.liandu, {5: 10, 1: 10})
    page = _project_page(staff("lishui"), world, "?to=2026-11-30")
    assert "环比显著下降" in page and "100.0% → 50.0%" in page


def test_the_site_page_draws_its_trend_and_lists_negative_comments(staff, world, answers):
    answers(world.liandu, {5: 12}, at=NOVEMBER - timedelta(days=31))
    answers(world.liandu, {2: 1}, comment="等太久了")
    page = staff("liandu").get(f"/dashboard/sites/{world.liandu.id}").get_data(as_text=True)
    assert "<svg" in page and "<polyline" in page
    assert 'class="negative"' in page and "等太久了" in page


def test_the_stats_api_answers_per_county_and_site_in_scope(app, staff, world, answers):
    answers(world.liandu, {5: 9, 1: 1})
    answers(world.liandu, {5: 5, 2: 5}, channel="phone")
    answers(world.qingtian, {5: 3})
    url = f"/api/v1/projects/{world.project_id}/stats"
    assert app.test_client().get(url).status_code == 401
    body = staff("lishui").get(url).get_json()
    assert StatsSchema().validate(body) == {}  # the documented shape
    liandu = next(r for r in body["rows"] if r["name"] == "莲都区")
    assert liandu["combined"]["n"] == 20 and liandu["combined"]["rate"] == 0.7
    assert liandu["channels"]["phone"]["rate"] == 0.5
    qingtian = next(r for r in body["rows"] if r["name"] == "青田县")
    assert qingtian["combined"]["rate"] is None and qingtian["combined"]["n"] == 3
    sites = staff("liandu").get(url + "?group=site&channel=qr").get_json()["rows"]
    assert {r["name"] for r in sites} == {world.liandu.name, world.liandu2.name}
    bad = staff("lishui").get(url + "?group=town")
    assert bad.status_code == 422 and "group" in bad.get_json()["errors"]["query"]
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert "/api/v1/projects/{project_id}/stats" in spec["paths"]
