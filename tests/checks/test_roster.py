"""Importing rosters: checked before writing, all or nothing, nothing personal in the clear."""

import io

import openpyxl
import pytest
from sqlalchemy import text

from survey.accounts.models import AuditEntry
from survey.checks import roster
from survey.checks.models import CallTask, Resident, RosterImport
from survey.checks.roster_job import ROSTER_JOB
from survey.db import db, write_transaction
from survey.jobs.queue import queue_of
from tests.checks.conftest import import_roster, phone, roster_csv, upload
from tests.helpers import post


def _rows(world, n, start=0, site=None):
    site = site or world.liandu
    return [(f"张{i}", phone(start + i), site.token, "") for i in range(n)]


def test_a_gbk_csv_imports_after_the_user_confirms(staff, world, count):
    client = staff("liandu")
    content = roster_csv([("张三", "138 1234 5678", world.liandu.token, "独居")], "gbk")
    reply = upload(client, world.project_id, content)
    assert reply.status_code == 302
    report = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "可以导入 1 行" in report
    assert count(Resident) == 0  # checked, not yet written
    reply = post(client, reply.headers["Location"] + "/confirm")
    assert reply.status_code == 302
    assert count(Resident) == 1
    page = client.get(f"/checks/projects/{world.project_id}/roster").get_data(as_text=True)
    assert "138****5678" in page and "张*" in page
    assert "13812345678" not in page and "张三" not in page


def test_raw_rows_hold_no_plain_name_phone_or_note(app, staff, world):
    client = staff("liandu")
    content = roster_csv([("王秀英", "13912345678", world.liandu.token, "住3楼")])
    assert import_roster(client, world.project_id, content).status_code == 302
    with app.app_context():
        rows = db.session.execute(text("SELECT * FROM residents")).all()
        imports = db.session.execute(text("SELECT * FROM roster_imports")).all()
        audit = db.session.execute(text("SELECT detail FROM audit_entries")).all()
    dump = repr(rows) + repr(imports) + repr(audit)
    assert len(rows) == 1
    for secret in ("王秀英", "13912345678", "1391234", "住3楼"):
        assert secret not in dump


def test_bad_rows_are_reported_by_line_and_only_valid_rows_import(staff, world, count):
    client = staff("liandu")
    rows = [
        ("张一", "13800000001", world.liandu.token, ""),  # line 2: fine
        ("张二", "1380000000", world.liandu.token, ""),  # line 3: 10 digits
        ("张三", "13800000003", "NOSUCHSITE", ""),  # line 4: unknown site
        ("张四", "13800000001", world.liandu.token, ""),  # line 5: duplicate of line 2
        ("", "13800000005", world.liandu.token, ""),  # line 6: no name
        ("张六", "13800000006", world.qingtian.token, ""),  # line 7: another county's site
        ("张七", "0578-2123456", world.liandu2.name, ""),  # line 8: landline, site by name
    ]
    reply = upload(client, world.project_id, roster_csv(rows))
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "可以导入 2 行" in page and "有问题 5 行" in page
    assert "第 3 行" in page and "电话有误" in page
    assert "第 4 行" in page and "您管理的地区里没有这个点位（按点位码或名称查找）" in page
    assert "点位码有误" not in page  # the column may hold names: it is 点位
    assert "第 5 行" in page and "与第 2 行的电话号码重复" in page
    assert "第 6 行" in page and "姓名为空" in page
    assert "第 7 行" in page
    assert "1380000000" not in page  # reasons never quote the number
    post(client, reply.headers["Location"] + "/confirm")
    assert count(Resident) == 2
    # The same file again: every row is now a duplicate of the roster.
    reply = upload(client, world.project_id, roster_csv(rows[:1]))
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "名单中已有这个电话号码" in page and "可以导入 0 行" in page


def test_cancelled_import_writes_nothing_and_cannot_be_confirmed_after(staff, world, count):
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 3)))
    report = reply.headers["Location"]
    assert post(client, report + "/cancel").status_code == 302
    assert post(client, report + "/confirm").status_code == 302
    assert count(Resident) == 0
    assert count(RosterImport, status="cancelled") == 1
    assert count(AuditEntry, action="roster_import_cancelled") == 1


def test_confirming_twice_imports_once(staff, world, count):
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 3)))
    post(client, reply.headers["Location"] + "/confirm")
    post(client, reply.headers["Location"] + "/confirm")
    assert count(Resident) == 3
    assert count(AuditEntry, action="roster_imported") == 1


def test_an_xlsx_imports_with_numbers_and_formulas_read_as_text(staff, world, count):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["姓名", "手机号", "点位码"])
    sheet.append(["李四", 13712345678, world.liandu.token])  # a number cell
    sheet.append(['=HYPERLINK("http://evil")', "13712345679", world.liandu.token])
    sheet.append(["王五", "=1+1", world.liandu.token])  # a formula is text, not 2
    data = io.BytesIO()
    book.save(data)
    client = staff("liandu")
    reply = upload(client, world.project_id, data.getvalue(), "名单.xlsx")
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "可以导入 2 行" in page and "第 4 行" in page
    post(client, reply.headers["Location"] + "/confirm")
    assert count(Resident) == 2


def test_files_that_are_not_rosters_are_refused_with_a_reason(staff, world, count):
    client = staff("liandu")
    cases = [
        (b"", "empty.csv", "文件是空的"),
        (b"\r\n\r\n", "blank.csv", "文件是空的"),
        (b"%PDF-1.4 not a workbook", "renamed.xlsx", "不是 Excel 工作簿"),
        (b"PK\x03\x04broken zip", "broken.xlsx", "不是有效的 Excel 工作簿"),
        (b"\xd0\xcf\x11\xe0old excel", "old.xls", "另存为"),
        (b"hello", "notes.txt", "只能上传 .csv 或 .xlsx"),
        ("名字,号码\n张三,1\n".encode(), "cols.csv", "没有找到：电话、点位码"),
    ]
    for content, name, message in cases:
        reply = upload(client, world.project_id, content, name)
        assert reply.status_code == 422, name
        assert message in reply.get_data(as_text=True), name
    reply = post(
        client,
        f"/checks/projects/{world.project_id}/roster/import",
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422 and "请选择" in reply.get_data(as_text=True)
    assert count(RosterImport) == 0 and count(Resident) == 0


def test_an_upload_over_the_limit_is_413_and_stores_nothing(app, staff, world, count):
    app.config["ROSTER_MAX_BYTES"] = 10_000
    reply = upload(staff("liandu"), world.project_id, b"x" * 200_000)
    assert reply.status_code == 413
    assert count(RosterImport) == 0


def test_a_50000_row_file_is_streamed_into_the_roster(staff, world, count):
    rows = [(f"居民{i}", phone(i), world.liandu.token, "") for i in range(50_000)]
    reply = import_roster(staff("liandu"), world.project_id, roster_csv(rows))
    assert reply.status_code == 302
    assert count(Resident) == 50_000


def test_search_by_phone_finds_the_entry_through_its_keyed_hash(staff, world):
    client = staff("liandu")
    import_roster(client, world.project_id, roster_csv(_rows(world, 3)))
    url = f"/checks/projects/{world.project_id}/roster/search"
    page = post(client, url, {"phone": "138-0000-0001"}).get_data(as_text=True)
    assert "共 1 人" in page and "138****0001" in page
    assert "phone=" not in page  # the number never goes into a link
    page = post(client, url, {"phone": "12"}).get_data(as_text=True)
    assert "电话有误" in page


def test_deleting_an_entry_is_audited_and_closes_its_open_task(app, staff, world, clock, count):
    client = staff("liandu")
    import_roster(client, world.project_id, roster_csv(_rows(world, 1)))
    post(client, f"/checks/projects/{world.project_id}/samples", {"mode": "count", "size": "1"})
    with app.app_context():
        resident_id = db.session.scalar(db.select(Resident.id))
    assert post(client, f"/checks/residents/{resident_id}/delete").status_code == 302
    assert count(Resident) == 0
    assert count(CallTask, status="removed") == 1
    assert count(AuditEntry, action="resident_deleted") == 1


def test_purge_removes_old_entries_and_logs_it(app, staff, world, runner, count):
    client = staff("liandu")
    import_roster(client, world.project_id, roster_csv(_rows(world, 2)))
    result = runner.invoke(args=["purge-roster"])
    assert result.exit_code == 0 and "0 人" in result.output
    with app.app_context(), write_transaction(db.session):
        db.session.execute(text("UPDATE residents SET created_at = '2020-01-01 00:00:00'"))
    result = runner.invoke(args=["purge-roster", "--days", "730"])
    assert result.exit_code == 0 and "2 人" in result.output
    assert count(Resident) == 0
    assert count(AuditEntry, action="roster_purged") == 2


def test_a_site_name_two_counties_share_must_be_given_as_a_code(staff, world, make_site):
    make_site(world.liandu.name, county="青田县")
    client = staff("lishui")
    rows = [("张一", phone(1), world.liandu.name, ""), ("张二", phone(2), world.liandu.token, "")]
    reply = upload(client, world.project_id, roster_csv(rows))
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "第 2 行" in page and "请改填点位码" in page and "可以导入 1 行" in page
    # The county user sees only their own site of that name: no ambiguity for them.
    reply = upload(staff("liandu"), world.project_id, roster_csv(rows[:1]))
    assert "可以导入 1 行" in staff("liandu").get(reply.headers["Location"]).get_data(as_text=True)


def test_a_very_long_file_name_keeps_its_extension(staff, world, count):
    name = "丽" * 300 + ".csv"
    reply = import_roster(staff("liandu"), world.project_id, roster_csv(_rows(world, 2)), name)
    assert reply.status_code == 302
    assert count(Resident) == 2


def test_an_import_never_tells_a_county_what_another_county_holds(staff, world, count):
    import_roster(
        staff("qingtian"), world.project_id, roster_csv(_rows(world, 1, site=world.qingtian))
    )
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 1)))  # the same number
    page = client.get(reply.headers["Location"]).get_data(as_text=True)
    assert "可以导入 1 行" in page and "名单中已有" not in page
    post(client, reply.headers["Location"] + "/confirm")
    assert count(Resident) == 2


def test_broken_workbooks_are_refused_not_crashed_on(staff, world, count):
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话", "点位码"])
    book.active.append(["张三", 13812345678, world.liandu.token])
    good = io.BytesIO()
    book.save(good)
    broken = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(good) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<v>13812345678</v>", b"<v>abc</v>")
            target.writestr(item, data)
    reply = upload(staff("liandu"), world.project_id, broken.getvalue(), "broken.xlsx")
    assert reply.status_code == 422 and "不是有效的 Excel" in reply.get_data(as_text=True)
    assert count(RosterImport) == 0


def test_a_confirm_failing_midway_stores_nothing_and_can_be_confirmed_again(
    staff, world, count, monkeypatch
):
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 5)))
    spooled = roster._spooled_chunks

    def fail_after_one_chunk(spool, extra):
        chunks = spooled(spool, extra)
        yield next(chunks)  # inserted, then the request fails
        raise OSError("disk gone")

    monkeypatch.setattr(roster, "CHUNK", 2)
    monkeypatch.setattr(roster, "_spooled_chunks", fail_after_one_chunk)
    with pytest.raises(OSError):
        post(client, reply.headers["Location"] + "/confirm")
    assert count(Resident) == 0
    assert count(RosterImport, status="staged") == 1
    assert count(AuditEntry, action="roster_imported") == 0
    monkeypatch.setattr(roster, "_spooled_chunks", spooled)
    assert post(client, reply.headers["Location"] + "/confirm").status_code == 302
    assert count(Resident) == 5 and count(RosterImport, status="imported") == 1


def test_a_staged_file_is_sealed_in_parts_and_read_back_whole(staff, world, count, monkeypatch):
    monkeypatch.setattr(roster, "SEALED_PART", 100)  # an XLSX of a few KB: dozens of tokens,
    monkeypatch.setattr(roster, "PAYLOAD_SLICE", 57)  # read back in slices that split them
    book = openpyxl.Workbook()
    book.active.append(["姓名", "电话", "点位码"])
    for i in range(50):
        book.active.append([f"张{i}", phone(i), world.liandu.token])
    data = io.BytesIO()
    book.save(data)
    reply = import_roster(staff("liandu"), world.project_id, data.getvalue(), "名单.xlsx")
    assert reply.status_code == 302
    assert count(Resident) == 50


def test_a_big_roster_is_imported_in_the_background_whole_and_once(app, staff, world, count):
    app.config["ROSTER_DIRECT_ROWS"] = 3
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 5)))
    report = reply.headers["Location"]
    started = post(client, report + "/confirm")
    assert started.headers["Location"].startswith("/jobs/")  # past 3 rows: a job
    page = client.get(started.headers["Location"]).get_data(as_text=True)
    assert "导入名单：CSV 文件" in page and "已完成" in page and "已导入 5 人。" in page
    assert f'href="/checks/projects/{world.project_id}/roster"' in page
    assert count(Resident) == 5
    assert count(AuditEntry, action="roster_imported", username="liandu") == 1
    # Confirmed again (a double click, a stale tab): nothing twice, and it says so.
    again = post(client, report + "/confirm")
    assert not again.headers["Location"].startswith("/jobs/")
    assert count(Resident) == 5


def test_a_background_roster_import_of_a_cancelled_file_imports_nothing(app, staff, world, count):
    client = staff("liandu")
    reply = upload(client, world.project_id, roster_csv(_rows(world, 5)))
    report = reply.headers["Location"]
    import_id = int(report.rsplit("/", 1)[1])
    assert post(client, report + "/cancel").status_code == 302
    with app.app_context():
        user = db.session.get(RosterImport, import_id).user
        job = queue_of(app).start(
            db.session, user, ROSTER_JOB, {"import_id": import_id, "ip": "", "back": "/"}, "导入"
        )
        job_id = job.id
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "未完成" in page and "这份文件已取消，没有导入。" in page
    assert count(Resident) == 0
