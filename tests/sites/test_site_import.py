"""Importing site lists (checked first, then all valid rows or nothing) and exporting the
site list with links."""

import csv
import io
import random
import re

import openpyxl
import pytest

from survey.accounts.models import AuditEntry
from survey.db import db
from survey.sites import site_import
from survey.sites.models import Site, SiteImport, SiteToken
from tests.helpers import post, post_files, staff_client
from tests.sites.site_helpers import make_world, site_csv, sites_of


@pytest.fixture
def world(app, make_site, make_user):
    return make_world(app, make_site, make_user)


def _upload(client, world, content: bytes, filename="点位.csv", project_id=None):
    url = f"/admin/projects/{project_id or world.project_id}/sites/import"
    return post_files(client, url, {"file": (content, filename)})


def _report(client, reply) -> str:
    assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
    return client.get(reply.headers["Location"]).get_data(as_text=True)


def _problem_lines(report: str) -> list[int]:
    return [int(n) for n in re.findall(r"<td>第 (\d+) 行</td>", report)]


def _thirty_rows() -> list[tuple]:
    """30 rows over two counties; line 9 names an unknown county, line 22 repeats the name
    of line 4 in the same county."""
    rows = []
    for i in range(30):
        county = "莲都区" if i % 2 else "青田县"
        level = "市县级" if i % 5 == 0 else "乡镇级"
        rows.append((county, f"第{i + 1}号康养联合体", f"{county}幸福路 {i + 1} 号", level))
    rows[7] = ("不存在县", "第8号康养联合体", "某路 8 号", "乡镇级")  # line 9
    rows[20] = (rows[2][0], rows[2][1], "另一个地址", "乡镇级")  # line 22, as line 4
    return rows


def test_a_gbk_csv_of_30_rows_reports_its_2_bad_rows_and_imports_the_28_others(app, world, count):
    admin = staff_client(app, "admin")
    before = count(Site)
    reply = _upload(admin, world, site_csv(_thirty_rows(), "gbk"), "点位清单.csv")
    report = _report(admin, reply)
    assert "可以导入 28 行" in report and "有问题 2 行" in report
    assert _problem_lines(report) == [9, 22]
    assert "丽水市没有“不存在县”这个县（市、区）" in report
    assert "与第 4 行重复" in report
    assert count(Site) == before  # checked, not yet written
    reply = post(admin, reply.headers["Location"] + "/confirm")
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith(f"/admin/projects/{world.project_id}")
    assert "已导入 28 个点位" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    sites = sites_of(app, world.project_id)
    assert count(Site) == before + 28
    imported = [s for name, s in sites.items() if name.endswith("号康养联合体")]
    assert len(imported) == 28 and all(s.token and s.active for s in imported)
    first = sites["第1号康养联合体"]
    assert (first.region.name, first.address, first.level) == (
        "青田县",
        "青田县幸福路 1 号",
        "city_county",
    )
    assert count(SiteImport, status="imported") == 1
    with app.app_context():
        staged = db.session.scalars(db.select(SiteImport)).one()
        assert staged.rows == [] and staged.valid_rows == 28
        (detail,) = db.session.scalars(
            db.select(AuditEntry.detail).where(AuditEntry.action == "sites_imported")
        )
    assert "导入 28 个点位" in detail
    # Each new site's survey link works at once.
    assert admin.get(f"/s/{first.token}").status_code == 200


def test_a_cancelled_import_writes_nothing_and_cannot_be_confirmed_after(app, world, count):
    admin = staff_client(app, "admin")
    before = (count(Site), count(SiteToken))
    reply = _upload(admin, world, site_csv(_thirty_rows()))
    report = reply.headers["Location"]
    assert post(admin, report + "/cancel").status_code == 302
    assert post(admin, report + "/confirm").status_code == 302
    assert (count(Site), count(SiteToken)) == before
    assert count(SiteImport, status="cancelled") == 1
    assert count(AuditEntry, action="site_import_cancelled") == 1
    assert count(AuditEntry, action="sites_imported") == 0
    assert "已取消" in admin.get(report).get_data(as_text=True)


def test_confirming_twice_imports_once(app, world, count):
    admin = staff_client(app, "admin")
    before = count(Site)
    reply = _upload(admin, world, site_csv([("莲都区", "甲", "", "乡镇级")]))
    post(admin, reply.headers["Location"] + "/confirm")
    post(admin, reply.headers["Location"] + "/confirm")
    assert count(Site) == before + 1
    assert count(AuditEntry, action="sites_imported") == 1


def test_control_characters_in_the_file_name_are_dropped(app, world):
    # A browser sends the name as the file has it; PostgreSQL refuses a NUL in text.
    admin = staff_client(app, "admin")
    reply = _upload(admin, world, site_csv([("莲都区", "甲", "", "乡镇级")]), "点位\x00\x01.csv")
    assert "点位清单检查结果：点位.csv" in _report(admin, reply)


def _xlsx(rows, header=("county", "name", "address", "level", "contact")) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_an_xlsx_imports_with_english_headers_and_formulas_kept_as_text(app, world):
    formula = '=HYPERLINK("http://evil.example","点我")'
    content = _xlsx(
        [
            ("莲都区", formula, "=1+1", "乡镇级", 13812345678),
            ("青田县", "油竹街道康养联合体", "油竹路 2 号", "市县级", "李主任"),
        ]
    )
    admin = staff_client(app, "admin")
    report = _report(admin, reply := _upload(admin, world, content, "sites.xlsx"))
    assert "可以导入 2 行" in report
    post(admin, reply.headers["Location"] + "/confirm")
    sites = sites_of(app, world.project_id)
    assert (sites[formula].address, sites[formula].contact) == ("=1+1", "13812345678")
    assert sites["油竹街道康养联合体"].level == "city_county"
    assert sites["油竹街道康养联合体"].contact == "李主任"


def test_chinese_header_aliases_and_a_utf8_bom_are_read(app, world, count):
    header = ("区县", "名称", "地址", "级别", "联系方式")
    rows = [("莲都区", "甲站", "甲路", "乡镇级", "0578-1"), ("青田县", "乙站", "", "市县级", "")]
    content = site_csv(rows, "utf-8-sig", header)
    admin = staff_client(app, "admin")
    reply = _upload(admin, world, content)
    assert "可以导入 2 行" in _report(admin, reply)
    post(admin, reply.headers["Location"] + "/confirm")
    assert sites_of(app, world.project_id)["甲站"].contact == "0578-1"
    header = ("县(市、区)", "点位名称", "地址", "级别", "联系人")  # ASCII parentheses
    reply = _upload(admin, world, site_csv([("莲都区", "丙站", "", "乡镇级", "")], header=header))
    assert "可以导入 1 行" in _report(admin, reply)


def test_every_kind_of_bad_row_is_reported_with_its_line(app, world):
    rows = [
        ("莲都区", "", "某路", "乡镇级"),  # 2: no name
        ("莲都区", "站" * 201, "某路", "乡镇级"),  # 3: name too long
        ("莲都区", "长地址站", "路" * 301, "乡镇级"),  # 4: address too long
        ("莲都区", "省级站", "某路", "省级"),  # 5: bad level
        ("莲都区", "无级别站", "某路", ""),  # 6: no level
        ("", "无县站", "某路", "乡镇级"),  # 7: no county
        ("鹿城区", "温州的站", "某路", "乡镇级"),  # 8: another city's county
        ("丽水市", "市本级站", "某路", "乡镇级"),  # 9: the city is no county
        ("莲都区", world.liandu.name, "某路", "乡镇级"),  # 10: already in the project
        ("青田县", world.liandu.name, "某路", "乡镇级"),  # 11: fine, another county
        ("青田县", world.liandu.name, "某路", "乡镇级"),  # 12: same as line 11
        ("莲都区", "好站", "某路", "市县级"),  # 13: fine
    ]
    admin = staff_client(app, "admin")
    report = _report(admin, _upload(admin, world, site_csv(rows)))
    assert "可以导入 2 行" in report and "有问题 10 行" in report
    assert _problem_lines(report) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 12]
    for reason in (
        "点位名称不能为空",
        "点位名称不能超过 200 个字",
        "地址不能超过 300 个字",
        "级别只能是“市县级”或“乡镇级”",
        "县（市、区）不能为空",
        "丽水市没有“鹿城区”这个县（市、区）",
        "丽水市没有“丽水市”这个县（市、区）",
        f"莲都区已有名为“{world.liandu.name}”的点位",
        "与第 11 行重复",
    ):
        assert reason in report, reason


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.csv", "文件是空的"),
        (b"\r\n,,,\r\n", "blank.csv", "文件是空的"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "photo.xlsx", "不是 Excel 工作簿"),
        (random.Random(7).randbytes(4096), "random.csv", "不是 CSV 文本文件"),
        (b"PK\x03\x04broken zip", "broken.xlsx", "不是有效的 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0old excel", "old.xls", "另存为"),
        (b"hello", "notes.txt", "只能上传 .csv 或 .xlsx"),
        (
            "县（市、区）,地址,级别\n莲都区,某路,乡镇级\n".encode(),
            "no-name.csv",
            "没有找到：点位名称",
        ),
        ("名称,地址\n甲,某路\n".encode("gbk"), "gbk.csv", "没有找到：县（市、区）、级别"),
    ],
)
def test_files_that_are_not_site_lists_are_refused_and_store_nothing(
    app, world, count, content, filename, message
):
    admin = staff_client(app, "admin")
    before = count(Site)
    reply = _upload(admin, world, content, filename)
    assert reply.status_code == 422
    assert message in reply.get_data(as_text=True)
    assert count(SiteImport) == 0 and count(Site) == before


def test_an_upload_without_a_file_is_refused(app, world, count):
    admin = staff_client(app, "admin")
    reply = post(admin, f"/admin/projects/{world.project_id}/sites/import")
    assert reply.status_code == 422 and "请选择" in reply.get_data(as_text=True)
    assert count(SiteImport) == 0


def test_a_10_mb_upload_is_413_and_stores_nothing(app, world, count):
    admin = staff_client(app, "admin")
    reply = _upload(admin, world, b"x" * (10 * 1024 * 1024), "big.csv")
    assert reply.status_code == 413
    assert count(SiteImport) == 0


def test_a_list_over_the_row_limit_is_refused(app, world, count, monkeypatch):
    monkeypatch.setattr(site_import, "MAX_ROWS", 3)
    rows = [("莲都区", f"站{i}", "", "乡镇级") for i in range(4)]
    admin = staff_client(app, "admin")
    reply = _upload(admin, world, site_csv(rows))
    assert reply.status_code == 422 and "最多 3 个点位" in reply.get_data(as_text=True)
    assert count(SiteImport) == 0


def test_a_name_added_after_the_check_is_skipped_and_reported(app, world, count):
    admin = staff_client(app, "admin")
    rows = [("莲都区", "甲站", "", "乡镇级"), ("莲都区", "乙站", "", "乡镇级")]
    reply = _upload(admin, world, site_csv(rows))
    report = reply.headers["Location"]
    # Meanwhile another user adds 乙站 by hand.
    fields = {"region_id": world.counties["莲都区"], "name": "乙站", "level": "township"}
    assert (
        post(
            staff_client(app, "lishui"), f"/admin/projects/{world.project_id}/sites/new", fields
        ).status_code
        == 302
    )
    before = count(Site)
    reply = post(admin, report + "/confirm")
    assert "已导入 1 个点位" in admin.get(reply.headers["Location"]).get_data(as_text=True)
    assert count(Site) == before + 1
    page = admin.get(report).get_data(as_text=True)
    assert "已导入 1 个点位" in page and _problem_lines(page) == [3]
    assert "检查之后莲都区已有同名点位" in page


def test_imports_are_only_their_uploaders_and_within_scope(app, world, count):
    admin = staff_client(app, "admin")
    reply = _upload(admin, world, site_csv([("莲都区", "甲站", "", "乡镇级")]))
    report = reply.headers["Location"]
    lishui = staff_client(app, "lishui")
    assert lishui.get(report).status_code == 404
    assert post(lishui, report + "/confirm").status_code == 404
    assert post(lishui, report + "/cancel").status_code == 404
    wenzhou = staff_client(app, "wenzhou")
    assert wenzhou.get(report).status_code == 404
    url = f"/admin/projects/{world.project_id}/sites/import"
    assert post_files(wenzhou, url, {"file": (site_csv([]), "a.csv")}).status_code == 404
    county = staff_client(app, "liandu")
    assert county.get(report).status_code == 403
    assert post(county, report + "/confirm").status_code == 403
    assert post_files(county, url, {"file": (site_csv([]), "a.csv")}).status_code == 403
    assert count(SiteImport, status="staged") == 1
    # A city user imports into their own city's project.
    reply = _upload(lishui, world, site_csv([("青田县", "乙站", "", "市县级")]))
    assert "可以导入 1 行" in _report(lishui, reply)
    assert post(lishui, reply.headers["Location"] + "/confirm").status_code == 302
    assert "乙站" in sites_of(app, world.project_id)
    page = lishui.get(url).get_data(as_text=True)
    assert "最近的导入" in page and "已导入" in page


def _export(app, world, fmt, retire=True):
    admin = staff_client(app, "admin")
    formula = '=HYPERLINK("http://evil.example","点我")'
    fields = {"region_id": world.counties["莲都区"], "name": formula, "level": "city_county"}
    fields |= {"address": "-1", "contact": "@张"}
    post(admin, f"/admin/projects/{world.project_id}/sites/new", fields)
    if retire:
        post(admin, f"/admin/sites/{world.qingtian.id}/retire")
    # Buffered: the XLSX is sent from a temporary file the reply must close.
    reply = admin.get(f"/admin/projects/{world.project_id}/sites.{fmt}")
    assert reply.status_code == 200
    return reply, formula


def test_the_csv_export_has_a_bom_links_and_neutralised_formulas(app, world, count):
    reply, formula = _export(app, world, "csv")
    assert reply.mimetype == "text/csv" and "attachment" in reply.headers["Content-Disposition"]
    data = reply.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == site_import.EXPORT_HEADER
    by_name = {row[1]: row for row in rows[1:]}
    token = world.liandu.token
    assert by_name[world.liandu.name] == [
        "莲都区",
        world.liandu.name,
        "",
        "乡镇级",
        "",
        "在用",
        token,
        f"http://survey.test/s/{token}",
    ]
    assert by_name[world.qingtian.name][5:] == ["已停用", "", ""]
    evil = by_name["'" + formula]
    assert evil[2] == "'-1" and evil[3] == "市县级" and evil[4] == "'@张"
    new_token = sites_of(app, world.project_id)[formula].token
    assert evil[6:] == [new_token, f"http://survey.test/s/{new_token}"]
    assert count(AuditEntry, action="exported") == 1


def test_the_xlsx_export_opens_in_excel_with_the_same_rows(app, world):
    reply, formula = _export(app, world, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(reply.get_data()))
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    assert rows[0] == site_import.EXPORT_HEADER
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name[world.liandu.name][6:] == [
        world.liandu.token,
        f"http://survey.test/s/{world.liandu.token}",
    ]
    assert by_name[world.qingtian.name][5] == "已停用"
    assert "'" + formula in by_name  # text, never a formula Excel would run
    assert all(not str(cell).startswith("=") for row in rows for cell in row if cell)


def test_an_exported_list_reads_back_as_a_site_list(app, world):
    admin = staff_client(app, "admin")
    content = admin.get(f"/admin/projects/{world.project_id}/sites.csv").get_data()
    report = _report(admin, _upload(admin, world, content, "导出.csv"))
    # Every site is already in the project.
    assert "可以导入 0 行" in report and "有问题 2 行" in report
    assert "已有名为" in report
    reply = _upload(admin, world, content, "导出.csv", project_id=world.wenzhou_project_id)
    assert "温州市没有“莲都区”这个县（市、区）" in _report(admin, reply)


def test_an_import_the_database_refuses_writes_nothing_and_can_be_retried(
    app, world, count, make_site, monkeypatch
):
    admin = staff_client(app, "admin")
    rows = [("莲都区", "甲站", "", "乡镇级"), ("莲都区", "乙站", "", "乡镇级")]
    report = _upload(admin, world, site_csv(rows)).headers["Location"]
    make_site("乙站", county="莲都区")  # committed by "another request" ...
    real_names = site_import._names
    monkeypatch.setattr(site_import, "_names", lambda *_: set())  # ... after the re-check
    before = (count(Site), count(SiteToken))
    reply = post(admin, report + "/confirm")
    assert reply.headers["Location"].endswith(report)
    assert "没有导入任何点位" in admin.get(report).get_data(as_text=True)
    assert (count(Site), count(SiteToken)) == before
    assert count(SiteImport, status="staged") == 1
    assert count(AuditEntry, action="sites_imported") == 0
    monkeypatch.setattr(site_import, "_names", real_names)
    post(admin, report + "/confirm")
    assert count(Site) == before[0] + 1 and "甲站" in sites_of(app, world.project_id)
