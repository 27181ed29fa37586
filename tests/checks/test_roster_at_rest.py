"""What a roster import leaves behind: no cell's content and no file name in the clear, in
the database, the audit log or the pages; nothing kept past the roster's retention."""

from sqlalchemy import text

from survey.accounts.models import AuditEntry
from survey.checks.models import Resident, RosterImport
from survey.db import db, write_transaction
from tests.checks.conftest import import_roster, phone, roster_csv, upload
from tests.helpers import database_text, post

#: What shifted columns put where the site code belongs: another person's number and name.
STRAY_PHONE, STRAY_NAME = "15899990000", "李秀兰"


def _report(client, reply) -> str:
    assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
    return client.get(reply.headers["Location"]).get_data(as_text=True)


def test_an_unknown_site_code_is_reported_by_line_and_column_never_by_its_content(
    app, staff, world
):
    client = staff("liandu")
    rows = [
        ("张一", phone(1), world.liandu.token, ""),  # line 2: fine
        ("张二", phone(2), STRAY_PHONE, ""),  # line 3: a number where the site code goes
        ("张三", phone(3), STRAY_NAME, ""),  # line 4: a name where the site code goes
    ]
    reply = upload(client, world.project_id, roster_csv(rows))
    report = _report(client, reply)
    listing = client.get(f"/checks/projects/{world.project_id}/roster").get_data(as_text=True)
    for page in (report, listing):
        assert STRAY_PHONE not in page and STRAY_NAME not in page
    assert "可以导入 1 行" in report and "有问题 2 行" in report
    assert "第 3 行" in report and "第 4 行" in report and "点位码" in report
    stored = database_text(app)
    assert STRAY_PHONE not in stored and STRAY_NAME not in stored
    assert post(client, reply.headers["Location"] + "/confirm").status_code == 302
    stored = database_text(app)
    assert STRAY_PHONE not in stored and STRAY_NAME not in stored


def test_a_file_name_is_neither_stored_nor_audited_nor_shown(app, staff, world, count):
    client = staff("liandu")
    rows = [("张一", phone(1), world.liandu.token, "")]
    reply = upload(client, world.project_id, roster_csv(rows), f"名单-{STRAY_PHONE}.csv")
    report = _report(client, reply)
    assert post(client, reply.headers["Location"] + "/confirm").status_code == 302
    reply = upload(client, world.project_id, roster_csv(rows), f"{STRAY_NAME}名单.csv")
    report += _report(client, reply)
    assert post(client, reply.headers["Location"] + "/cancel").status_code == 302
    assert count(AuditEntry, action="roster_imported") == 1
    assert count(AuditEntry, action="roster_import_cancelled") == 1
    listing = client.get(f"/checks/projects/{world.project_id}/roster").get_data(as_text=True)
    audit = staff("lishui").get("/admin/audit").get_data(as_text=True)
    assert "导入编号" in audit
    for shown in (report, listing, audit, database_text(app)):
        assert STRAY_PHONE not in shown and STRAY_NAME not in shown
    assert "CSV 文件" in report and "CSV 文件" in listing  # described by its format


def test_purge_deletes_imports_and_their_reports_with_the_roster(app, staff, world, runner, count):
    client = staff("liandu")
    good, bad = [("张一", phone(1), world.liandu.token, "")], [("张二", phone(2), STRAY_PHONE, "")]
    import_roster(client, world.project_id, roster_csv(good))
    upload(client, world.project_id, roster_csv(bad))  # left staged, with a problem
    with app.app_context(), write_transaction(db.session):
        for table in ("residents", "roster_imports"):
            db.session.execute(text(f"UPDATE {table} SET created_at = '2020-01-01 00:00:00'"))
    upload(client, world.project_id, roster_csv(bad))  # recent: kept, as its report is
    result = runner.invoke(args=["purge-roster"])
    assert result.exit_code == 0, result.output
    assert count(Resident) == 0
    assert count(RosterImport) == 1 and count(RosterImport, status="staged") == 1
    assert "1 人" in result.output and "导入记录 2 份" in result.output
    with app.app_context():
        kept = db.session.scalars(db.select(RosterImport)).one()
        assert kept.created_at.year > 2020 and kept.bad_rows == 1
