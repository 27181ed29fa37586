"""Milestone records: the county records one with photos and PDFs, the city confirms it or
returns it with a reason; a site's progress is its highest confirmed milestone, a county's
average counts every site it must build; bad files are refused with the reason and nothing
is stored; another county's site, record or file is 404."""

from survey.accounts.models import AuditEntry
from survey.db import db
from survey.progress.models import EvidenceFile, MilestoneRecord
from survey.sites.models import Site
from tests.checks.conftest import jpeg_with_gps
from tests.helpers import post, staff_client
from tests.progress.conftest import pdf_bytes, record


def _record_id(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.max(MilestoneRecord.id)))


def _county_row(page: str, county: str) -> str:
    start = page.index(f'data-county="{county}"')
    return page[start : page.index("</tr>", start)]


def test_the_county_records_a_milestone_with_evidence_and_the_city_confirms_it(app, world, count):
    liandu, lishui = staff_client(app, "liandu"), staff_client(app, "lishui")
    site = world["liandu"].id
    photo, sheet = (jpeg_with_gps(), "现场.jpg"), (pdf_bytes(), "验收记录单.pdf")
    reply = record(liandu, site, 60, photos=photo, documents=sheet)
    assert reply.status_code == 302, reply.get_data(as_text=True)[:2000]
    assert count(EvidenceFile) == 2
    project_url = f"/progress/projects/{world['liandu'].project_id}"
    before = _county_row(lishui.get(project_url).get_data(as_text=True), "莲都区")
    assert "0.0%" in before and "低于时间进度 83.3%" in before

    record_id = _record_id(app)
    page = lishui.get(f"/progress/sites/{site}").get_data(as_text=True)
    assert "待确认" in page and "验收记录单.pdf" in page
    assert post(lishui, f"/progress/records/{record_id}/confirm").status_code == 302
    after = _county_row(lishui.get(project_url).get_data(as_text=True), "莲都区")
    assert "30.0%" in after  # (60 + 0) / 2 sites
    with app.app_context():
        found = db.session.get(MilestoneRecord, record_id)
        assert found.state == "confirmed" and found.decided_by.username == "lishui"
        assert not db.session.get(Site, site).completed
        actions = set(db.session.scalars(db.select(AuditEntry.action)))
        assert {"milestone_recorded", "milestone_confirmed"} <= actions
        photo_row = db.session.scalars(db.select(EvidenceFile).filter_by(kind="photo")).one()
        file_ids = {f.kind: f.id for f in db.session.scalars(db.select(EvidenceFile))}
        assert b"Acme Camera" not in photo_row.data  # re-encoded: no EXIF
    shown = liandu.get(f"/progress/files/{file_ids['pdf']}")
    assert shown.status_code == 200 and shown.data.startswith(b"%PDF-")
    assert "attachment" in shown.headers["Content-Disposition"]
    assert liandu.get(f"/progress/files/{file_ids['photo']}").mimetype == "image/jpeg"
    # A second click finds it decided: nothing done twice.
    again = post(lishui, f"/progress/records/{record_id}/confirm")
    assert again.status_code == 302
    with app.app_context():
        entries = db.session.scalars(db.select(AuditEntry).filter_by(action="milestone_confirmed"))
        assert len(list(entries)) == 1


def test_the_city_returns_a_record_with_its_reason_and_the_county_records_it_again(app, world):
    liandu, lishui = staff_client(app, "liandu"), staff_client(app, "lishui")
    site = world["liandu"].id
    assert record(liandu, site, 20).status_code == 302
    record_id = _record_id(app)
    refused = post(lishui, f"/progress/records/{record_id}/return", {"reason": ""})
    assert refused.status_code == 422 and "请填写退回的原因" in refused.get_data(as_text=True)
    returned = post(lishui, f"/progress/records/{record_id}/return", {"reason": "照片看不清"})
    assert returned.status_code == 302
    page = liandu.get(f"/progress/sites/{site}").get_data(as_text=True)
    assert "已退回" in page and "照片看不清" in page
    assert record(liandu, site, 20).status_code == 302  # recorded again


def test_only_the_county_records_and_only_the_city_decides(app, world):
    lishui, liandu = staff_client(app, "lishui"), staff_client(app, "liandu")
    assert record(lishui, world["liandu"].id, 20).status_code == 403
    assert record(liandu, world["liandu"].id, 20).status_code == 302
    assert post(liandu, f"/progress/records/{_record_id(app)}/confirm").status_code == 403


def test_a_milestone_waiting_or_already_reached_or_in_the_future_is_refused(app, world, count):
    liandu = staff_client(app, "liandu")
    site = world["liandu"].id
    assert record(liandu, site, 40).status_code == 302
    waiting = record(liandu, site, 40)
    assert waiting.status_code == 422 and "等待市里确认" in waiting.get_data(as_text=True)
    unknown = record(liandu, site, 50)
    assert unknown.status_code == 422 and "进度节点" in unknown.get_data(as_text=True)
    future = record(liandu, site, 60, reached_on="2026-10-27")
    assert future.status_code == 422 and "不能晚于今天" in future.get_data(as_text=True)
    assert count(MilestoneRecord) == 1


def test_bad_files_are_refused_with_the_reason_and_nothing_is_stored(app, world, count):
    liandu = staff_client(app, "liandu")
    site = world["liandu"].id
    cases = {
        "不是 PDF 文件": {"documents": (jpeg_with_gps(), "验收记录单.pdf")},
        "JPEG 或 PNG": {"photos": (pdf_bytes(), "现场.jpg")},
        "请上传证明材料": {"photos": (b"", "")},
        "超过了每个 20.0 MB": {"documents": (pdf_bytes(20 * 1024 * 1024 + 10), "大.pdf")},
        "超过了每张 20.0 MB": {"photos": (jpeg_with_gps() + b"\0" * (20 * 1024 * 1024), "大.jpg")},
        "不是 PDF": {
            "photos": (jpeg_with_gps(), "好.jpg"),
            "documents": (b"%PDF-1.4 cut off", "坏.pdf"),
        },
    }
    for reason, files in cases.items():
        reply = record(liandu, site, 20, **files)
        assert reply.status_code == 422, reason
        assert reason in reply.get_data(as_text=True), reason
    assert count(MilestoneRecord) == 0 and count(EvidenceFile) == 0


def test_a_body_past_every_files_limit_answers_413_with_the_reason(app, world, count):
    app.config["PHOTO_MAX_BYTES"] = 1024 * 1024  # the request limit is 12 of them
    liandu = staff_client(app, "liandu")
    big = [(pdf_bytes(900 * 1024), f"{i}.pdf") for i in range(14)]
    reply = record(liandu, world["liandu"].id, 20, documents=big)
    assert reply.status_code == 413
    assert "没有保存" in reply.get_data(as_text=True)
    assert count(MilestoneRecord) == 0


def test_another_countys_site_record_and_file_are_404(app, world):
    liandu, qingtian = staff_client(app, "liandu"), staff_client(app, "qingtian")
    assert record(liandu, world["liandu"].id, 60).status_code == 302
    record_id = _record_id(app)
    with app.app_context():
        file_id = db.session.scalar(db.select(EvidenceFile.id))
    assert qingtian.get(f"/progress/sites/{world['liandu'].id}").status_code == 404
    assert qingtian.get(f"/progress/files/{file_id}").status_code == 404
    assert record(qingtian, world["liandu"].id, 20).status_code == 404
    assert qingtian.get("/progress/sites/999999").status_code == 404
    page = qingtian.get(f"/progress/projects/{world['liandu'].project_id}")
    assert "紫金街道" not in page.get_data(as_text=True)
    del record_id
