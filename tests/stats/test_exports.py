"""Every download: its file name in a header gunicorn sends, its audit line only for a file
that was made, and XLSX numbers that Excel can sort and chart."""

import csv
import io
import re
from datetime import datetime
from urllib.parse import unquote

import openpyxl
import pytest
from gunicorn.http.wsgi import HEADER_VALUE_RE
from werkzeug.http import parse_options_header

from survey import downloads
from survey.accounts.models import AuditEntry
from survey.db import db
from survey.stats import exports
from tests.checks.conftest import import_roster, phone, roster_csv
from tests.helpers import job_download, post

PROJECT = "2022年建成康养联合体20家"


def _batch(client, world) -> int:
    rows = [(f"赵{i}", phone(i), world.liandu.token, "") for i in range(3)]
    import_roster(client, world.project_id, roster_csv(rows))
    url = f"/checks/projects/{world.project_id}/samples"
    reply = post(client, url, {"mode": "count", "size": "2"})
    return int(reply.headers["Location"].rsplit("/", 1)[1])


def _downloads(world, batch) -> list[tuple[str, str, str]]:
    """(user, URL, the file name the browser must save) for every download route."""
    project = f"/dashboard/projects/{world.project_id}"
    admin = f"/admin/projects/{world.project_id}"
    return [
        ("lishui", f"{project}/summary.csv?group=county", f"{PROJECT}-满意度汇总-county.csv"),
        ("lishui", f"{project}/summary.xlsx?group=site", f"{PROJECT}-满意度汇总-site.xlsx"),
        ("lishui", f"{project}/responses.csv", f"{PROJECT}-评价明细.csv"),
        ("lishui", f"{project}/responses.xlsx", f"{PROJECT}-评价明细.xlsx"),
        ("lishui", f"{project}/report.pdf?month=2026-11", f"{PROJECT}-2026-11-月报.pdf"),
        ("liandu", f"/checks/batches/{batch}/tasks.csv", f"电话抽查-批次{batch}.csv"),
        ("lishui", f"{admin}/sites.csv", f"{PROJECT}-点位清单.csv"),
        ("admin", f"{admin}/sites.xlsx", f"{PROJECT}-点位清单.xlsx"),
        (
            "admin",
            f"/admin/sites/{world.liandu.id}/poster.pdf",
            f"{world.liandu.token}-{world.liandu.name}-A5.pdf",
        ),
    ]


def attachment_name(header: str) -> str:
    """The file name a browser saves, from a Content-Disposition gunicorn would send."""
    assert HEADER_VALUE_RE.fullmatch(header), header  # gunicorn's own check
    header.encode("latin-1")
    kind, options = parse_options_header(header)
    assert kind == "attachment"
    fallback = re.search(r'filename="?([^";]*)', header).group(1)
    assert fallback.isascii()
    encoded = re.search(r"filename\*=UTF-8''([^;]+)", header)
    name = unquote(encoded.group(1), errors="strict") if encoded else fallback
    assert options["filename"] == name
    return name


def test_every_download_names_its_file_in_a_header_gunicorn_can_send(staff, world, answers, clock):
    answers(world.liandu, {5: 9, 1: 1})
    batch = _batch(staff("liandu"), world)
    clients = {}
    for user, url, name in _downloads(world, batch):
        client = clients.setdefault(user, staff(user))
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert attachment_name(reply.headers["Content-Disposition"]) == name, url
        assert "filename*=UTF-8''" in reply.headers["Content-Disposition"]


def test_a_plain_ascii_name_needs_no_encoded_form(app):
    with app.test_request_context():
        reply = downloads.download(io.BytesIO(b"x"), "report 2026/11\n.csv", "text/csv")
    assert reply.headers["Content-Disposition"] == 'attachment; filename="report 2026_11 .csv"'
    reply.close()


def _exported(count) -> int:
    return count(AuditEntry, action="exported")


def test_each_export_is_in_the_audit_log_once(staff, world, answers, clock, count):
    answers(world.liandu, {5: 9, 1: 1})
    batch = _batch(staff("liandu"), world)
    clients = {}
    for user, url, _name in _downloads(world, batch):
        if "poster" in url:
            continue  # posters are printed, not exported data
        before = _exported(count)
        assert clients.setdefault(user, staff(user)).get(url).status_code == 200
        assert _exported(count) == before + 1, url


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_failed_export_is_a_500_and_is_not_in_the_audit_log(
    app, staff, world, answers, count, monkeypatch, fmt
):
    answers(world.liandu, {5: 10})
    real = exports.response_rows

    def rows_then_failure(*args):
        yield from list(real(*args))[:3]
        raise RuntimeError("the database went away")

    monkeypatch.setattr(exports, "response_rows", rows_then_failure)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client = staff("lishui")
    reply = client.get(f"/dashboard/projects/{world.project_id}/responses.{fmt}")
    assert reply.status_code == 500
    assert _exported(count) == 0


def test_the_summary_xlsx_holds_rates_as_percent_numbers_and_counts_as_integers(
    staff, world, answers
):
    answers(world.liandu, {5: 9, 1: 1})  # 90 %, n = 10
    answers(world.liandu, {5: 6, 2: 4}, channel="phone")  # 60 %
    answers(world.qingtian, {5: 3})  # too few
    client = staff("lishui")
    url = f"/dashboard/projects/{world.project_id}/summary.xlsx?group=site"
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(url).data)).active
    header = [cell.value for cell in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == world.liandu.name)
    cells = dict(zip(header, row, strict=True))
    for column in ("满意率", "95%区间下限", "95%区间上限", "扫码评价满意率", "电话抽查满意率"):
        assert cells[column].data_type == "n", column
        assert "%" in cells[column].number_format, column
    assert cells["满意率"].value == pytest.approx(15 / 20)
    assert cells["电话抽查满意率"].value == pytest.approx(0.6)
    assert cells["95%区间下限"].value < 0.75 < cells["95%区间上限"].value
    for column in ("有效回答", "扫码评价回答", "电话抽查回答", "家属代答"):
        assert cells[column].data_type == "n" and isinstance(cells[column].value, int), column
    assert cells["有效回答"].value == 20
    assert (
        cells["平均分"].data_type == "n" and cells["平均分"].value == 84
    )  # (9×100+20+6×100+4×40)/20
    few = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == world.qingtian.name)
    assert few[2].value == "样本不足" and few[6].value == 3


def test_the_csv_shows_rates_as_excel_reads_them(staff, world, answers):
    answers(world.liandu, {5: 9, 1: 1})
    url = f"/dashboard/projects/{world.project_id}/summary.csv?group=county"
    data = staff("lishui").get(url).data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["县（市、区）", "满意率", "95%区间下限", "95%区间上限"]
    liandu = next(r for r in rows if r[0] == "莲都区")
    assert liandu[1] == "90.0%" and re.fullmatch(r"\d+\.\d%", liandu[2]) and liandu[5] == "10"


def test_the_responses_xlsx_holds_times_and_scores_as_numbers(staff, world, answers):
    answers(world.liandu, {4: 2})
    url = f"/dashboard/projects/{world.project_id}/responses.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(staff("lishui").get(url).data)).active
    row = sheet[2]
    assert isinstance(row[0].value, datetime) and row[0].value.date().isoformat() == "2026-11-10"
    assert row[0].value.hour == 10  # local time (Shanghai), as the pages show it
    assert row[5].data_type == "n" and row[5].value == 4


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_big_responses_export_is_written_in_the_background_with_the_same_rows(
    app, staff, world, answers, count, fmt
):
    answers(world.liandu, {5: 4, 1: 2})
    answers(world.qingtian, {4: 3})
    client = staff("lishui")
    url = f"/dashboard/projects/{world.project_id}/responses.{fmt}?channel=qr"
    direct = client.get(url)
    assert direct.status_code == 200 and _exported(count) == 1
    app.config["EXPORT_DIRECT_ROWS"] = 5
    asked = client.get(url)
    assert asked.mimetype == "text/html"
    assert "共 9 条评价" in asked.get_data(as_text=True) and _exported(count) == 1
    background = job_download(client, url)
    assert attachment_name(background.headers["Content-Disposition"]) == f"{PROJECT}-评价明细.{fmt}"
    assert _rows(background.data, fmt) == _rows(direct.data, fmt)
    assert len(_rows(background.data, fmt)) == 10  # a header and nine answers
    with app.app_context():
        entry = db.session.scalars(
            db.select(AuditEntry).filter_by(action="exported").order_by(AuditEntry.id.desc())
        ).first()
    assert entry.username == "lishui" and "后台生成" in entry.detail


def test_a_county_users_background_export_holds_their_county_only(app, staff, world, answers):
    answers(world.liandu, {5: 4})
    answers(world.qingtian, {4: 3})
    app.config["EXPORT_DIRECT_ROWS"] = 1
    client = staff("liandu")
    reply = job_download(client, f"/dashboard/projects/{world.project_id}/responses.csv")
    counties = {row[1] for row in _rows(reply.data, "csv")[1:]}
    assert counties == {"莲都区"}


def _rows(data: bytes, fmt: str) -> list[list]:
    if fmt == "csv":
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]
